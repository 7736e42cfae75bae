/**
 * Scheduled singleton jobs: {@link runExclusive} runs a job only while this caller leads, renews the lease while
 * the job runs, aborts the job's signal the moment leadership is lost, and releases at the end. With a `slot`
 * (the scheduled time of a trigger), at most one *successful* run per (name, slot), across concurrent triggers,
 * repeated deliveries and hosts: the completed slot is kept in the store, beside the lease.
 * @module
 */

import { boundedStoreCall } from './call-bound.js';
import { type Clock, checkClock, wallNow } from './clock.js';
import { LeaseholdError } from './errors.js';
import { keepLease } from './keep-lease.js';
import { type LeadResult, release, tryLead } from './lead.js';
import { checkHolder, checkLeadOptions, checkRenewInterval, describeValue, MAX_NAME_LENGTH } from './options.js';
import { checkSchedule, type Schedule, type Timetable } from './schedule.js';
import { compareSlotValues, describeSlot, readSlot, type Slot, type SlotValue, slotOutput } from './slot.js';
import { decodeSlot, recordSlot, SLOT_RECORD_SUFFIX } from './slot-record.js';
import type { LeaseRecord, Store } from './store.js';
import { checkStore, checkStoreLimits } from './store-checks.js';
import { LeadershipTerm, type TermEndReason } from './term.js';

export {
  checkOverdueAfter,
  DEFAULT_OVERDUE_AFTER_MS,
  type JobStatus,
  type JobStatusOptions,
  jobStatus,
  summarizeJob,
} from './job-status.js';
export type { Schedule } from './schedule.js';
export { compareSlots, type Slot, slotOf } from './slot.js';
export { SLOT_RECORD_SUFFIX } from './slot-record.js';

/** Options of {@link runExclusive}. */
export interface RunExclusiveOptions {
  /** Lease name of the job (at most 123 characters with a `slot`: its completed slot is kept under `${name}@done`). */
  name: string;
  /** This run's id (default: a new `crypto.randomUUID()`, one per call, as a Lambda invocation or a cron run is). */
  holder?: string;
  /** Lease length in ms (default 15 000): how long a crashed run blocks the job; renewed every `renewEveryMs` while the job runs. */
  ttlMs?: number;
  /** Clock-skew margin in ms (default 1 000). */
  maxClockSkewMs?: number;
  /**
   * How often the lease is renewed while the job runs, in ms (default `ttlMs / 3`, or half of `ttlMs - maxClockSkewMs`
   * when that is shorter); shorter than `ttlMs - maxClockSkewMs`.
   */
  renewEveryMs?: number;
  /**
   * Run at most once per slot: the job runs only if no run of this slot (or of a later one) has completed.
   * A slot is an instant, compared as an instant: an ISO 8601 string with a zone and any precision (EventBridge's
   * `event.time`), epoch ms (a Worker's `controller.scheduledTime`) or a `Date`; so `…T02:00:00Z`,
   * `…T02:00:00.000Z` and `…T03:00:00+01:00` are one slot, and a job may switch between the forms. Any other string
   * is an opaque key, ordered as a string; a job's instants and keys are never compared (`INVALID_SLOT`, nothing
   * runs). A run that throws does not complete its slot.
   */
  slot?: Slot;
  /**
   * The job's schedule (`{ cron: '0 2 * * *', timezone? }` or `{ everyMs }`; see {@link Schedule}). With it, `slot` is
   * optional (default: the latest scheduled instant at or before now, so hosts firing seconds apart agree), a `slot`
   * that is not on the schedule throws `INVALID_SLOT`, and `missed` says what to do with the slots missed since the
   * last completed one.
   */
  schedule?: Schedule;
  /**
   * With a `schedule`: `'skip'` (default) runs only the current slot and counts the missed ones (`missed` in the
   * outcome); `'all'` runs each missed slot in order, oldest first, then the current one, each with its own
   * `ctx.slot` and its own completion record (the latest `maxCatchUp` missed slots; older ones are counted as missed).
   */
  missed?: 'skip' | 'all';
  /** With `missed: 'all'`, the most missed slots run before the current one (default 10, at most 1 000). */
  maxCatchUp?: number;
  /** Payload stored with the lease while the job runs. */
  data?: string;
  /** Clock (default: the system clock). */
  clock?: Clock;
}

/** What the job gets. */
export interface JobContext {
  /** Aborts the moment leadership is lost (taken over, or validity ran out before a renewal succeeded); pass it on. */
  signal: AbortSignal;
  /** The fencing token of this run's term: pass it to the systems the job writes to. */
  token: number;
  /** The term: its fields follow every renewal. */
  lead: LeadResult;
  /** The slot being run (an instant in epoch ms, or a key), or `undefined` without a slot. */
  slot: number | string | undefined;
}

/** Why a job did not run. */
export type NotRunReason =
  /** Another run holds the lease now (it may be running this slot, or the previous one: a run that outlasts its slot makes the next skip). */
  | 'held'
  /** This slot, or a later one, has already completed. */
  | 'done';

/** What {@link runExclusive} did. */
export type RunExclusiveResult<T> =
  | {
      ran: true;
      /** What the job returned. */
      result: T;
      /** The run's fencing token. */
      token: number;
      /** Why leadership ended before the job did (its signal aborted then), or `undefined` if it held to the end. */
      lost: TermEndReason | undefined;
      /** With a `slot`: whether its completion was recorded in the store (if not, a later trigger may run it again). */
      slotRecorded: boolean;
      /** The slot run last (the current one, unless leadership was lost while catching up), or `undefined`. */
      slot: number | string | undefined;
      /** With a `schedule`: the missed slots not run (all of them with `missed: 'skip'`), since the last completed one. */
      missed: number;
      /** With `missed: 'all'`: the missed slots run before the current one, oldest first (epoch ms). */
      caughtUp: number[];
    }
  | {
      ran: false;
      reason: NotRunReason;
      /** The current holder (`held`), or `null`. */
      leader: string | null;
      /** The current holder's token (`held`), or the last one seen. */
      token: number;
      /** When the current holder's lease runs out unless renewed (`held`; epoch ms on the judging clock), else `0`. */
      expiresAt: number;
      /** The last completed slot, when known: epoch ms for an instant, the string for a key. */
      doneSlot: number | string | null;
    };

function checkMissed(value: unknown, scheduled: boolean): 'skip' | 'all' {
  if (value === undefined) return 'skip';
  if (value !== 'skip' && value !== 'all') throw new LeaseholdError('INVALID_OPTION', `missed must be 'skip' or 'all'; got ${describeValue(value)}`);
  if (!scheduled) throw new LeaseholdError('INVALID_OPTION', 'missed needs a schedule ({ cron } or { everyMs }): without one, no slot is known to be missed');
  return value;
}

function checkMaxCatchUp(value: unknown): number {
  if (value === undefined) return 10;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1_000) {
    throw new LeaseholdError('INVALID_OPTION', `maxCatchUp must be a whole number from 0 to 1000 (default 10); got ${describeValue(value)}`);
  }
  return value;
}

/** The slot to run: the one given (on the schedule, if there is one), or the schedule's latest due instant. */
function resolveSlot(given: unknown, timetable: Timetable | undefined, clock: Clock): SlotValue | undefined {
  if (given === undefined) {
    if (timetable === undefined) return undefined;
    const due = timetable.latestAtOrBefore(wallNow(clock));
    if (due === undefined) throw new LeaseholdError('INVALID_SLOT', `the schedule ${timetable.text} has no slot due yet`);
    return { kind: 'instant', ms: due };
  }
  const slot = readSlot(given);
  if (timetable !== undefined && (slot.kind !== 'instant' || !timetable.isOn(slot.ms))) {
    throw new LeaseholdError(
      'INVALID_SLOT',
      `slot ${describeSlot(slot)} is not on the schedule ${timetable.text}; pass the trigger's scheduled time (slotOf(event)), or omit slot to take the latest due one`,
    );
  }
  return slot;
}

/**
 * Runs `job` only when this caller leads `name`; renews the lease while the job runs (on the clock's timers, well
 * inside the lease); aborts the job's signal when leadership is lost; releases at the end, after success or a
 * throw (a throw is rethrown). Returns `{ ran: true, result, token, … }`, or `{ ran: false, reason }` with reason
 * `held` (another run holds the lease) or `done` (the slot already completed). Fails closed: when the store
 * cannot be reached the job never runs and `STORE_UNAVAILABLE` is thrown.
 *
 * Round trips: without a slot, a claim and a release (plus one renewal every `renewEveryMs`); with a slot, also
 * a read of the completed slot and a write of it after success (four in all); a trigger refused as `held` costs
 * one, a repeat of a completed slot three.
 * @example
 * // An EventBridge-scheduled Lambda: at most one successful run per scheduled time, across regions and retries.
 * const outcome = await runExclusive(store, { name: 'nightly-report', slot: event.time, ttlMs: 60_000 }, ({ signal, token }) =>
 *   buildReport({ signal, fencingToken: token }))
 */
export async function runExclusive<T>(
  store: Store,
  options: RunExclusiveOptions,
  job: (context: JobContext) => Promise<T> | T,
): Promise<RunExclusiveResult<T>> {
  const s = checkStore(store);
  if (typeof options !== 'object' || options === null) throw new LeaseholdError('INVALID_OPTION', 'options must be an object like { name, ttlMs, slot }');
  const holder = options.holder === undefined ? globalThis.crypto.randomUUID() : checkHolder(options.holder);
  const p = checkLeadOptions({ ...options, holder });
  checkStoreLimits(s, p.ttlMs);
  const clock = checkClock(options.clock);
  const timetable = options.schedule === undefined ? undefined : checkSchedule(options.schedule);
  const missedPolicy = checkMissed(options.missed, timetable !== undefined);
  const maxCatchUp = checkMaxCatchUp(options.maxCatchUp);
  const slot = resolveSlot(options.slot, timetable, clock);
  if (slot !== undefined && p.name.length > MAX_NAME_LENGTH - SLOT_RECORD_SUFFIX.length) {
    throw new LeaseholdError(
      'INVALID_NAME',
      `with a slot, name must be at most ${MAX_NAME_LENGTH - SLOT_RECORD_SUFFIX.length} characters (its completed slot is kept under name${SLOT_RECORD_SUFFIX})`,
    );
  }
  const renewEveryMs = checkRenewInterval(options.renewEveryMs, 'renewEveryMs', p, s);
  if (typeof job !== 'function') throw new LeaseholdError('INVALID_OPTION', 'job must be a function ({ signal, token, lead, slot }) => result');
  const leadOptions = { name: p.name, holder, ttlMs: p.ttlMs, maxClockSkewMs: p.maxClockSkewMs, clock, ...(p.data !== null ? { data: p.data } : {}) };

  const first = await tryLead(s, leadOptions);
  if (!first.isLeader || !first.stillLeader()) {
    // An answer that came after its own validity (a paused process) carries no authority: give that lease back.
    if (first.isLeader) await first.release().catch(() => false);
    return { ran: false, reason: 'held', leader: first.leader, token: first.token, expiresAt: first.expiresAt, doneSlot: null };
  }
  const slotName = `${p.name}${SLOT_RECORD_SUFFIX}`;
  let slotRecord: LeaseRecord | null = null;
  let catchUp: number[] = [];
  let missed = 0;
  if (slot !== undefined) {
    // Read after the claim: a completion is written only by a run that holds the lease, and this one does now.
    try {
      slotRecord = await boundedStoreCall(
        s,
        clock,
        `reading the completed slot of ${p.name} (the job did not run)`,
        async (call) => (await call((o) => s.read(slotName, o))).record,
      );
    } catch (error) {
      await release(s, { name: p.name, holder, clock }).catch(() => false);
      throw error;
    }
    let order: number | undefined;
    let done: SlotValue | null;
    try {
      done = decodeSlot(slotRecord);
      if (done !== null) order = compareSlotValues(done, slot);
    } catch (error) {
      // An instant against a key, or a record that holds no slot: nothing runs, and the lease is given back.
      await release(s, { name: p.name, holder, clock }).catch(() => false);
      throw error;
    }
    if (done !== null && order !== undefined && order >= 0) {
      await release(s, { name: p.name, holder, clock }).catch(() => false);
      return { ran: false, reason: 'done', leader: null, token: first.token, expiresAt: 0, doneSlot: slotOutput(done) };
    }
    // Slots missed since the last completed one (none known before a first completion).
    if (timetable !== undefined && done?.kind === 'instant' && slot.kind === 'instant') {
      const gap = timetable.between(done.ms, slot.ms, missedPolicy === 'all' ? maxCatchUp : 0);
      catchUp = gap.slots;
      missed = gap.count - gap.slots.length;
    }
  }

  let lost: TermEndReason | undefined;
  const term = new LeadershipTerm(first, clock, (reason) => {
    if (reason !== 'stopped') lost ??= reason;
  });
  const keeper = keepLease(s, leadOptions, term, clock, renewEveryMs);
  // The missed slots first (oldest first), then the current one; each completes on its own.
  const runs: (SlotValue | undefined)[] = [...catchUp.map((ms): SlotValue => ({ kind: 'instant', ms })), slot];
  const caughtUp: number[] = [];
  let result!: T;
  let ranSlot: SlotValue | undefined;
  let slotRecorded = false;
  for (const [i, current] of runs.entries()) {
    // Leadership lost while catching up: the remaining slots wait for the next trigger.
    if (i > 0 && term.check()) break;
    try {
      result = await job({ signal: term.lead.signal, token: first.token, lead: term.lead, slot: current === undefined ? undefined : slotOutput(current) });
    } catch (error) {
      // A renewal in flight is waited for: one that lands after the release would take the free lease again.
      await keeper.stop();
      term.end('stopped');
      await release(s, { name: p.name, holder, clock }).catch(() => false);
      throw error;
    }
    ranSlot = current;
    // Judged at the moment the job returned, on both clocks, not at the next timer: a job that blocked the event loop
    // past its validity is reported `lost` on every store.
    term.check();
    if (current !== undefined) {
      const last = i === runs.length - 1 || term.ended;
      // The last completion is written after the renewals stop (as before); a catch-up's while the lease is kept.
      if (last) await keeper.stop();
      const written = await boundedStoreCall(s, clock, `recording the completed slot of ${p.name}`, (call) =>
        recordSlot(call, slotName, slotRecord, current, clock, s),
      ).catch(() => undefined);
      slotRecorded = written !== undefined;
      if (written !== undefined) slotRecord = written;
      if (i < runs.length - 1 && current.kind === 'instant') caughtUp.push(current.ms);
      if (!slotRecorded && i < runs.length - 1) break; // an unrecorded catch-up: stop rather than run past a gap
    }
  }
  await keeper.stop();
  term.end('stopped');
  await release(s, { name: p.name, holder, clock }).catch(() => false);
  const notRun = catchUp.length - caughtUp.length;
  return {
    ran: true,
    result,
    token: first.token,
    lost,
    slotRecorded,
    slot: ranSlot === undefined ? undefined : slotOutput(ranSlot),
    missed: missed + notRun,
    caughtUp,
  };
}
