/**
 * A scheduled job's status for dashboards and dead-man checks ({@link jobStatus}), and the one summary of a slot
 * record that `jobStatus`, the CLI's `status` and the HTTP app all answer with ({@link summarizeJob}).
 * @module
 */

import { boundedStoreCall } from './call-bound.js';
import { type Clock, checkClock, wallNow } from './clock.js';
import { LeaseholdError } from './errors.js';
import { getLeader } from './lead.js';
import { checkDuration, checkName, DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS, MAX_NAME_LENGTH, MAX_TTL_MS } from './options.js';
import { checkSchedule, type Schedule, type Timetable } from './schedule.js';
import { slotOutput } from './slot.js';
import { decodeSlot, SLOT_RECORD_SUFFIX } from './slot-record.js';
import type { LeaseRecord, Store } from './store.js';
import { checkStore } from './store-checks.js';

/** Options of {@link jobStatus}. */
export interface JobStatusOptions {
  /** The job's schedule: with it, the status says when the next slot is due, how many were missed, and whether it is overdue. */
  schedule?: Schedule;
  /** Clock (default: the system clock). */
  clock?: Clock;
  /** How long after a slot fell due, in ms, a job that has not completed it is overdue (default 60 000). */
  overdueAfterMs?: number;
  /** Skew margin for client-clock stores when judging whether a run holds the lease (default 1 000 ms). */
  maxClockSkewMs?: number;
}

/** What {@link jobStatus} found. */
export interface JobStatus {
  /** The last completed slot (epoch ms for an instant, the string for a key), or `null` when none has completed. */
  lastSlot: number | string | null;
  /** When that slot's run completed (epoch ms, the runner's wall clock), or `null` when unknown. */
  lastCompletedAt: number | null;
  /** Whether a run holds the job's lease now (its holder), or `null`. */
  running: string | null;
  /** With a schedule: the next scheduled instant after now (epoch ms), else `null`. */
  nextDue: number | null;
  /** With a schedule: scheduled slots after `lastSlot`, up to now, not completed (`null` without a schedule or before a first completion). */
  missed: number | null;
  /** With a schedule: the latest due slot is later than `lastSlot` and fell due more than `overdueAfterMs` ago. */
  overdue: boolean;
  /** With a schedule: the latest slot due at or before now (epoch ms), else `null`. */
  latestDue: number | null;
}

/**
 * A scheduled job's status, for dashboards and dead-man checks: the last completed slot and when, whether a run holds
 * the lease, and with a schedule the next due slot, the missed count and whether it is overdue. Writes nothing.
 *
 * Round trips: one. It reads two records, the job's completed slot (`name@done`) and its lease, sent together so the
 * answer costs one round trip of latency: the Store contract reads one record per call (a store-level batch read would
 * have to be added to, and proven by, every store for this alone), and a completion is never written in the lease
 * record, whose writes are the election's. Without a need for `running`, read the slot record alone with
 * `store.read(name + SLOT_RECORD_SUFFIX)`.
 * @example
 * const status = await jobStatus(store, 'nightly-report', { schedule: { cron: '0 2 * * *' } })
 * if (status.overdue) alert(`nightly-report missed ${status.missed} run(s)`)
 */
export async function jobStatus(store: Store, name: string, options: JobStatusOptions = {}): Promise<JobStatus> {
  const s = checkStore(store);
  checkName(name);
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', 'jobStatus options must be an object like { schedule, clock, overdueAfterMs }, or omitted');
  }
  const clock = checkClock(options.clock);
  const timetable = options.schedule === undefined ? undefined : checkSchedule(options.schedule);
  const overdueAfterMs = checkOverdueAfter(options.overdueAfterMs);
  const skew = checkDuration(options.maxClockSkewMs, 'maxClockSkewMs', DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS);
  const [record, leader] = await Promise.all([
    // A name too long for a slot record has none (runExclusive refuses a slot for it).
    name.length > MAX_NAME_LENGTH - SLOT_RECORD_SUFFIX.length
      ? Promise.resolve(null)
      : boundedStoreCall(
          s,
          clock,
          `reading the completed slot of ${name}`,
          async (call) => (await call((o) => s.read(`${name}${SLOT_RECORD_SUFFIX}`, o))).record,
        ),
    getLeader(s, name, { clock, maxClockSkewMs: skew }),
  ]);
  return summarizeJob(record, leader?.holder ?? null, timetable, wallNow(clock), overdueAfterMs);
}

/** Default of `overdueAfterMs`: 60 s. */
export const DEFAULT_OVERDUE_AFTER_MS = 60_000;

/** Checks `overdueAfterMs` (0 to the longest lease; default {@link DEFAULT_OVERDUE_AFTER_MS}). Internal to leasehold. */
export function checkOverdueAfter(value: unknown, option = 'overdueAfterMs'): number {
  return checkDuration(value, option, DEFAULT_OVERDUE_AFTER_MS, MAX_TTL_MS);
}

/**
 * A job's status from its slot record as read, its lease's live holder, its timetable and "now" (epoch ms): what
 * {@link jobStatus}, the CLI's `status` and the HTTP app answer, computed once. Internal to leasehold.
 */
export function summarizeJob(
  record: LeaseRecord | null,
  running: string | null,
  timetable: Timetable | undefined,
  now: number,
  overdueAfterMs: number,
): JobStatus {
  const done = decodeSlot(record);
  let lastCompletedAt: number | null = null;
  try {
    const at = (JSON.parse(record?.data ?? 'null') as { at?: unknown } | null)?.at;
    if (typeof at === 'number' && Number.isFinite(at)) lastCompletedAt = at;
  } catch {}
  let nextDue: number | null = null;
  let latestDue: number | null = null;
  let missed: number | null = null;
  let overdue = false;
  if (timetable !== undefined) {
    nextDue = timetable.nextAfter(now) ?? null;
    latestDue = timetable.latestAtOrBefore(now) ?? null;
    if (done?.kind === 'instant') missed = timetable.between(done.ms, now + 1, 0).count;
    const behind = latestDue !== null && (done === null || (done.kind === 'instant' && latestDue > done.ms));
    overdue = behind && latestDue !== null && now - latestDue > overdueAfterMs;
  }
  return { lastSlot: done === null ? null : slotOutput(done), lastCompletedAt, running, nextDue, missed, overdue, latestDue };
}
