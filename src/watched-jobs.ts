/**
 * Scheduled jobs watched from outside (by `leasehold/hono`'s `jobs` option and `leasehold/otel`'s `observeJobs`): each
 * job's name, schedule and overdue bound, checked once, and its view (its {@link JobStatus} with its schedule in words).
 * Internal to leasehold; the types are exported by the entry points that take them.
 * @module
 */
import type { Clock } from './clock.js';
import { LeaseholdError } from './errors.js';
import { checkOverdueAfter, type JobStatus, jobStatus } from './jobs.js';
import { checkName } from './options.js';
import { checkSchedule, type Schedule } from './schedule.js';
import type { Store } from './store.js';

/** One scheduled job to watch. */
export interface WatchedJob {
  /** The job's schedule, as its `runExclusive` has it (`{ cron, timezone? }` or `{ everyMs }`). */
  schedule: Schedule;
  /** How long after a slot fell due, in ms, a job that has not completed it is overdue (default 60 000). */
  overdueAfterMs?: number;
}

/** A job as it is shown: {@link JobStatus} with its name, its schedule in words and its overdue bound. */
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

/**
 * Checks a `jobs` option (`INVALID_OPTION` / `INVALID_NAME`, naming the job): each name, schedule and bound. `owner`
 * begins each message (e.g. `leasehold/hono`).
 */
export function checkJobs(jobs: unknown, owner: string): Map<string, CheckedJob> {
  const checked = new Map<string, CheckedJob>();
  if (jobs === undefined) return checked;
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs)) {
    throw new LeaseholdError('INVALID_OPTION', `${owner}: jobs must be an object like { 'nightly-report': { schedule: { cron: '0 2 * * *' } } }`);
  }
  const entries = Object.entries(jobs as Record<string, unknown>);
  if (entries.length > MAX_JOBS) throw new LeaseholdError('INVALID_OPTION', `${owner}: at most ${MAX_JOBS} jobs; got ${entries.length}`);
  for (const [name, job] of entries) {
    checkName(name, `jobs name ${JSON.stringify(name.slice(0, 40))}`);
    if (typeof job !== 'object' || job === null) {
      throw new LeaseholdError('INVALID_OPTION', `${owner}: jobs[${JSON.stringify(name)}] must be { schedule, overdueAfterMs? }`);
    }
    const { schedule, overdueAfterMs } = job as Record<string, unknown>;
    let text: string;
    let bound: number;
    try {
      text = checkSchedule(schedule).text;
      bound = checkOverdueAfter(overdueAfterMs);
    } catch (error) {
      const e = error as LeaseholdError;
      throw new LeaseholdError(e.code, `${owner}: jobs[${JSON.stringify(name)}]: ${e.message}`, { cause: error });
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
