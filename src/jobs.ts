/**
 * Scheduled singleton jobs: {@link runExclusive} runs a job only while this caller leads, renews the lease while
 * the job runs, aborts the job's signal the moment leadership is lost, and releases at the end. With a `slot`
 * (the scheduled time of a trigger), at most one *successful* run per (name, slot), across concurrent triggers,
 * repeated deliveries and hosts: the completed slot is kept in the store, beside the lease.
 * @module
 */
import { boundedStoreCall } from './call-bound.js';
import { type Clock, checkClock, type TimerHandle, wallNow } from './clock.js';
import { LeaseholdError } from './errors.js';
import { getLeader, type LeadResult, release, tryLead } from './lead.js';
import {
  checkDuration,
  checkHolder,
  checkLeadOptions,
  checkName,
  checkRenewInterval,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  describeValue,
  MAX_CLOCK_SKEW_MS,
  MAX_NAME_LENGTH,
  MAX_TTL_MS,
  RESERVED_NAME_SUFFIX,
} from './options.js';
import { checkSchedule, type Schedule, type Timetable } from './schedule.js';
import { compareSlotValues, describeSlot, readSlot, type Slot, type SlotValue, slotOutput } from './slot.js';
import type { LeaseRecord, LeaseWrite, Store, StoreCallOptions } from './store.js';
import { checkStore, checkStoreLimits } from './store-checks.js';
import { LeadershipTerm, type TermEndReason } from './term.js';

export type { Schedule } from './schedule.js';
export { compareSlots, type Slot, slotOf } from './slot.js';

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

/**
 * The suffix of the record that keeps a job's last completed slot, beside its lease. Lease names ending in it are
 * reserved (`INVALID_NAME` from every public call), so no lease can land on a job's slot record.
 */
export const SLOT_RECORD_SUFFIX = RESERVED_NAME_SUFFIX;

/**
 * The completed slot a slot record keeps (`{"slot": epoch ms}` for an instant, `{"slot": "key"}` for a key; an ISO
 * string written by an earlier version reads as the instant it names), or `null` when none.
 */
function decodeSlot(record: LeaseRecord | null): SlotValue | null {
  if (record?.data === null || record?.data === undefined) return null;
  let value: unknown;
  try {
    value = (JSON.parse(record.data) as { slot?: unknown }).slot;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new LeaseholdError('STORE_CORRUPT', `the slot record ${record.name} holds no slot; leave ${SLOT_RECORD_SUFFIX} records to leasehold`);
  }
  return readSlot(value, `the completed slot kept in ${record.name}`);
}

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

/** Renews the term's lease every `renewEveryMs` until stopped; ends the term when leadership is lost. */
function keepLease(
  store: Store,
  leadOptions: Parameters<typeof tryLead>[1],
  term: LeadershipTerm,
  clock: Clock,
  renewEveryMs: number,
): { stop(): Promise<void> } {
  let timer: TimerHandle | undefined;
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  const schedule = (ms: number) => {
    if (stopped || term.ended) return;
    timer = clock.setTimeout(() => {
      inFlight = renew().finally(() => {
        inFlight = undefined;
      });
    }, ms);
  };
  const renew = async () => {
    timer = undefined;
    if (stopped || term.ended) return;
    try {
      const result = await tryLead(store, leadOptions);
      if (stopped || term.ended) return;
      if (result.isLeader && result.token === term.token && result.stillLeader()) {
        term.renew(result);
        schedule(renewEveryMs);
      } else if (result.isLeader) {
        // A new term (the old one lapsed in the store): the job's term is over; give this one back.
        term.end('expired');
        await result.release().catch(() => false);
      } else {
        term.end('taken-over');
      }
    } catch {
      // Keep the validity already earned and retry sooner; the term ends by itself when it runs out.
      schedule(renewEveryMs / 2);
    }
  };
  schedule(renewEveryMs);
  return {
    /** Stops renewing; settles once a renewal already in flight has settled (within its call bound). */
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}

/**
 * Records `slot` as completed in the slot record (compare-and-swap on the state read before, so a stale writer cannot
 * move it back), with the wall-clock time of completion; never lowers it. Returns the slot record as it now stands,
 * or `undefined` when the store did not confirm it.
 */
async function recordSlot(
  call: <R>(request: (options: StoreCallOptions) => Promise<R>) => Promise<R>,
  name: string,
  seen: LeaseRecord | null,
  slot: SlotValue,
  clock: Clock,
  store: Store,
): Promise<LeaseRecord | undefined> {
  let current = seen;
  for (let attempt = 0; attempt < 3; attempt++) {
    const done = decodeSlot(current);
    if (current !== null && done !== null && compareSlotValues(done, slot) >= 0) return current;
    const completedAt = wallNow(clock);
    const write: LeaseWrite = {
      name,
      holder: null,
      token: (current?.token ?? 0) + 1,
      acquiredAt: null,
      ttlMs: 0,
      version: globalThis.crypto.randomUUID(),
      data: JSON.stringify({ slot: slotOutput(slot), at: completedAt }),
      clientNow: completedAt,
    };
    try {
      const expected = current?.version;
      const outcome = await call((o) => (expected === undefined ? store.create(write, o) : store.replace(expected, write, o)));
      if (outcome.ok) return outcome.record;
      current = outcome.current ?? (await call((o) => store.read(name, o))).record;
    } catch {
      try {
        current = (await call((o) => store.read(name, o))).record;
        if (current?.version === write.version) return current;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

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
