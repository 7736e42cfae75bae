/**
 * The election, written once: the etcd master elector's get → create → compare-and-swap → extend, with fencing
 * tokens, validity measured on the caller's monotonic clock, and ambiguous-write recovery: `tryLead`, `release`,
 * `handOver` and `getLeader`. The rule itself is in `rule.ts`, the call bound in `call-bound.ts`, this process's
 * memory of each lease in `lease-memory.ts`, the result objects in `result.ts`.
 * @module
 */

import { CallBound, recoverAmbiguous, storeTimeout, unavailable, withExpectedVersion } from './call-bound.js';
import { type Clock, checkClock, monotonicNow, wallNow } from './clock.js';
import { LeaseholdError } from './errors.js';
import { checkGiver, GivingUp } from './giving-up.js';
import { identityOf } from './identity.js';
import { leaseMemory } from './lease-memory.js';
import { checkDuration, checkHolder, checkLeadOptions, checkName, DEFAULT_MAX_CLOCK_SKEW_MS, describeValue, MAX_CLOCK_SKEW_MS, MAX_TTL_MS } from './options.js';
import { makeResult } from './result.js';
import { isLive, planClaim } from './rule.js';
import type { LeaseRecord, LeaseWrite, ReadResult, Store } from './store.js';
import { checkStore, checkStoreLimits } from './store-checks.js';
import { newVersion } from './write-version.js';

/** Options of {@link tryLead}. */
export interface TryLeadOptions {
  /** Election name: 1-128 characters from `A-Z a-z 0-9 _ . : @ -`. */
  name: string;
  /** This contender's id, unique per process or invocation (e.g. `host:pid`, a Lambda request id). */
  holder: string;
  /** Lease length in ms. Default 15 000. Must exceed `maxClockSkewMs`; at most 7 days. */
  ttlMs?: number;
  /**
   * Clock-skew margin in ms (default 1 000). Subtracted from the validity window; on client-clock stores
   * (DynamoDB) a contender also waits `expiresAt + maxClockSkewMs` before taking over.
   */
  maxClockSkewMs?: number;
  /** Optional payload stored with the lease while this holder holds it (at most 16 384 characters). */
  data?: string;
  /** Clock (default: the system clock). */
  clock?: Clock;
  /** Id generator for write versions (default `crypto.randomUUID`). Each call must return a new value. */
  newVersion?: () => string;
  /**
   * Answers a warm holder from memory: while this process's last result for `name` says this holder leads with
   * more than this share of its validity window left (0 < share < 1, e.g. `0.5`), `tryLead()` returns that result
   * again with no request (`fromMemory: true`); below it, it renews (one round trip). Default: off (every call
   * writes). Validity is re-checked on both clocks at each call; a release, a failed or lost renewal, or any result
   * for `name` showing another holder clears it, and followers are never answered from memory.
   */
  renewBelow?: number;
}

/** What {@link tryLead} found or did. */
export interface LeadResult {
  /** True when this caller holds the lease now. Act only while {@link remainingMs} is above zero. */
  readonly isLeader: boolean;
  /** The current holder (this caller when leader), or `null` when nobody holds it. */
  readonly leader: string | null;
  /** The current holder's fencing token (`0` when the name was never claimed). Pass it to the work you fence. */
  readonly token: number;
  /** When the lease runs out unless renewed (epoch ms, on the judging clock). */
  readonly expiresAt: number;
  /** When the current holder acquired the lease (epoch ms), or `null`. */
  readonly acquiredAt: number | null;
  /** Stored payload of the current holder. */
  readonly data: string | null;
  /**
   * End of validity on this caller's monotonic clock (`clock.monotonic()`): the moment the request was
   * sent, plus `ttlMs`, minus `maxClockSkewMs`. Equal to the start for followers.
   */
  readonly validUntil: number;
  /** The same end of validity on the wall clock (epoch ms); validity ends at the earlier of the two. */
  readonly validUntilWall: number;
  /** Milliseconds this caller may still act as leader, re-checked on both clocks at each call (0 for followers). */
  remainingMs(): number;
  /** True while {@link remainingMs} is above zero. */
  stillLeader(): boolean;
  /** Aborts when validity runs out (already aborted for followers). Pass it to the work you do as leader. */
  readonly signal: AbortSignal;
  /** True when no request was sent: a warm holder's earlier result, answered from memory (see `renewBelow`). */
  readonly fromMemory?: boolean;
  /**
   * Gives this lease up, as {@link release} does for this result's store, name and holder (a follower's result
   * sends nothing and returns `false`). From the moment it is called, this result and every other result of the
   * same holder for this name in this process stop saying {@link stillLeader}, and their signals abort, whatever
   * the store answers.
   */
  release(): Promise<boolean>;
}

/** Checks `renewBelow`: a share of the validity window strictly between 0 and 1, or `undefined` (off). */
function checkRenewBelow(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `renewBelow must be a share of the validity window between 0 and 1 (e.g. 0.5: renew once less than half is left), or omitted to renew at every call; got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Claims the lease `name` if it is absent, released or expired (a new term: a larger token, even when the
 * expired lease was `holder`'s own); extends it, keeping the token, if `holder` holds it and it is live;
 * otherwise reports who does. One conditional write (one round trip on stores with a fused claim).
 *
 * Validity is measured from the moment the first request was sent, on this caller's monotonic clock,
 * for `ttlMs - maxClockSkewMs`, and ends earlier if the wall clock says so.
 * Throws a {@link LeaseholdError} on bad input (nothing is written) or when the store fails (fail closed).
 * @example
 * const lead = await tryLead(store, { name: 'nightly-report', holder: context.awsRequestId, ttlMs: 60_000 })
 * if (lead.isLeader) await runReport({ fencingToken: lead.token, signal: lead.signal })
 */
export async function tryLead(store: Store, options: TryLeadOptions): Promise<LeadResult> {
  const s = checkStore(store);
  // This process's memory of the lease is keyed by the store's identity (DESIGN rule "One identity per lease table").
  const memory = leaseMemory(identityOf(s));
  const p = checkLeadOptions(options);
  checkStoreLimits(s, p.ttlMs);
  const clock = checkClock(options.clock);
  const version = newVersion(options.newVersion);
  const renewBelow = checkRenewBelow(options.renewBelow);
  const windowMs = p.ttlMs - p.maxClockSkewMs;
  // Sampled before the first request is sent: every validity bound below counts from here. Checked values:
  // a clock that returns a string, NaN or a bigint would stamp a lease nobody can ever take over.
  const startMono = monotonicNow(clock);
  const startWall = wallNow(clock);
  if (renewBelow !== undefined) {
    const entry = memory.warmEntry(p.name);
    if (entry && entry.holder === p.holder && entry.ttlMs === p.ttlMs && entry.maxClockSkewMs === p.maxClockSkewMs && entry.data === p.data) {
      // Re-checked now, on both clocks (a frozen Lambda or a paused VM finds it run out), and against releases.
      if (entry.result.remainingMs() > renewBelow * windowMs) return entry.result.again();
    }
  }
  const result = (record: LeaseRecord | null, storeNow: number | undefined) => {
    const leading = record !== null && record.version === version && record.holder === p.holder;
    const live = leading || (record !== null && isLive(s.clockSource, record, storeNow, startWall, p.maxClockSkewMs));
    memory.rememberVersion(p.name, p.holder, record);
    // A release by this process ends a leading result at once (README: results of a released lease stop leading).
    const held = leading ? memory.holding(p.name, p.holder, startWall + windowMs, startWall) : undefined;
    const giveUp = leading ? () => release(s, { name: p.name, holder: p.holder, clock }) : undefined;
    const made = makeResult(clock, record, startMono, startWall, windowMs, live, held, giveUp);
    // Every fresh answer for this name (an Elector's included) replaces what a warm holder may answer from memory.
    // Entries are made only by calls with renewBelow (the others need none, and a missing entry costs one request).
    if (renewBelow !== undefined || memory.hasWarm(p.name)) {
      memory.setWarm(p.name, leading ? { holder: p.holder, ttlMs: p.ttlMs, maxClockSkewMs: p.maxClockSkewMs, data: p.data, result: made } : undefined);
    }
    return made;
  };
  // Every request of this claim, the read-back of an ambiguous write included, shares one bound: the
  // validity window (an answer after it wins nothing usable), or the store's timeout if shorter.
  const bound = new CallBound(clock, s, Math.min(windowMs, storeTimeout(s)), `tryLead(${p.name})`);
  try {
    return await claimWithin(s, p, version, startWall, bound, result);
  } catch (error) {
    // A failed or lost renewal: nothing is answered from memory until a fresh answer says who leads.
    memory.setWarm(p.name, undefined);
    throw error;
  } finally {
    bound.done();
  }
}

async function claimWithin(
  s: Store,
  p: ReturnType<typeof checkLeadOptions>,
  version: string,
  startWall: number,
  bound: CallBound,
  result: (record: LeaseRecord | null, storeNow: number | undefined) => LeadResult,
): Promise<LeadResult> {
  const { claim } = s;
  if (claim) {
    try {
      const { record, now } = await bound.run((o) =>
        claim.call(s, { name: p.name, holder: p.holder, ttlMs: p.ttlMs, version, data: p.data, clientNow: startWall, maxClockSkewMs: p.maxClockSkewMs }, o),
      );
      return result(record, now);
    } catch (error) {
      return result(...(await recoverAmbiguous(s, p.name, version, error, bound)));
    }
  }

  let read: ReadResult;
  try {
    read = await bound.run((o) => s.read(p.name, o));
  } catch (error) {
    throw unavailable(s, 'read', error);
  }
  const current = read.record;
  const plan = planClaim(s.clockSource, current, p.holder, read.now, startWall, p.maxClockSkewMs);
  if (plan.action === 'refuse') return result(current, read.now);
  const write: LeaseWrite = {
    name: p.name,
    holder: p.holder,
    token: plan.token,
    acquiredAt: plan.acquiredAt,
    ttlMs: p.ttlMs,
    version,
    data: p.data,
    clientNow: startWall,
  };
  try {
    const outcome = await bound.run((o) => (current === null ? s.create(write, o) : s.replace(current.version, write, o)));
    if (outcome.ok) return result(outcome.record, outcome.now);
    // Condition failed: someone else wrote first, or a retry met this attempt's own earlier success,
    // which `result` recognises by the version (README safety: "Lost answers and late writes").
    if (outcome.current) return result(outcome.current, outcome.now);
    const again = await bound.run((o) => s.read(p.name, o));
    return result(again.record, again.now);
  } catch (error) {
    return result(...(await recoverAmbiguous(s, p.name, version, error, bound)));
  }
}

/** Options of {@link release}. */
export interface ReleaseOptions {
  /** Election name. */
  name: string;
  /** The holder releasing; nothing happens unless it holds the lease. */
  holder: string;
  /** Clock (default: the system clock). */
  clock?: Clock;
  /** Id generator for write versions (default `crypto.randomUUID`). */
  newVersion?: () => string;
}

/**
 * Gives the lease up so the next contender takes it at once. Conditional on `holder` holding it;
 * keeps the token, so the next holder's token is still larger. Returns true when this call released it.
 * @example
 * await release(store, { name: 'nightly-report', holder: context.awsRequestId })
 */
export async function release(store: Store, options: ReleaseOptions): Promise<boolean> {
  const [s, name, holder] = checkGiver(store, options, '{ name, holder }');
  const g = new GivingUp(s, name, holder, options);
  const { version, expectedVersion } = g;
  const released = (record: LeaseRecord | null) => {
    const done = record !== null && record.version === version && record.holder === null;
    if (done) g.memory.rememberVersion(name, holder, record);
    return done;
  };
  return g.within(
    'release',
    async (bound) => {
      const { releaseHolder } = s;
      if (releaseHolder) {
        const { record } = await bound.run((o) =>
          releaseHolder.call(s, name, holder, version, g.clientNow, expectedVersion === undefined ? o : withExpectedVersion(o, expectedVersion)),
        );
        return released(record);
      }
      const record = await g.readHeld(bound);
      if (record === null) return false;
      const outcome = await bound.run((o) => s.replace(record.version, g.releaseWrite(record), o));
      return released(outcome.ok ? outcome.record : outcome.current);
    },
    released,
  );
}

/** Options of {@link handOver}: those of {@link release}, and the successor and its window. */
export interface HandOverOptions extends ReleaseOptions {
  /** The holder handing over; nothing happens unless it holds the lease. */
  holder: string;
  /** The named successor: the only contender that may claim the lease during the window. Must differ from `holder`. */
  successor: string;
  /**
   * How long the lease stays reserved for `successor`, in ms (at least 1, at most 7 days). Give it at least the
   * successor's poll interval, so that it claims in time even when no push wakes it. Past the window, anyone may claim.
   */
  windowMs: number;
}

/**
 * Hands the lease to a named successor: ends this holder's term and writes the lease as held by `successor` for
 * `windowMs`, with a new term's token (token + 1), so that every other contender is refused until the window ends
 * and the successor's next claim, seen by the rule as a renewal of its own live lease, keeps that token and earns a
 * full lease. If the successor does not claim within the window, the reservation runs out like any lease and anyone
 * may claim. No store needs a rule of its own: it is one compare-and-swap ({@link Store.replace}) pinned to the
 * state this holder last saw, so a late handover changes nothing newer; stores with {@link Store.watch} wake the
 * successor at once (Postgres notifies in the same statement).
 *
 * As with {@link release}, every result of `holder` for `name` in this process stops leading the moment this is
 * called, whatever the store answers. Returns true when this call handed the lease over; false when `holder` did
 * not hold it (nothing written).
 * @example
 * await handOver(store, { name: 'singleton', holder: me, successor: 'pod-b', windowMs: 2_000 })
 */
export async function handOver(store: Store, options: HandOverOptions): Promise<boolean> {
  const [s, name, holder] = checkGiver(store, options, '{ name, holder, successor, windowMs }');
  const successor = checkHolder(options.successor);
  if (successor === holder) {
    throw new LeaseholdError(
      'INVALID_HOLDER',
      `successor must name another contender than the holder handing over (both are ${JSON.stringify(holder)}); nothing was sent`,
    );
  }
  if (options.windowMs === undefined) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      'windowMs is required: how long the lease stays reserved for the successor (e.g. its poll interval); nothing was sent',
    );
  }
  const windowMs = checkDuration(options.windowMs, 'windowMs', 0, MAX_TTL_MS, 1);
  // From now on this holder gives the lease up (as release() does): its results here stop leading, whatever the answer.
  const g = new GivingUp(s, name, holder, options);
  const { version, clientNow } = g;
  const handed = (record: LeaseRecord | null) => {
    const done = record !== null && record.version === version && record.holder === successor;
    // The holder's last seen state is gone either way: a later release of its own must not touch the successor's.
    g.memory.rememberVersion(name, holder, null);
    return done;
  };
  return g.within(
    'handOver',
    async (bound) => {
      const record = await g.readHeld(bound);
      if (record === null) return false;
      // A new term for the successor (token + 1, acquiredAt stamped now): every change of holder raises the token.
      const write: LeaseWrite = { name, holder: successor, token: record.token + 1, acquiredAt: null, ttlMs: windowMs, version, data: null, clientNow };
      const outcome = await bound.run((o) => s.replace(record.version, write, o));
      if (!outcome.ok && outcome.current?.version === record.version && outcome.current.holder === holder) {
        // The store refused the change of holder itself (an older store that does not take handovers) while this
        // holder still holds the lease, unchanged: release it instead, so that it is not left held by a holder that
        // no longer acts on it. Anyone may then claim; reported as not handed over.
        const released = await bound.run((o) => s.replace(record.version, g.releaseWrite(record), o));
        handed(released.ok ? released.record : released.current);
        return false;
      }
      return handed(outcome.ok ? outcome.record : outcome.current);
    },
    handed,
  );
}

/** The current holder, as {@link getLeader} reports it. */
export interface LeaderInfo {
  /** The current holder's id. */
  holder: string;
  /** Its fencing token. */
  token: number;
  /** When it acquired the lease (epoch ms, on the judging clock). */
  acquiredAt: number;
  /** When the lease runs out unless renewed (epoch ms, on the judging clock). */
  expiresAt: number;
  /** The payload it stored with the lease, or `null`. */
  data: string | null;
}

/** Options of {@link getLeader}. */
export interface GetLeaderOptions {
  /** Skew margin for client-clock stores (default 1 000 ms): a lease counts as held until `expiresAt + maxClockSkewMs`. */
  maxClockSkewMs?: number;
  /** Clock (default: the system clock). */
  clock?: Clock;
}

/**
 * Who holds `name` now, or `null` when nobody does (never claimed, released or expired).
 * One strongly consistent read; writes nothing.
 * @example
 * const leader = await getLeader(store, 'nightly-report')
 */
export async function getLeader(store: Store, name: string, options: GetLeaderOptions = {}): Promise<LeaderInfo | null> {
  const s = checkStore(store);
  checkName(name);
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', 'getLeader options must be an object like { maxClockSkewMs, clock }, or omitted');
  }
  const skew = checkDuration(options.maxClockSkewMs, 'maxClockSkewMs', DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS);
  const clock = checkClock(options.clock);
  const clientNow = wallNow(clock);
  monotonicNow(clock);
  let read: ReadResult;
  const bound = new CallBound(clock, s, storeTimeout(s), `getLeader(${name})`);
  try {
    read = await bound.run((o) => s.read(name, o));
  } catch (error) {
    throw unavailable(s, 'read', error);
  } finally {
    bound.done();
  }
  const r = read.record;
  // A takeover seen by this process: a warm holder of this name may no longer answer from memory.
  const memory = leaseMemory(identityOf(s));
  const entry = memory.warmEntry(name);
  if (entry && (r?.holder !== entry.holder || r?.token !== entry.result.token)) memory.setWarm(name, undefined);
  if (r === null || r.holder === null || !isLive(s.clockSource, r, read.now, clientNow, skew)) return null;
  return { holder: r.holder, token: r.token, acquiredAt: r.acquiredAt, expiresAt: r.expiresAt, data: r.data };
}
