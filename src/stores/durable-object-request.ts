/**
 * What `LeaseDurableObject` accepts. Anyone with the namespace binding can send the object any body, so the object
 * checks every request by the core's own rules (`src/options.ts`) before it writes, and refuses (HTTP 400 with a
 * `LeaseholdError` code, nothing written) whatever would break its lease: another lease's name, a bad holder, ttl,
 * payload or version, a token that goes backwards or jumps. Not a public entry point.
 * @module
 */
import { isLeaseholdError, LeaseholdError, type LeaseholdErrorCode } from '../errors.js';
import {
  checkData,
  checkDuration,
  checkHolder,
  checkName,
  checkStoredLeaseName,
  checkTtl,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  describeValue,
  isValidVersion,
  MAX_CLOCK_SKEW_MS,
  MAX_NAME_LENGTH,
  MAX_VERSION_LENGTH,
  RESERVED_NAME_SUFFIX,
} from '../options.js';
import type { ClaimRequest, LeaseRecord, LeaseWrite } from '../store.js';

/** A request to the object, one per store call. */
export type Operation =
  | { op: 'read'; name: string }
  | { op: 'create'; write: LeaseWrite }
  | { op: 'replace'; expectedVersion: string; write: LeaseWrite }
  | { op: 'claim'; request: ClaimRequest }
  | { op: 'release'; name: string; holder: string; version: string; expectedVersion?: string }
  /** A long poll: answered once the lease is released or handed over, or after `waitMs` (push wake-ups). */
  | { op: 'wait'; name: string; waitMs: number };

/** Longest wait a `wait` request may ask for, in ms. */
export const MAX_WAIT_MS = 30_000;

/** The codes a refusal carries (HTTP 400): the store rethrows them as a `LeaseholdError` with that code. */
const REFUSAL_CODES: readonly LeaseholdErrorCode[] = ['INVALID_NAME', 'INVALID_HOLDER', 'INVALID_TTL', 'INVALID_OPTION'];

const refuse = (code: LeaseholdErrorCode, message: string) => new LeaseholdError(code, message);

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw refuse('INVALID_OPTION', `${what} must be an object; got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function version(value: unknown, what: string): string {
  if (!isValidVersion(value)) {
    throw refuse(
      'INVALID_OPTION',
      `${what} must be a non-empty string of at most ${MAX_VERSION_LENGTH} characters, well-formed Unicode without NUL; got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A record's name: a lease name, or a job's slot record (`<name>@done`), which only the core writes and reads. */
function recordName(value: unknown, what: string): string {
  if (typeof value === 'string' && value.endsWith(RESERVED_NAME_SUFFIX) && value.length <= MAX_NAME_LENGTH) {
    checkName(value.slice(0, -RESERVED_NAME_SUFFIX.length), what);
    return value;
  }
  return checkStoredLeaseName(value, what);
}

/** A create's or replace's write, checked alone (its token against the stored one: {@link checkWriteAgainst}). */
function checkWrite(value: unknown): LeaseWrite {
  const w = object(value, 'write');
  const name = recordName(w.name, 'write.name');
  const holder = w.holder === null ? null : checkHolder(w.holder);
  if (holder !== null && name.endsWith(RESERVED_NAME_SUFFIX)) {
    throw refuse('INVALID_HOLDER', `write.holder must be null for ${name}: a job's slot record has no holder`);
  }
  // A write without a holder (a release, a slot record) ends at once; a holder's lasts as tryLead() allows.
  if (holder === null && w.ttlMs !== 0) throw refuse('INVALID_TTL', `write.ttlMs must be 0 for a write without a holder; got ${describeValue(w.ttlMs)}`);
  const ttlMs = holder === null ? 0 : checkTtl(w.ttlMs, 0);
  if (!Number.isSafeInteger(w.token) || (w.token as number) < 1) {
    throw refuse('INVALID_OPTION', `write.token must be a whole number from 1; got ${describeValue(w.token)}`);
  }
  if (w.acquiredAt !== null && (typeof w.acquiredAt !== 'number' || !Number.isFinite(w.acquiredAt))) {
    throw refuse('INVALID_OPTION', `write.acquiredAt must be null (stamped now) or the time kept from the record; got ${describeValue(w.acquiredAt)}`);
  }
  return {
    name,
    holder,
    token: w.token as number,
    acquiredAt: w.acquiredAt as number | null,
    ttlMs,
    version: version(w.version, 'write.version'),
    data: checkData(w.data),
    clientNow: 0,
  };
}

/**
 * Checks one request body, alone: its operation and every value in it, as the core checks a caller's options.
 * Returns the operation as the object applies it. Throws a `LeaseholdError` (`INVALID_*`).
 */
export function checkOperation(body: unknown): Operation {
  const o = object(body, 'the request');
  switch (o.op) {
    case 'read':
      return { op: 'read', name: recordName(o.name, 'name') };
    case 'create':
      return { op: 'create', write: checkWrite(o.write) };
    case 'replace':
      return { op: 'replace', expectedVersion: version(o.expectedVersion, 'expectedVersion'), write: checkWrite(o.write) };
    case 'claim': {
      const r = object(o.request, 'request');
      // Slot records are never claimed: the strict name rule, as tryLead() applies it.
      const name = checkStoredLeaseName(r.name, 'request.name');
      const holder = checkHolder(r.holder);
      const maxClockSkewMs = checkDuration(r.maxClockSkewMs, 'request.maxClockSkewMs', DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS);
      const ttlMs = checkTtl(r.ttlMs, maxClockSkewMs);
      const clientNow = typeof r.clientNow === 'number' && Number.isFinite(r.clientNow) ? r.clientNow : 0;
      return {
        op: 'claim',
        request: { name, holder, ttlMs, version: version(r.version, 'request.version'), data: checkData(r.data), clientNow, maxClockSkewMs },
      };
    }
    case 'release': {
      const expected = o.expectedVersion === undefined ? {} : { expectedVersion: version(o.expectedVersion, 'expectedVersion') };
      return { op: 'release', name: checkStoredLeaseName(o.name), holder: checkHolder(o.holder), version: version(o.version, 'version'), ...expected };
    }
    case 'wait': {
      const waitMs = o.waitMs;
      if (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 1 || waitMs > MAX_WAIT_MS) {
        throw refuse('INVALID_OPTION', `waitMs must be a whole number of milliseconds from 1 to ${MAX_WAIT_MS}; got ${describeValue(waitMs)}`);
      }
      return { op: 'wait', name: checkStoredLeaseName(o.name), waitMs };
    }
    default:
      throw refuse('INVALID_OPTION', `unknown store operation ${describeValue(o.op)}: send read, create, replace, claim, release or wait`);
  }
}

/** The lease name a request is for. */
export function nameOf(o: Operation): string {
  if (o.op === 'create' || o.op === 'replace') return o.write.name;
  if (o.op === 'claim') return o.request.name;
  return o.name;
}

/**
 * Checks that a request is for the object's own lease, `own` (the name the runtime gives the object, or else the
 * name its record was first written under): a request for another name would write another lease's record here.
 */
export function checkOwnName(o: Operation, own: string | undefined): void {
  const name = nameOf(o);
  if (own !== undefined && name !== own) {
    throw refuse(
      'INVALID_NAME',
      `this Durable Object holds the lease ${JSON.stringify(own)}, not ${JSON.stringify(name)}: send each request to idFromName(name)`,
    );
  }
}

/**
 * Checks a write's fencing token against the stored record it replaces (`null` for a create), as the core assigns
 * tokens (DESIGN.md "Fencing tokens"): a first record starts at 1; a term that goes on (renewal, release) keeps the
 * token and its acquisition time; a new term (another holder, or a holder whose lease ran out) takes exactly the
 * next token and is stamped now. Nothing else: a token never goes back, and never jumps (a jump to the largest safe
 * integer would leave no token for the next holder).
 */
export function checkWriteAgainst(w: LeaseWrite, stored: LeaseRecord | null): void {
  if (stored === null) {
    if (w.token !== 1 || w.acquiredAt !== null) {
      throw refuse('INVALID_OPTION', `the first write of a lease has token 1 and acquiredAt null; got token ${w.token}`);
    }
    return;
  }
  const keeps = w.token === stored.token;
  if (keeps && w.acquiredAt === stored.acquiredAt && (w.holder === stored.holder || w.holder === null)) return;
  if (w.token === stored.token + 1 && w.acquiredAt === null) return;
  throw refuse(
    'INVALID_OPTION',
    keeps && w.holder !== stored.holder
      ? `a change of holder must raise the fencing token to ${stored.token + 1}; got ${w.token}`
      : `write.token must keep ${stored.token} (with its acquiredAt) or take ${stored.token + 1} (with acquiredAt null); got ${w.token}`,
  );
}

/** The object's answer to a refused request: HTTP 400 `{ code, message }`; anything else is not a refusal (rethrown). */
export function refusal(error: unknown): Response {
  if (isLeaseholdError(error) && REFUSAL_CODES.includes(error.code)) {
    return Response.json({ code: error.code, message: `LeaseDurableObject refused the request: ${error.message}` }, { status: 400 });
  }
  throw error;
}

/** The store's side: an HTTP 400 answer of the object as the `LeaseholdError` it carries, or `undefined`. */
export function refusedError(status: number, text: string): LeaseholdError | undefined {
  if (status !== 400) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { code, message } = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; message?: unknown };
  if (!REFUSAL_CODES.includes(code as LeaseholdErrorCode) || typeof message !== 'string') return undefined;
  return new LeaseholdError(code as LeaseholdErrorCode, `durable-object store: ${message.slice(0, 500)}`);
}
