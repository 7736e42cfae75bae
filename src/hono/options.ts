/**
 * The options of `leasehold/hono`'s {@link LeaseAppOptions}, resolved: values are checked once, when the app is made
 * (typed `LeaseholdError`), functions of the request's context at each request (a failing one answers 500
 * `NOT_CONFIGURED`, its words only in the server log). The routes read the result, {@link LeaseAppSettings}.
 * @module
 */
import type { Context } from 'hono';
import { type Clock, checkClock } from '../clock.js';
import type { Elector } from '../elector.js';
import { LeaseholdError } from '../errors.js';
import { checkDuration, checkName, checkTtl, DEFAULT_MAX_CLOCK_SKEW_MS, describeValue, MAX_CLOCK_SKEW_MS } from '../options.js';
import type { Store } from '../store.js';
import { checkStore } from '../store-checks.js';
import { type CheckedJob, checkJobs, type WatchedJob } from '../watched-jobs.js';
import { DEFAULT_HEALTH_TIMEOUT_MS, ElectorHealth, MAX_HEALTH_TIMEOUT_MS } from './health.js';
import { LeaseAppProblem } from './problems.js';

/** A value given as is, or worked out per request (e.g. from a Worker's `c.env`). */
// biome-ignore lint/suspicious/noExplicitAny: the app's bindings are the user's, of any shape.
export type PerRequest<T> = T | ((c: Context<any>) => T);

/** Options of `createLeaseApp` (`leasehold/hono`). */
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

/** {@link LeaseAppOptions}, checked: what the routes read. The `…Of(c)` functions answer for one request. */
export interface LeaseAppSettings {
  /** The request's store (checked; an option function that throws answers 500 `NOT_CONFIGURED`). */
  storeOf(c: Context): Store;
  /** The request's lease names (checked, as `storeOf`). */
  namesOf(c: Context): readonly string[];
  /** The request's admin token, or `undefined` when the admin routes are closed (checked, as `storeOf`). */
  tokenOf(c: Context): string | undefined;
  /** The route's lease name: a valid name (400 otherwise) among the configured ones (404 `UNKNOWN_LEASE` otherwise). */
  leaseName(c: Context): string;
  /** `maxClockSkewMs`, checked. */
  skew: number;
  /** The configured lease length of `name`, if any. */
  ttlOf(name: string): number | undefined;
  /** The watched jobs by name (empty without `jobs`). */
  jobs: ReadonlyMap<string, CheckedJob>;
  /** Bound of the health checks' store reads, in ms. */
  healthTimeoutMs: number;
  /** The clock of `now` and `timeLeftMs`, and of the long poll's wait. */
  clock: Clock;
  /** Whether the views show each lease's `data`. */
  exposeData: boolean;
  /** The status page's title and poll interval, or `undefined` with `page: false`. */
  page: { title: string; pollMs: number } | undefined;
  /** This instance's health, with the `health` option. */
  electorHealth: ElectorHealth | undefined;
}

const MIN_TOKEN_LENGTH = 16;
const MAX_NAMES = 100;
const DEFAULT_POLL_MS = 1_000;

/** Checks `options` once (a bad value throws a typed `LeaseholdError`) and returns what the routes read. */
export function resolveOptions(options: LeaseAppOptions): LeaseAppSettings {
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
      throw configProblem('store', reason(error));
    }
  };
  const namesOf = (c: Context): readonly string[] => {
    if (staticNames) return staticNames;
    try {
      return checkNames((options.names as (c: Context) => readonly string[])(c));
    } catch (error) {
      throw configProblem('names', reason(error));
    }
  };
  const tokenOf = (c: Context): string | undefined => {
    if (typeof options.adminToken !== 'function') return staticToken;
    let token: string | undefined;
    try {
      token = options.adminToken(c);
    } catch (error) {
      throw configProblem('adminToken', reason(error));
    }
    if (token === undefined || token === '') return undefined;
    try {
      return checkToken(token);
    } catch {
      throw configProblem(
        'adminToken',
        `the admin token is shorter than ${MIN_TOKEN_LENGTH} characters or has spaces: set a longer one (e.g. openssl rand -hex 32)`,
      );
    }
  };
  const leaseName = (c: Context): string => {
    const name = checkName(c.req.param('name'));
    if (!namesOf(c).includes(name)) throw new LeaseAppProblem(404, 'UNKNOWN_LEASE', `no lease named ${JSON.stringify(name)} here; GET /leases lists them`);
    return name;
  };
  const page = pageOn ? { title, pollMs } : undefined;
  return { storeOf, namesOf, tokenOf, leaseName, skew, ttlOf, jobs, healthTimeoutMs, clock, exposeData, page, electorHealth };
}

/**
 * A problem with the app's own configuration (the deployment's fault, answered 500 `NOT_CONFIGURED`). The client
 * is told only which option failed; the detail (the option function's own words, which may quote a secret) goes
 * to the server log, credentials masked.
 */
function configProblem(option: string, detail: string): LeaseAppProblem {
  return new LeaseAppProblem(
    500,
    'NOT_CONFIGURED',
    `this lease app's ${option} option failed; the server log has the detail`,
    `the ${option} option failed: ${detail}`,
  );
}

/** The message of an option function's error (the deployment's own words, e.g. which secret to set). */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : 'it threw';
}

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
