/**
 * Scheduled singleton jobs: {@link runExclusive} runs a job only while this caller leads, renews the lease while
 * the job runs, aborts the job's signal the moment leadership is lost, and releases at the end. With a `slot`
 * (the scheduled time of a trigger), at most one *successful* run per (name, slot), across concurrent triggers,
 * repeated deliveries and hosts: the completed slot is kept in the store, beside the lease.
 * @module
 */
import { type Clock, checkClock, type TimerHandle, wallNow } from './clock.js';
import { LeaseholdError } from './errors.js';
import { boundedStoreCall, checkStore, checkStoreLimits, type LeadResult, release, tryLead } from './lead.js';
import { checkHolder, checkLeadOptions, checkRenewInterval, MAX_NAME_LENGTH, RESERVED_NAME_SUFFIX } from './options.js';
import { compareSlotValues, readSlot, type Slot, type SlotValue, slotOutput } from './slot.js';
import type { LeaseRecord, LeaseWrite, Store, StoreCallOptions } from './store.js';
import { LeadershipTerm, type TermEndReason } from './term.js';

export { compareSlots, type Slot } from './slot.js';

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
  const slot = options.slot === undefined ? undefined : readSlot(options.slot);
  if (slot !== undefined && p.name.length > MAX_NAME_LENGTH - SLOT_RECORD_SUFFIX.length) {
    throw new LeaseholdError(
      'INVALID_NAME',
      `with a slot, name must be at most ${MAX_NAME_LENGTH - SLOT_RECORD_SUFFIX.length} characters (its completed slot is kept under name${SLOT_RECORD_SUFFIX})`,
    );
  }
  const renewEveryMs = checkRenewInterval(options.renewEveryMs, 'renewEveryMs', p, s);
  if (typeof job !== 'function') throw new LeaseholdError('INVALID_OPTION', 'job must be a function ({ signal, token, lead }) => result');
  const leadOptions = { name: p.name, holder, ttlMs: p.ttlMs, maxClockSkewMs: p.maxClockSkewMs, clock, ...(p.data !== null ? { data: p.data } : {}) };

  const first = await tryLead(s, leadOptions);
  if (!first.isLeader || !first.stillLeader()) {
    // An answer that came after its own validity (a paused process) carries no authority: give that lease back.
    if (first.isLeader) await first.release().catch(() => false);
    return { ran: false, reason: 'held', leader: first.leader, token: first.token, expiresAt: first.expiresAt, doneSlot: null };
  }
  const slotName = `${p.name}${SLOT_RECORD_SUFFIX}`;
  let slotRecord: LeaseRecord | null = null;
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
  }

  let lost: TermEndReason | undefined;
  const term = new LeadershipTerm(first, clock, (reason) => {
    if (reason !== 'stopped') lost ??= reason;
  });
  const keeper = keepLease(s, leadOptions, term, clock, renewEveryMs);
  let result: T;
  try {
    result = await job({ signal: term.lead.signal, token: first.token, lead: term.lead });
  } catch (error) {
    // A renewal in flight is waited for: one that lands after the release would take the free lease again.
    await keeper.stop();
    term.end('stopped');
    await release(s, { name: p.name, holder, clock }).catch(() => false);
    throw error;
  }
  // Judged at the moment the job returned, on both clocks, not at the next timer: a job that blocked the event loop
  // past its validity is reported `lost` on every store.
  term.check();
  await keeper.stop();
  let slotRecorded = false;
  if (slot !== undefined) {
    slotRecorded = await boundedStoreCall(s, clock, `recording the completed slot of ${p.name}`, (call) =>
      recordSlot(call, slotName, slotRecord, slot, clock, s),
    ).catch(() => false);
  }
  term.end('stopped');
  await release(s, { name: p.name, holder, clock }).catch(() => false);
  return { ran: true, result, token: first.token, lost, slotRecorded };
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
 * Records `slot` as completed in the slot record (compare-and-swap on the state read before the job, so a stale
 * writer cannot move it back); never lowers it. Returns whether the store confirmed it.
 */
async function recordSlot(
  call: <R>(request: (options: StoreCallOptions) => Promise<R>) => Promise<R>,
  name: string,
  seen: LeaseRecord | null,
  slot: SlotValue,
  clock: Clock,
  store: Store,
): Promise<boolean> {
  let current = seen;
  for (let attempt = 0; attempt < 3; attempt++) {
    const done = decodeSlot(current);
    if (done !== null && compareSlotValues(done, slot) >= 0) return true;
    const write: LeaseWrite = {
      name,
      holder: null,
      token: (current?.token ?? 0) + 1,
      acquiredAt: null,
      ttlMs: 0,
      version: globalThis.crypto.randomUUID(),
      data: JSON.stringify({ slot: slotOutput(slot) }),
      clientNow: wallNow(clock),
    };
    try {
      const expected = current?.version;
      const outcome = await call((o) => (expected === undefined ? store.create(write, o) : store.replace(expected, write, o)));
      if (outcome.ok) return true;
      current = outcome.current ?? (await call((o) => store.read(name, o))).record;
    } catch {
      try {
        current = (await call((o) => store.read(name, o))).record;
        if (current?.version === write.version) return true;
      } catch {
        return false;
      }
    }
  }
  return false;
}
