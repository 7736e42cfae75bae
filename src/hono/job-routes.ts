/**
 * The scheduled-job routes of `leasehold/hono` (the `jobs` option): `GET /jobs`, `GET /jobs/:name`, and the dead-man
 * checks `GET /health/jobs/:name` and `GET /health/jobs` that a monitor polls. They only read.
 * @module
 */
import type { Context } from 'hono';
import type { Hono } from 'hono/tiny';
import type { Store } from '../store.js';
import { type CheckedJob, type JobView, jobView } from '../watched-jobs.js';
import { failureCode, withinHealthBound } from './health.js';
import type { LeaseAppSettings } from './options.js';
import { LeaseAppProblem } from './problems.js';

/** Adds `GET /jobs`, `GET /jobs/:name`, `GET /health/jobs/:name` and `GET /health/jobs` to `app`. */
export function addJobRoutes(app: Hono, settings: LeaseAppSettings): void {
  const { storeOf, jobs, clock, skew, healthTimeoutMs } = settings;

  /** The route's job: one of the configured jobs (404 `UNKNOWN_JOB` otherwise). */
  const jobOf = (c: Context): CheckedJob => {
    const name = c.req.param('name') ?? '';
    const job = jobs.get(name);
    if (job === undefined) throw new LeaseAppProblem(404, 'UNKNOWN_JOB', `no job named ${JSON.stringify(name.slice(0, 128))} here; GET /jobs lists them`);
    return job;
  };
  /** A job's view, within `bound` ms when given; a read that fails or runs past it gives a view that carries `error`. */
  const safeJobView = (store: Store, job: CheckedJob, bound?: number): Promise<JobView> => {
    const read = jobView(store, job, clock, skew);
    return (bound === undefined ? read : withinHealthBound(read, bound)).catch(
      (error: unknown): JobView => ({
        name: job.name,
        schedule: job.text,
        overdueAfterMs: job.overdueAfterMs,
        error: { code: failureCode(error), message: 'could not read this job' },
      }),
    );
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
}
