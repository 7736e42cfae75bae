/**
 * Scheduled jobs in `leasehold/hono`: the jobs an app watches (each with its schedule), what it answers for each
 * (`GET /jobs`, the status page) and the dead-man check (`GET /health/jobs/:name`: 503 when a job is overdue).
 * Imports nothing from Hono.
 * @module
 */
import type { Clock } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { checkOverdueAfter, type JobStatus, jobStatus } from '../jobs.js';
import { checkName } from '../options.js';
import { checkSchedule, type Schedule } from '../schedule.js';
import type { Store } from '../store.js';

/** One scheduled job the app watches. */
export interface WatchedJob {
  /** The job's schedule, as its `runExclusive` has it (`{ cron, timezone? }` or `{ everyMs }`). */
  schedule: Schedule;
  /** How long after a slot fell due, in ms, a job that has not completed it is overdue (default 60 000). */
  overdueAfterMs?: number;
}

/** A job as the app shows it: {@link JobStatus} with its name, its schedule in words and its overdue bound. */
export interface JobView extends Partial<JobStatus> {
  /** The job's name (its lease name). */
  name: string;
  /** Its schedule, e.g. `0 2 * * * (UTC)` or `every 300000 ms`. */
  schedule: string;
  /** How long after a slot fell due it counts as overdue, in ms. */
  overdueAfterMs: number;
  /** Set instead of the status fields when the job's records could not be read. */
  error?: { code: string; message: string };
}

/** A checked job: its name, schedule, words and bound. */
export interface CheckedJob {
  name: string;
  schedule: Schedule;
  text: string;
  overdueAfterMs: number;
}

const MAX_JOBS = 100;

/** Checks the app's `jobs` option (`INVALID_OPTION` / `INVALID_NAME`, naming the job): each name, schedule and bound. */
export function checkJobs(jobs: unknown): Map<string, CheckedJob> {
  const checked = new Map<string, CheckedJob>();
  if (jobs === undefined) return checked;
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs)) {
    throw new LeaseholdError('INVALID_OPTION', "leasehold/hono: jobs must be an object like { 'nightly-report': { schedule: { cron: '0 2 * * *' } } }");
  }
  const entries = Object.entries(jobs as Record<string, unknown>);
  if (entries.length > MAX_JOBS) throw new LeaseholdError('INVALID_OPTION', `leasehold/hono: at most ${MAX_JOBS} jobs; got ${entries.length}`);
  for (const [name, job] of entries) {
    checkName(name, `jobs name ${JSON.stringify(name.slice(0, 40))}`);
    if (typeof job !== 'object' || job === null) {
      throw new LeaseholdError('INVALID_OPTION', `leasehold/hono: jobs[${JSON.stringify(name)}] must be { schedule, overdueAfterMs? }`);
    }
    const { schedule, overdueAfterMs } = job as Record<string, unknown>;
    let text: string;
    let bound: number;
    try {
      text = checkSchedule(schedule).text;
      bound = checkOverdueAfter(overdueAfterMs);
    } catch (error) {
      const e = error as LeaseholdError;
      throw new LeaseholdError(e.code, `leasehold/hono: jobs[${JSON.stringify(name)}]: ${e.message}`, { cause: error });
    }
    checked.set(name, { name, schedule: schedule as Schedule, text, overdueAfterMs: bound });
  }
  return checked;
}

/** The view of one job: its status now (one round trip: its slot record and its lease, read together). */
export async function jobView(store: Store, job: CheckedJob, clock: Clock, maxClockSkewMs: number): Promise<JobView> {
  const status = await jobStatus(store, job.name, { schedule: job.schedule, clock, overdueAfterMs: job.overdueAfterMs, maxClockSkewMs });
  return { name: job.name, schedule: job.text, overdueAfterMs: job.overdueAfterMs, ...status };
}
