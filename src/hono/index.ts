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
import { Hono } from 'hono/tiny';
import { addAdminRoutes } from './admin-routes.js';
import { addJobRoutes } from './job-routes.js';
import { type LeaseAppOptions, resolveOptions } from './options.js';
import { addPageAtMountPath, addPageRoute } from './page-routes.js';
import { answerError, routesNotFound } from './problems.js';
import { addReadRoutes } from './read-routes.js';

export type { JobView, WatchedJob } from '../watched-jobs.js';
export {
  DEFAULT_HEALTH_TIMEOUT_MS,
  ElectorHealth,
  type ElectorHealthOptions,
  type HealthAnswer,
  type HealthReport,
  type HealthStatus,
} from './health.js';
export type { LeaseAppOptions, PerRequest } from './options.js';
export type { LeaseView } from './read-routes.js';

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
  const settings = resolveOptions(options);
  const app = new Hono();

  // Answers of the JSON routes change with every write: never cached by a browser or a proxy.
  app.use('*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
    c.header('x-content-type-options', 'nosniff');
  });

  // In this order: the mount-path page route matches any GET and must come after every other route.
  addPageRoute(app, settings);
  addReadRoutes(app, settings);
  addJobRoutes(app, settings);
  addAdminRoutes(app, settings);
  addPageAtMountPath(app, settings);

  app.notFound((c) => routesNotFound(c, settings.page !== undefined, settings.jobs.size > 0));
  app.onError(answerError);
  return app;
}
