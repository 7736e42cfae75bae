/**
 * `leasehold/hono`: a Hono app over a store and a list of lease names, for any Hono service (Node, Cloudflare
 * Workers, Lambda through Hono's adapter). It answers who leads each lease, serves a live status page, reports this
 * instance's health from its `Elector`, and (only when a bearer token is configured) lets an operator or a
 * crontab host lead and release. Mount it with `app.route('/leases-status', createLeaseApp(…))` or serve it whole.
 *
 * | route | answer |
 * | --- | --- |
 * | `GET /` | the live status page (HTML; its inline CSS and script run under a per-response CSP nonce); mounted, also at the mount path with a trailing slash |
 * | `GET /leases` | `{ now, leases: LeaseView[] }`; 503 if a read failed (those entries carry `error`). `?wait=<ms>` (at most 30 000): on a store with push wake-ups (Postgres), answers once a lease is released or handed over, or after `wait` (then `waited: true`); elsewhere at once. `push: true` says the store pushes |
 * | `GET /leases/:name` | a {@link LeaseView} |
 * | `GET /health` | {@link HealthReport}: 200 or 503 (see {@link HealthStatus}); its store read is bounded by `healthTimeoutMs` |
 * | `GET /jobs` | with `jobs`: `{ now, jobs: JobView[] }` (last run, next due, missed, overdue); 503 if a read failed |
 * | `GET /jobs/:name` | a {@link JobView} |
 * | `GET /health/jobs/:name` | the dead-man check: 200 `ok`, or 503 `overdue` / `store-unreachable` (bounded by `healthTimeoutMs`) |
 * | `GET /health/jobs` | every job: 200 when none is overdue and every read succeeded, else 503 |
 * | `POST /leases/:name/lead` | admin: `{ holder, ttlMs?, data? }` → `{ isLeader, leader, token, expiresAt, remainingMs }` |
 * | `POST /leases/:name/release` | admin: `{ holder? }` → `{ released, holder }` |
 *
 * Errors are JSON `{ code, message }`, never a stack trace, and never the words of a failing option function (they may
 * hold a connection string): those go to `console.error`, credentials masked.
 * @module
 */
import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import { type Clock, checkClock } from '../clock.js';
import type { Elector } from '../elector.js';
import { isLeaseholdError, LeaseholdError, type LeaseholdErrorCode } from '../errors.js';
import { getLeader, release, tryLead } from '../lead.js';
import { checkDuration, checkName, checkTtl, DEFAULT_MAX_CLOCK_SKEW_MS, describeValue, MAX_CLOCK_SKEW_MS } from '../options.js';
import type { Store } from '../store.js';
import { checkStore } from '../store-checks.js';
import { type CheckedJob, checkJobs, type JobView, jobView, type WatchedJob } from '../watched-jobs.js';
import { maskCredentials } from './credentials.js';
import { DEFAULT_HEALTH_TIMEOUT_MS, ElectorHealth, type HealthReport, MAX_HEALTH_TIMEOUT_MS, storeTimedOut, withinHealthBound } from './health.js';
import { pageNonce, statusPage } from './page.js';

export type { JobView, WatchedJob } from '../watched-jobs.js';
export {
  DEFAULT_HEALTH_TIMEOUT_MS,
  ElectorHealth,
  type ElectorHealthOptions,
  type HealthAnswer,
  type HealthReport,
  type HealthStatus,
} from './health.js';

/** A value given as is, or worked out per request (e.g. from a Worker's `c.env`). */
// biome-ignore lint/suspicious/noExplicitAny: the app's bindings are the user's, of any shape.
export type PerRequest<T> = T | ((c: Context<any>) => T);

/** Longest `GET /leases?wait=` a client may ask for, in ms. */
const MAX_WAIT_MS = 30_000;

/** Options of {@link createLeaseApp}. */
export interface LeaseAppOptions {
  /** The store the leases live in, or a function of the request's context (a Worker builds it from `c.env`). */
  store: PerRequest<Store>;
  /** The lease names the app shows and serves (1–100 valid names); any other name answers 404. */
  names: PerRequest<readonly string[]>;
  /**
   * This instance's elector and its election name: `GET /health` then reports this instance's part in it. Without
   * it, `GET /health` only checks that the store answers a read (200 `ok` or 503 `store-unreachable`).
   */
  health?: { elector: Elector; name: string };
  /**
   * Bearer token that opens the admin routes (`POST /leases/:name/lead` and `/release`). **Unset, they do not
   * exist** (404). At least 16 characters; compared in constant time. A function is asked at each request, and an
   * empty or missing answer keeps the routes closed.
   */
  adminToken?: PerRequest<string | undefined>;
  /**
   * Scheduled jobs to watch, by name (the job's lease name, as its `runExclusive` has it), each with its schedule and
   * optional `overdueAfterMs` (default 60 000): `GET /jobs` and the page show each job's last run, next due time and
   * an overdue mark, and `GET /health/jobs/:name` answers 503 while it is overdue (a dead-man check a monitor polls).
   * At most 100. A job's name need not be among `names`.
   * @example { 'nightly-report': { schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris' }, overdueAfterMs: 15 * 60_000 } }
   */
  jobs?: Readonly<Record<string, WatchedJob>>;
  /** Show each lease's `data` in the JSON answers (default `false`: it may hold anything the holder wrote). */
  exposeData?: boolean;
  /**
   * The leases' length (`ttlMs` of their `tryLead`/`Elector`), in ms: one for every lease, or per name (names left out
   * have none). Stores keep no lease length, so this is what the status page scales each bar against from its first
   * answer (10 s left of a 15 s lease: two thirds); the views carry it as `ttlMs`. Without it the page takes the
   * term so far (`expiresAt - acquiredAt`) until it sees a renewal, which understates a long-held, renewed lease.
   */
  ttlMs?: number | Readonly<Record<string, number>>;
  /**
   * Bound of `GET /health`'s store read, in ms (default 1 000, {@link DEFAULT_HEALTH_TIMEOUT_MS}; 1–60 000): below
   * common probe timeouts (1–2 s), so a silent store answers 503 `store-unreachable` in time instead of the store's
   * own timeout (5 s by default) failing the probe.
   */
  healthTimeoutMs?: number;
  /** The status page at `GET /` (default `true`); `false` leaves only the JSON routes. */
  page?: boolean | { title?: string; pollMs?: number };
  /** Skew bound of client-clock stores, as for `getLeader` (default 1 000 ms). */
  maxClockSkewMs?: number;
  /** Clock for `now` and `timeLeftMs` (default: the system clock). */
  clock?: Clock;
}

/** One lease as the app shows it. Times are epoch ms on the clock that judges expiry; `null` while nobody holds it. */
export interface LeaseView {
  /** Election name. */
  name: string;
  /** Current holder, or `null` when nobody holds it (never claimed, released or expired). */
  holder: string | null;
  /** The holder's fencing token, or `null`. */
  token: number | null;
  /** When the holder acquired it. */
  acquiredAt: number | null;
  /** When it runs out unless renewed. */
  expiresAt: number | null;
  /** `expiresAt` minus the app's clock, at least 0 (approximate where the store's clock judges expiry). */
  timeLeftMs: number | null;
  /** The holder's payload, only with `exposeData: true`. */
  data?: string | null;
  /** The lease's length in ms as configured (the app's `ttlMs` option), when given. */
  ttlMs?: number;
  /** Set instead of the fields above when this lease could not be read. */
  error?: { code: string; message: string };
}

const MIN_TOKEN_LENGTH = 16;
const MAX_NAMES = 100;
const DEFAULT_POLL_MS = 1_000;
// Nothing but this document's own style and script (carrying this response's nonce: no other inline script runs, an
// injected one included), requests to its own origin, and no framing.
const pageCsp = (nonce: string) =>
  `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

type HttpStatus = 400 | 401 | 403 | 404 | 500 | 503;

/**
 * A problem with the app's own configuration (the deployment's fault, answered 500 `NOT_CONFIGURED`). The client
 * is told only which option failed; the detail (the option function's own words, which may quote a secret) goes
 * to the server log, credentials masked.
 */
class ConfigError extends Error {
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`the ${option} option failed`);
  }
}
/** A request body that is not what the route takes (answered 400 `INVALID_OPTION`). */
class InvalidBody extends Error {}

function checkNames(names: unknown): readonly string[] {
  if (!Array.isArray(names) || names.length === 0 || names.length > MAX_NAMES) {
    throw new LeaseholdError('INVALID_OPTION', `leasehold/hono: names must be a list of 1 to ${MAX_NAMES} lease names, like ['nightly-report']`);
  }
  for (const n of names) checkName(n, 'names[]');
  if (new Set(names).size !== names.length) throw new LeaseholdError('INVALID_OPTION', 'leasehold/hono: names must not repeat');
  return names as readonly string[];
}

/** Checks the `ttlMs` option: one lease length, or lease lengths by name. */
function checkTtls(value: unknown): (name: string) => number | undefined {
  if (value === undefined) return () => undefined;
  if (typeof value === 'number') {
    const ttl = checkTtl(value, 0);
    return () => ttl;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LeaseholdError('INVALID_TTL', `leasehold/hono: ttlMs must be a number of ms or an object of them by lease name; got ${describeValue(value)}`);
  }
  const ttls = new Map<string, number>();
  for (const [name, ttl] of Object.entries(value)) ttls.set(checkName(name, 'ttlMs key'), checkTtl(ttl, 0));
  return (name) => ttls.get(name);
}

function checkToken(token: unknown): string {
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `leasehold/hono: adminToken must be at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 32), or unset to close the admin routes`,
    );
  }
  return token;
}

/** Compares two secrets in time that does not depend on where they differ: both are hashed first. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const digest = (text: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  const [a, b] = (await Promise.all([digest(given), digest(expected)])).map((d) => new Uint8Array(d)) as [Uint8Array, Uint8Array];
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

// Bad input is the caller's (400); an unreachable store is transient (503); the rest is the deployment's (500).
function statusOf(code: LeaseholdErrorCode): HttpStatus {
  if (code === 'INVALID_NAME' || code === 'INVALID_HOLDER' || code === 'INVALID_TTL' || code === 'INVALID_OPTION' || code === 'INVALID_SLOT') return 400;
  if (code === 'STORE_UNAVAILABLE') return 503;
  return 500;
}

/**
 * The request body as a JSON object with only `allowed` keys (an empty body is `{}` when `emptyOk`).
 * Unknown keys are refused so that a typo (`ttl` for `ttlMs`) does not silently fall back to a default.
 */
async function bodyObject(request: Request, allowed: readonly string[], example: string, emptyOk = false): Promise<Record<string, unknown>> {
  const refuse = (what: string) => new InvalidBody(`${what}; send a JSON object like ${example}`);
  const text = await request.text();
  if (emptyOk && text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw refuse('the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw refuse(`the body is ${Array.isArray(body) ? 'an array' : body === null ? 'null' : `a ${typeof body}`}, not an object`);
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw refuse(`unknown field ${unknown.map((k) => JSON.stringify(k).slice(0, 40)).join(', ')}`);
  return body as Record<string, unknown>;
}

/**
 * A Hono app over `store` and the leases `names`: JSON routes, the live status page, `GET /health`, and admin
 * routes that exist only when `adminToken` is set. Options given as values are checked at once (typed
 * `LeaseholdError`); options given as functions are checked at each request (a bad one answers 500).
 * @example
 * const app = new Hono()
 * app.route('/leases-status', createLeaseApp({ store, names: ['nightly-report', 'singleton'], health: { elector, name: 'singleton' } }))
 * @example
 * // A Cloudflare Worker: per-request options from the bindings.
 * export default createLeaseApp({
 *   store: (c) => new DurableObjectStore({ namespace: c.env.LEASES }),
 *   names: (c) => c.env.LEASE_NAMES.split(','),
 *   adminToken: (c) => c.env.ADMIN_TOKEN,
 * })
 */
export function createLeaseApp(options: LeaseAppOptions): Hono {
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', 'leasehold/hono: options must be an object like { store, names }');
  }
  const staticStore = typeof options.store === 'function' ? undefined : checkStore(options.store);
  const staticNames = typeof options.names === 'function' ? undefined : checkNames(options.names);
  const staticToken = typeof options.adminToken === 'function' || options.adminToken === undefined ? undefined : checkToken(options.adminToken);
  const skew = checkDuration(options.maxClockSkewMs, 'maxClockSkewMs', DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS);
  const ttlOf = checkTtls(options.ttlMs);
  const jobs = checkJobs(options.jobs, 'leasehold/hono');
  const healthTimeoutMs = checkDuration(options.healthTimeoutMs, 'healthTimeoutMs', DEFAULT_HEALTH_TIMEOUT_MS, MAX_HEALTH_TIMEOUT_MS, 1);
  const clock = checkClock(options.clock, 'leasehold/hono');
  const exposeData = options.exposeData === true;
  const pageOptions = typeof options.page === 'object' && options.page !== null ? options.page : {};
  const pageOn = options.page !== false;
  const title = pageOptions.title ?? 'Leases';
  const pollMs = checkDuration(pageOptions.pollMs, 'page.pollMs', DEFAULT_POLL_MS, 60_000, 100);
  if (typeof title !== 'string' || title.length === 0 || title.length > 200) {
    throw new LeaseholdError('INVALID_OPTION', 'leasehold/hono: page.title must be a string of 1 to 200 characters');
  }
  let electorHealth: ElectorHealth | undefined;
  if (options.health !== undefined) {
    const { elector, name } = options.health;
    if (!staticStore) throw new LeaseholdError('INVALID_OPTION', 'leasehold/hono: health needs the store itself (not a function), the one the elector uses');
    if (typeof elector?.on !== 'function') throw new LeaseholdError('INVALID_OPTION', 'leasehold/hono: health.elector must be an Elector');
    electorHealth = new ElectorHealth({ elector, store: staticStore, name: checkName(name, 'health.name'), timeoutMs: healthTimeoutMs });
  }

  const storeOf = (c: Context): Store => {
    if (staticStore) return staticStore;
    try {
      return checkStore((options.store as (c: Context) => Store)(c));
    } catch (error) {
      throw new ConfigError('store', reason(error));
    }
  };
  const namesOf = (c: Context): readonly string[] => {
    if (staticNames) return staticNames;
    try {
      return checkNames((options.names as (c: Context) => readonly string[])(c));
    } catch (error) {
      throw new ConfigError('names', reason(error));
    }
  };
  const tokenOf = (c: Context): string | undefined => {
    if (typeof options.adminToken !== 'function') return staticToken;
    let token: string | undefined;
    try {
      token = options.adminToken(c);
    } catch (error) {
      throw new ConfigError('adminToken', reason(error));
    }
    if (token === undefined || token === '') return undefined;
    try {
      return checkToken(token);
    } catch {
      throw new ConfigError(
        'adminToken',
        `the admin token is shorter than ${MIN_TOKEN_LENGTH} characters or has spaces: set a longer one (e.g. openssl rand -hex 32)`,
      );
    }
  };
  /** The route's lease name: a valid name (400 otherwise) among the configured ones (404 otherwise). */
  const leaseName = (c: Context): string => {
    const name = checkName(c.req.param('name'));
    if (!namesOf(c).includes(name)) throw new UnknownLease(name);
    return name;
  };

  const view = async (store: Store, name: string): Promise<LeaseView> => {
    const leader = await getLeader(store, name, { maxClockSkewMs: skew, clock });
    const base: LeaseView = leader
      ? {
          name,
          holder: leader.holder,
          token: leader.token,
          acquiredAt: leader.acquiredAt,
          expiresAt: leader.expiresAt,
          timeLeftMs: Math.max(0, leader.expiresAt - clock.now()),
        }
      : { name, holder: null, token: null, acquiredAt: null, expiresAt: null, timeLeftMs: null };
    if (exposeData) base.data = leader?.data ?? null;
    const ttl = ttlOf(name);
    if (ttl !== undefined) base.ttlMs = ttl;
    return base;
  };

  const app = new Hono();
  const problem = (c: Context, status: HttpStatus, code: string, message: string) => c.json({ code, message }, status);

  // Answers of the JSON routes change with every write: never cached by a browser or a proxy.
  app.use('*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
    c.header('x-content-type-options', 'nosniff');
  });

  const page = (c: Context) => {
    const nonce = pageNonce();
    c.header('content-security-policy', pageCsp(nonce));
    c.header('x-frame-options', 'DENY');
    c.header('referrer-policy', 'no-referrer');
    return c.html(statusPage({ title, pollMs, nonce }, namesOf(c), [...jobs.keys()]));
  };
  if (pageOn) app.get('/', page);

  /**
   * `GET /leases` → `{ now, leases }`, every configured lease read in parallel; 503 if any read failed. With
   * `?wait=<ms>` and a store that pushes wake-ups, a long poll: it waits until one of the leases is released or handed
   * over (or `wait` ran out, or the client went away), then reads, and says `waited: true` (the status page then asks
   * again at once instead of after its poll interval).
   */
  app.get('/leases', async (c) => {
    const store = storeOf(c);
    const waitText = c.req.query('wait');
    let waited = false;
    if (waitText !== undefined) {
      const waitMs = Number(waitText);
      if (waitText === '' || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) {
        return problem(
          c,
          400,
          'INVALID_OPTION',
          `wait must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}; got ${JSON.stringify(waitText.slice(0, 40))}`,
        );
      }
      const { watch } = store;
      if (typeof watch === 'function' && waitMs > 0) {
        waited = true;
        await new Promise<void>((resolve) => {
          const offs: (() => void)[] = [];
          const signal = c.req.raw.signal as AbortSignal | undefined;
          let timer: unknown;
          const done = () => {
            clock.clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            for (const off of offs.splice(0)) off();
            resolve();
          };
          for (const name of namesOf(c)) offs.push(watch.call(store, name, done));
          timer = clock.setTimeout(done, waitMs);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    }
    let failed = false;
    const leases = await Promise.all(
      namesOf(c).map((name) =>
        view(store, name).catch((error: unknown): LeaseView => {
          failed = true;
          const code = isLeaseholdError(error) ? error.code : 'STORE_UNAVAILABLE';
          return {
            name,
            holder: null,
            token: null,
            acquiredAt: null,
            expiresAt: null,
            timeLeftMs: null,
            error: { code, message: 'could not read this lease' },
          };
        }),
      ),
    );
    // `push`: this store pushes wake-ups, so the page may long-poll with `?wait=`.
    const push = typeof store.watch === 'function';
    return c.json({ now: clock.now(), leases, ...(push ? { push: true } : {}), ...(waited ? { waited: true } : {}) }, failed ? 503 : 200);
  });

  /** `GET /leases/:name` → a {@link LeaseView}. */
  app.get('/leases/:name', async (c) => c.json(await view(storeOf(c), leaseName(c))));

  /** `GET /health` → 200 or 503 with a {@link HealthReport} (or `{ status: 'ok' | 'store-unreachable' }` without an elector). */
  app.get('/health', async (c) => {
    if (electorHealth) {
      const { httpStatus, report } = await electorHealth.check();
      return c.json(report satisfies HealthReport, httpStatus);
    }
    const [first] = namesOf(c);
    const store = storeOf(c);
    try {
      await withinHealthBound(getLeader(store, first as string, { maxClockSkewMs: skew, clock }), healthTimeoutMs);
      return c.json({ status: 'ok' });
    } catch (error) {
      if (storeTimedOut(error)) {
        return c.json({ status: 'store-unreachable', lastError: 'STORE_UNAVAILABLE', message: error.message }, 503);
      }
      return c.json({ status: 'store-unreachable', lastError: isLeaseholdError(error) ? error.code : 'STORE_UNAVAILABLE' }, 503);
    }
  });

  /** The route's job: one of the configured jobs (404 `UNKNOWN_JOB` otherwise). */
  const jobOf = (c: Context): CheckedJob => {
    const name = c.req.param('name') ?? '';
    const job = jobs.get(name);
    if (job === undefined) throw new UnknownJob(name);
    return job;
  };
  /** A job's view, within `bound` ms when given; a read that fails or runs past it gives a view that carries `error`. */
  const safeJobView = (store: Store, job: CheckedJob, bound?: number): Promise<JobView> => {
    const read = jobView(store, job, clock, skew);
    return (bound === undefined ? read : withinHealthBound(read, bound)).catch((error: unknown): JobView => {
      const code = isLeaseholdError(error) ? error.code : 'STORE_UNAVAILABLE';
      return { name: job.name, schedule: job.text, overdueAfterMs: job.overdueAfterMs, error: { code, message: 'could not read this job' } };
    });
  };
  const jobHealth = (view: JobView) => ({ status: view.error ? 'store-unreachable' : view.overdue ? 'overdue' : 'ok', ...view });

  /** `GET /jobs` → `{ now, jobs }`: each job's last run, next due time, missed count and overdue mark; 503 if a read failed. */
  app.get('/jobs', async (c) => {
    const store = storeOf(c);
    const views = await Promise.all([...jobs.values()].map((job) => safeJobView(store, job)));
    return c.json({ now: clock.now(), jobs: views }, views.some((v) => v.error) ? 503 : 200);
  });

  /** `GET /jobs/:name` → a {@link JobView}. */
  app.get('/jobs/:name', async (c) => {
    const job = jobOf(c);
    return c.json(await jobView(storeOf(c), job, clock, skew));
  });

  /**
   * `GET /health/jobs/:name`: the dead-man check. 200 `{ status: 'ok', … }` while the job keeps up; 503 `overdue` once
   * its latest due slot has gone `overdueAfterMs` without completing (or, never run, its first due slot has); 503
   * `store-unreachable` when the read fails or outlasts `healthTimeoutMs`. A monitor polling it alerts when the job
   * stops running, whatever stopped it (a dead host, a broken crontab, a job that keeps failing).
   */
  app.get('/health/jobs/:name', async (c) => {
    const job = jobOf(c);
    const view = await safeJobView(storeOf(c), job, healthTimeoutMs);
    return c.json(jobHealth(view), view.error || view.overdue ? 503 : 200);
  });

  /** `GET /health/jobs` → `{ status, jobs }`: 200 when no job is overdue and every read succeeded, else 503. */
  app.get('/health/jobs', async (c) => {
    const store = storeOf(c);
    const views = await Promise.all([...jobs.values()].map((job) => safeJobView(store, job, healthTimeoutMs)));
    const status = views.some((v) => v.error) ? 'store-unreachable' : views.some((v) => v.overdue) ? 'overdue' : 'ok';
    return c.json({ status, jobs: views.map(jobHealth) }, status === 'ok' ? 200 : 503);
  });

  // Admin routes: absent (404, like any unknown route) unless a token is configured; then 401 without a bearer
  // token, 403 with a wrong one. Neither answer says more.
  app.use('/leases/:name/*', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const expected = tokenOf(c);
    if (expected === undefined) return notFound(c);
    const given = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (given === undefined) {
      c.header('www-authenticate', 'Bearer');
      return problem(c, 401, 'UNAUTHORIZED', 'authentication required');
    }
    if (!(await sameSecret(given, expected))) return problem(c, 403, 'FORBIDDEN', 'forbidden');
    return next();
  });

  /**
   * `POST /leases/:name/lead` with `{ holder, ttlMs?, data? }` → `{ isLeader, leader, token, expiresAt, remainingMs }`.
   * `remainingMs` counts from when this app sent its write; a remote caller counts it from when it sent its own
   * request (earlier still), so it never acts past the lease.
   */
  app.post('/leases/:name/lead', async (c) => {
    const name = leaseName(c);
    const body = await bodyObject(c.req.raw, ['holder', 'ttlMs', 'data'], '{"holder":"host-1:nightly","ttlMs":60000}');
    // Passed on as sent: the library checks every value (types included) before any request, so nothing is written.
    const lead = await tryLead(storeOf(c), {
      name,
      holder: body.holder as string,
      ...('ttlMs' in body ? { ttlMs: body.ttlMs as number } : {}),
      ...('data' in body ? { data: body.data as string } : {}),
      maxClockSkewMs: skew,
      clock,
    });
    return c.json({ isLeader: lead.isLeader, leader: lead.leader, token: lead.token, expiresAt: lead.expiresAt, remainingMs: lead.remainingMs() });
  });

  /**
   * `POST /leases/:name/release` with `{ holder }` → `{ released, holder }`: releases only if `holder` holds it.
   * Without a holder (an empty body or `{}`), releases whoever holds it now: the next contender takes over at its
   * next poll, with a larger token; the old holder finds out at its next renewal (its validity still bounds it).
   */
  app.post('/leases/:name/release', async (c) => {
    const name = leaseName(c);
    const body = await bodyObject(c.req.raw, ['holder'], '{"holder":"host-1:nightly"} (or {} for whoever holds it)', true);
    const store = storeOf(c);
    let holder = body.holder as string | undefined;
    if (!('holder' in body)) {
      holder = (await getLeader(store, name, { maxClockSkewMs: skew, clock }))?.holder;
      if (holder === undefined) return c.json({ released: false, holder: null });
    }
    // Conditional on that holder: if someone else took over meanwhile, nothing is released.
    return c.json({ released: await release(store, { name, holder: holder as string, clock }), holder });
  });

  // Mounted (`app.route('/leases-status', …)`), the page is at the mount path; a parent with Hono's default strict
  // routing would answer 404 at `/leases-status/`. This route, last, serves the page there too: it matches only
  // the mount path with one trailing slash (as many segments as the mount path), and passes anything else on.
  if (pageOn) {
    app.get('/*', (c, next) => {
      const mountSegments = c.req.routePath.replace(/\/\*$/, '').split('/').filter(Boolean).length;
      const path = c.req.path;
      if (path.endsWith('/') && path.split('/').filter(Boolean).length === mountSegments) return page(c);
      return next();
    });
  }

  const jobRoutes = jobs.size > 0 ? ', GET /jobs, GET /jobs/:name, GET /health/jobs, GET /health/jobs/:name' : '';
  const notFound = (c: Context) => problem(c, 404, 'NOT_FOUND', `routes: ${pageOn ? 'GET /, ' : ''}GET /leases, GET /leases/:name, GET /health${jobRoutes}`);
  app.notFound(notFound);

  app.onError((error, c) => {
    if (error instanceof UnknownLease)
      return problem(c, 404, 'UNKNOWN_LEASE', `no lease named ${JSON.stringify(error.leaseName)} here; GET /leases lists them`);
    if (error instanceof UnknownJob)
      return problem(c, 404, 'UNKNOWN_JOB', `no job named ${JSON.stringify(error.jobName.slice(0, 128))} here; GET /jobs lists them`);
    if (error instanceof InvalidBody) return problem(c, 400, 'INVALID_OPTION', error.message);
    if (error instanceof ConfigError) {
      // The detail is for the operator only: an option function's error may quote a connection string or a secret.
      console.error(maskCredentials(`leasehold/hono: ${c.req.method} ${c.req.path}: the ${error.option} option failed: ${error.detail}`));
      return problem(c, 500, 'NOT_CONFIGURED', `this lease app's ${error.option} option failed; the server log has the detail`);
    }
    if (isLeaseholdError(error)) {
      const status = statusOf(error.code);
      if (status >= 500) console.error(maskCredentials(`leasehold/hono: ${c.req.method} ${c.req.path}: ${error.code}: ${error.message}`));
      // Store failures: the code only; the message may name hosts or tables.
      return problem(c, status, error.code, status === 503 ? 'the lease store could not be reached; retry shortly' : error.message);
    }
    console.error(maskCredentials(`leasehold/hono: ${c.req.method} ${c.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
    return problem(c, 500, 'INTERNAL', 'unexpected error; see the server logs');
  });

  return app;
}

/** The message of an option function's error (the deployment's own words, e.g. which secret to set). */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : 'it threw';
}

/** A valid name that is not among the configured ones. */
class UnknownLease extends Error {
  constructor(readonly leaseName: string) {
    super('unknown lease');
  }
}

/** A name that is not among the configured jobs. */
class UnknownJob extends Error {
  constructor(readonly jobName: string) {
    super('unknown job');
  }
}
