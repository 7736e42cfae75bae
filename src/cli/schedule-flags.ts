/**
 * The schedule flags of `run` and `status` (`--schedule '0 2 * * *' [--timezone Europe/Paris]` or `--every 5m`), and
 * the rule `run` derives its slot by: the latest scheduled instant at or before now + `--early` (default 5 s), where
 * "now" is the store's clock when it has one (Postgres, Firestore), else this host's. So hosts whose crontabs fire
 * seconds apart, or a few seconds early by a fast clock, all name the same slot.
 * @module
 */
import { checkSchedule, type Schedule, type Timetable } from '../schedule.js';
import type { Store } from '../store.js';
import { formatDuration, parseDuration } from './args.js';
import { usage } from './exit-codes.js';
import { boundedRead } from './lease-status.js';

/** How early a host may fire and still name the slot it fires for, by default: 5 s. */
export const DEFAULT_EARLY_MS = 5_000;

/** The flags `util.parseArgs` reads for a schedule. */
export const SCHEDULE_FLAGS = {
  schedule: { type: 'string' },
  every: { type: 'string' },
  timezone: { type: 'string' },
} as const;

/** A schedule given on the command line, checked. */
export interface ScheduleFlags {
  schedule: Schedule;
  timetable: Timetable;
  /** The shortest gap between two slots this check knows of (60 s for cron, the period for `--every`). */
  minGapMs: number;
}

/**
 * Reads `--schedule`/`--timezone`/`--every` (usage errors, exit 64, naming the flag); `undefined` when none is given.
 */
export function parseScheduleFlags(values: { schedule?: string; every?: string; timezone?: string }, command: string): ScheduleFlags | undefined {
  if (values.schedule !== undefined && values.every !== undefined) throw usage(`give --schedule or --every, not both; see leasehold ${command} --help`);
  if (values.timezone !== undefined && values.schedule === undefined) {
    throw usage(`--timezone needs --schedule (a cron expression is read in it; --every counts from the epoch); see leasehold ${command} --help`);
  }
  let schedule: Schedule;
  let minGapMs: number;
  if (values.schedule !== undefined) {
    schedule = { cron: values.schedule, ...(values.timezone !== undefined ? { timezone: values.timezone } : {}) };
    minGapMs = 60_000;
  } else if (values.every !== undefined) {
    minGapMs = parseDuration(values.every, '--every');
    schedule = { everyMs: minGapMs };
  } else {
    return undefined;
  }
  try {
    return { schedule, timetable: checkSchedule(schedule), minGapMs };
  } catch (error) {
    const message = (error as Error).message
      .replace(/^schedule\.cron/, '--schedule')
      .replace(/^schedule\.timezone/, '--timezone')
      .replace(/^schedule\.everyMs must be a whole number of milliseconds/, '--every must be a duration');
    throw usage(`${message}; see leasehold ${command} --help`);
  }
}

/** Reads `--early` (default 5 s, or a quarter of a shorter `--every`): below half the shortest gap between slots. */
export function parseEarly(text: string | undefined, flags: ScheduleFlags): number {
  if (text === undefined) return Math.min(DEFAULT_EARLY_MS, Math.floor(flags.minGapMs / 4));
  const early = parseDuration(text, '--early');
  if (early * 2 >= flags.minGapMs) {
    throw usage(
      `--early (${formatDuration(early)}) must be under half the gap between slots (${formatDuration(flags.minGapMs)}), or a host would name the next slot`,
    );
  }
  return early;
}

/**
 * The slot a run fires for: the latest scheduled instant at or before `nowMs + earlyMs` (a host that fires up to
 * `earlyMs` before a slot names that slot; one that fires later names it until the next one is `earlyMs` away).
 */
export function dueSlot(timetable: Timetable, nowMs: number, earlyMs: number): number | undefined {
  return timetable.latestAtOrBefore(nowMs + earlyMs);
}

/**
 * "Now" for deriving a slot: the store's clock where it judges expiry (one read of the job's slot record, which
 * carries it), else this host's. The read is bounded as every read is; a failure fails closed (exit 69).
 */
export async function slotClock(store: Store, slotRecord: string): Promise<number> {
  if (store.clockSource !== 'store') return Date.now();
  const sent = Date.now();
  const read = await boundedRead(store, slotRecord);
  // The store's now was taken during the read: move it on by the time since the read was sent, at most.
  return read.now === undefined ? Date.now() : read.now + (Date.now() - sent) / 2;
}
