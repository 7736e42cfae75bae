/**
 * How `leasehold/hono` answers what goes wrong: JSON `{ code, message }` with a stable code, never a stack trace, and
 * never the words of a failing option function (they may hold a connection string): those go to `console.error`,
 * credentials masked. A route refuses a request by throwing a {@link LeaseAppProblem} (Hono's `HTTPException`, with
 * the code); {@link answerError} turns it, a `LeaseholdError` or anything else into the answer.
 * @module
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isLeaseholdError, type LeaseholdErrorCode } from '../errors.js';
import { maskCredentials } from './credentials.js';

/** The HTTP statuses of the app's problem answers. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 500 | 503;

/**
 * A request the app refuses, answered `status` with `{ code, message }`. `logLine`, when given, goes to the server log
 * (credentials masked) and never to the client: the detail of a failing option function.
 * @example throw new LeaseAppProblem(404, 'UNKNOWN_JOB', 'no job named "x" here; GET /jobs lists them')
 */
export class LeaseAppProblem extends HTTPException {
  declare readonly status: ProblemStatus;

  constructor(
    status: ProblemStatus,
    /** The stable code of the answer, e.g. `UNKNOWN_LEASE`. */
    readonly code: string,
    message: string,
    /** For the server log only. */
    readonly logLine?: string,
  ) {
    super(status, { message });
  }
}

/** The answer `status` with `{ code, message }`. */
export function problem(c: Context, status: ProblemStatus, code: string, message: string): Response {
  return c.json({ code, message }, status);
}

/** The 404 of a path the app does not serve, naming the routes it does. */
export function routesNotFound(c: Context, pageOn: boolean, hasJobs: boolean): Response {
  const jobRoutes = hasJobs ? ', GET /jobs, GET /jobs/:name, GET /health/jobs, GET /health/jobs/:name' : '';
  return problem(c, 404, 'NOT_FOUND', `routes: ${pageOn ? 'GET /, ' : ''}GET /leases, GET /leases/:name, GET /health${jobRoutes}`);
}

/**
 * The app's `onError`: a {@link LeaseAppProblem} as it says; a `LeaseholdError` by its code (400 bad input, 503 the
 * store, 500 the rest; a store failure's message is not sent, it may name hosts or tables); anything else 500
 * `INTERNAL`, its stack in the server log only.
 */
export function answerError(error: Error, c: Context): Response {
  if (error instanceof LeaseAppProblem) {
    if (error.logLine !== undefined) console.error(maskCredentials(`leasehold/hono: ${c.req.method} ${c.req.path}: ${error.logLine}`));
    return problem(c, error.status, error.code, error.message);
  }
  if (isLeaseholdError(error)) {
    const status = statusOf(error.code);
    if (status >= 500) console.error(maskCredentials(`leasehold/hono: ${c.req.method} ${c.req.path}: ${error.code}: ${error.message}`));
    // Store failures: the code only; the message may name hosts or tables.
    return problem(c, status, error.code, status === 503 ? 'the lease store could not be reached; retry shortly' : error.message);
  }
  console.error(maskCredentials(`leasehold/hono: ${c.req.method} ${c.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
  return problem(c, 500, 'INTERNAL', 'unexpected error; see the server logs');
}

// Bad input is the caller's (400); an unreachable store is transient (503); the rest is the deployment's (500).
function statusOf(code: LeaseholdErrorCode): ProblemStatus {
  if (code === 'INVALID_NAME' || code === 'INVALID_HOLDER' || code === 'INVALID_TTL' || code === 'INVALID_OPTION' || code === 'INVALID_SLOT') return 400;
  if (code === 'STORE_UNAVAILABLE') return 503;
  return 500;
}
