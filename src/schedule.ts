/**
 * Schedules of jobs: a 5-field cron expression (in a time zone, default UTC), parsed by croner (which runs in
 * Workers too), or a fixed period. A schedule turns "now" into the slot that is due, lists the slots missed since the
 * last completed one, and says when the next is due, so hosts that fire seconds apart agree on one slot.
 * @module
 */
import { Cron } from 'croner';
import { LeaseholdError } from './errors.js';
import { describeValue } from './options.js';

/**
 * A job's schedule: `{ cron: '0 2 * * *', timezone?: 'Europe/Berlin' }` (5 fields: minute hour day-of-month month
 * day-of-week; day-of-month and day-of-week combine with OR, as in Vixie cron; time zone default `'UTC'`, so every
 * host reads the same instants), or `{ everyMs: 300_000 }` (slots at whole multiples of `everyMs` since the epoch).
 */
export type Schedule = { cron: string; timezone?: string } | { everyMs: number };

/** Most slots counted when a gap is very long (the count says "at least" beyond it). */
export const MAX_COUNTED_SLOTS = 100_000;

/** A checked schedule. Internal to leasehold. */
export interface Timetable {
  /** How the schedule reads in a message. */
  readonly text: string;
  /** The latest scheduled instant at or before `ms`, or `undefined` when there is none. */
  latestAtOrBefore(ms: number): number | undefined;
  /** The first scheduled instant strictly after `ms`, or `undefined`. */
  nextAfter(ms: number): number | undefined;
  /** Whether `ms` is a scheduled instant. */
  isOn(ms: number): boolean;
  /** The scheduled instants strictly after `after` and strictly before `before`, oldest first; at most `limit` (the latest ones) and how many in all (capped). */
  between(after: number, before: number, limit: number): { slots: number[]; count: number };
}

/** Checks a schedule (`INVALID_OPTION`, naming what to fix); returns its timetable. */
export function checkSchedule(schedule: unknown): Timetable {
  if (typeof schedule !== 'object' || schedule === null) {
    throw new LeaseholdError('INVALID_OPTION', `schedule must be { cron: '0 2 * * *', timezone? } or { everyMs }; got ${describeValue(schedule)}`);
  }
  const s = schedule as Record<string, unknown>;
  if (s.everyMs !== undefined) {
    if (s.cron !== undefined) throw new LeaseholdError('INVALID_OPTION', 'schedule takes either cron or everyMs, not both');
    const every = s.everyMs;
    if (typeof every !== 'number' || !Number.isInteger(every) || every < 1_000 || every > 366 * 24 * 3_600_000) {
      throw new LeaseholdError('INVALID_OPTION', `schedule.everyMs must be a whole number of milliseconds from 1000 to a year; got ${describeValue(every)}`);
    }
    return periodic(every);
  }
  if (typeof s.cron !== 'string') {
    throw new LeaseholdError('INVALID_OPTION', `schedule.cron must be a 5-field cron expression such as '0 2 * * *'; got ${describeValue(s.cron)}`);
  }
  const timezone = s.timezone === undefined ? 'UTC' : s.timezone;
  if (typeof timezone !== 'string' || !validTimezone(timezone)) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `schedule.timezone must be an IANA time zone such as 'UTC' or 'Europe/Berlin'; got ${describeValue(s.timezone)}`,
    );
  }
  const fields = s.cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `schedule.cron must have 5 fields (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'; got ${describeValue(s.cron)}`,
    );
  }
  let cron: Cron;
  try {
    cron = new Cron(fields.join(' '), { timezone, paused: true, mode: '5-part' });
  } catch (error) {
    throw new LeaseholdError('INVALID_OPTION', `schedule.cron ${describeValue(s.cron)} is not a valid cron expression: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (cron.nextRun(new Date(0)) === null) throw new LeaseholdError('INVALID_OPTION', `schedule.cron ${describeValue(s.cron)} never fires`);
  return cronTable(cron, `${fields.join(' ')} (${timezone})`);
}

function validTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function periodic(every: number): Timetable {
  return {
    text: `every ${every} ms`,
    latestAtOrBefore: (ms) => Math.floor(ms / every) * every,
    nextAfter: (ms) => (Math.floor(ms / every) + 1) * every,
    isOn: (ms) => Number.isInteger(ms) && ms % every === 0,
    between(after, before, limit) {
      const first = (Math.floor(after / every) + 1) * every;
      const last = (Math.ceil(before / every) - 1) * every;
      if (last < first) return { slots: [], count: 0 };
      const count = Math.min((last - first) / every + 1, MAX_COUNTED_SLOTS);
      const slots: number[] = [];
      for (let t = Math.max(first, last - (limit - 1) * every); t <= last && slots.length < limit; t += every) slots.push(t);
      return { slots, count };
    },
  };
}

function cronTable(cron: Cron, text: string): Timetable {
  // Cron fires on whole minutes: an instant is on the schedule when it is a whole minute the expression matches.
  const isOn = (ms: number) => Number.isInteger(ms) && ms % 60_000 === 0 && cron.match(new Date(ms));
  const nextAfter = (ms: number) => cron.nextRun(new Date(ms))?.getTime();
  const latestAtOrBefore = (ms: number) => {
    const minute = Math.floor(ms / 60_000) * 60_000;
    if (isOn(minute)) return minute;
    return cron.previousRuns(1, new Date(minute))[0]?.getTime();
  };
  return {
    text,
    isOn,
    nextAfter,
    latestAtOrBefore,
    between(after, before, limit) {
      const slots: number[] = [];
      let count = 0;
      // Walk forward from `after`: the count is exact up to the cap, and the last `limit` slots are kept.
      for (let t = nextAfter(after); t !== undefined && t < before && count < MAX_COUNTED_SLOTS; t = nextAfter(t)) {
        count++;
        slots.push(t);
        if (slots.length > limit) slots.shift();
      }
      return { slots, count };
    },
  };
}
