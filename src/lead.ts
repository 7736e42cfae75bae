/**
 * The election, written once: the etcd master elector's get → create → compare-and-swap → extend,
 * with fencing tokens, validity measured on the caller's monotonic clock, and ambiguous-write recovery.
 * @module
 */
import { type Clock, checkClock, markRealTimeDeadline, monotonicNow, systemClock, type TimerHandle, wallNow } from './clock.js';
import { isLeaseholdError, LeaseholdError } from './errors.js';
import { identityOf } from './identity.js';
import { liveSignal } from './live-signal.js';
import {
  checkDuration,
  checkHolder,
  checkLeadOptions,
  checkName,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_STORE_TIMEOUT_MS,
  describeValue,
  isValidVersion,
  MAX_CLOCK_SKEW_MS,
  MAX_TTL_MS,
  MAX_VERSION_LENGTH,
} from './options.js';
import type { LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, StoreCallOptions } from './store.js';

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

/** A new write version from the caller's generator (default `crypto.randomUUID`), checked. */
function newVersion(generate: unknown): string {
  if (generate !== undefined && typeof generate !== 'function') {
    throw new LeaseholdError('INVALID_OPTION', 'newVersion must be a function returning a new, non-empty string at every call; omit it for crypto.randomUUID');
  }
  // The default needs no check: a UUID is short, ASCII and new at every call.
  if (generate === undefined) return globalThis.crypto.randomUUID();
  const version = (generate as () => unknown)();
  // Every store must give the version back exactly as written, or a caller would not recognise its own write.
  if (!isValidVersion(version)) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `newVersion must return a new, non-empty string of at most ${MAX_VERSION_LENGTH} characters, well-formed Unicode without NUL, at every call; got ${describeValue(version)}. Nothing was sent`,
    );
  }
  return version;
}

/** Checks that `store` implements the Store interface; returns it. Throws `INVALID_STORE`. */
export function checkStore(store: unknown): Store {
  const s = store as Partial<Store> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.read !== 'function' ||
    typeof s.create !== 'function' ||
    typeof s.replace !== 'function' ||
    (s.clockSource !== 'store' && s.clockSource !== 'client')
  ) {
    throw new LeaseholdError(
      'INVALID_STORE',
      'store must implement the Store interface (read, create, replace, clockSource); pass e.g. new PostgresStore({ pool })',
    );
  }
  if (s.timeoutMs !== undefined && (typeof s.timeoutMs !== 'number' || !Number.isFinite(s.timeoutMs) || s.timeoutMs <= 0)) {
    throw new LeaseholdError('INVALID_STORE', `store.timeoutMs must be a positive number of milliseconds, or absent; got ${describeValue(s.timeoutMs)}`);
  }
  const identity: unknown = s.identity;
  if (identity !== undefined && ((typeof identity !== 'object' && typeof identity !== 'function') || identity === null)) {
    throw new LeaseholdError(
      'INVALID_STORE',
      `store.identity must be an object (storeIdentity(client, key), or identityOf(inner) in a wrapper), or absent; got ${describeValue(identity)}`,
    );
  }
  return s as Store;
}

/**
 * One library call's bound: every store request of the call shares it, and past it the call fails closed
 * (README safety point 10). The timer runs on the call's clock; the core stops waiting at that moment whatever the
 * store does. The abort signal handed to the store (so its SDK can stop the request too) is made only when the
 * store reads it: a store that takes no signal (`pg`) costs no `AbortController`, listener or event per call.
 */
class CallBound {
  private controller: AbortController | undefined;
  private expired: LeaseholdError | undefined;
  /** Rejects the request in flight (requests of one call run one after another). */
  private stopWaiting: ((reason: unknown) => void) | undefined;
  private readonly timer: TimerHandle;
  /** When the bound runs out on the real clock (`performance.now()`), if the call's clock is the system clock. */
  private readonly realDeadline: number | undefined;
  /** Options to pass to the store; `signal` is made on first read. */
  readonly options: StoreCallOptions;

  constructor(
    private readonly clock: Clock,
    store: Store,
    readonly ms: number,
    what: string,
  ) {
    this.realDeadline = clock === systemClock ? globalThis.performance.now() + ms : undefined;
    this.timer = clock.setTimeout(() => {
      const reason = new LeaseholdError(
        'STORE_UNAVAILABLE',
        `${store.kind} store: ${what} got no answer within ${Math.round(ms)} ms (the call's bound); not leader. Check the store's reachability, or raise the store's timeoutMs`,
      );
      this.expired = reason;
      this.stopWaiting?.(reason);
      this.controller?.abort(reason);
    }, ms);
    this.options = new BoundOptions(this);
  }

  /** The call's signal, made on first read. */
  signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.expired) this.controller.abort(this.expired);
      // Tells the built-in stores' per-request bound (clock.ts `requestBound`) that this signal already aborts in
      // real time, so they need no second timer.
      else if (this.realDeadline !== undefined) markRealTimeDeadline(this.controller.signal, this.realDeadline);
    }
    return this.controller.signal;
  }

  /** Runs one store request, settling no later than the bound. */
  run<T>(request: (options: StoreCallOptions) => Promise<T>): Promise<T> {
    if (this.expired) return Promise.reject(this.expired);
    let pending: Promise<T>;
    try {
      pending = request(this.options);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.stopWaiting = reject;
      pending.then(
        (value) => {
          if (this.stopWaiting === reject) this.stopWaiting = undefined;
          resolve(value);
        },
        (error: unknown) => {
          if (this.stopWaiting === reject) this.stopWaiting = undefined;
          reject(error);
        },
      );
    });
  }

  /** Stops the timer (the call has settled). */
  done(): void {
    this.clock.clearTimeout(this.timer);
  }
}

/** A call's {@link StoreCallOptions}: `signal` is a getter (made on first read), on the prototype for speed. */
class BoundOptions implements StoreCallOptions {
  readonly #bound: CallBound;

  constructor(bound: CallBound) {
    this.#bound = bound;
  }

  get signal(): AbortSignal {
    return this.#bound.signal();
  }
}

/**
 * Runs store requests under one call bound (the store's `timeoutMs`), for the layers above the election (jobs'
 * completed slots): the requests share the bound, and past it the call fails closed with `STORE_UNAVAILABLE`.
 * Not part of the public API.
 */
export async function boundedStoreCall<T>(
  store: Store,
  clock: Clock,
  what: string,
  run: (call: <R>(request: (options: StoreCallOptions) => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<T> {
  const bound = new CallBound(clock, store, storeTimeout(store), what);
  try {
    return await run((request) => bound.run(request));
  } catch (error) {
    throw unavailable(store, what, error);
  } finally {
    bound.done();
  }
}

function storeTimeout(store: Store): number {
  return store.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
}

/**
 * The version of the lease state each holder last saw (its last `tryLead()` result, or its release), per store
 * identity and name, so that a later `release()` by that holder is pinned to exactly that state: a release held by
 * the network and delivered after the holder renewed then changes nothing. Bounded; a forgotten entry only makes a
 * release conditional on the holder alone, as a cold release is.
 */
const seenVersions = new WeakMap<object, Map<string, string>>();
const SEEN_VERSIONS_LIMIT = 1_024;

function seenKey(name: string, holder: string): string {
  return `${name}\n${holder}`;
}

function rememberVersion(identity: object, name: string, holder: string, record: LeaseRecord | null): void {
  let versions = seenVersions.get(identity);
  if (!versions) {
    versions = new Map();
    seenVersions.set(identity, versions);
  }
  const key = seenKey(name, holder);
  if (record === null) {
    versions.delete(key);
    return;
  }
  // Updated in place (a delete and re-insert per call would churn the map's table): the oldest-inserted entry goes first.
  versions.set(key, record.version);
  if (versions.size > SEEN_VERSIONS_LIMIT) {
    const oldest = versions.keys().next();
    if (!oldest.done) versions.delete(oldest.value);
  }
}

/**
 * Results that may still say "leader", per store identity, name and holder, so that a release by this process ends
 * them at once. Each leading result keeps its entry and the generation it was born under; a release moves the entry
 * to a new generation (ending them all) and aborts the signals handed out. Entries whose results have all run out
 * are swept, so the map holds only live leases.
 */
interface Holding {
  generation: object;
  aborts: Set<() => void>;
  /** The latest end of validity (wall clock) of any result born under this entry. */
  untilWall: number;
}
const holdings = new WeakMap<object, { byKey: Map<string, Holding>; sweepAt: number }>();

function holding(identity: object, name: string, holder: string, untilWall: number, nowWall: number): Holding {
  let table = holdings.get(identity);
  if (!table) {
    table = { byKey: new Map(), sweepAt: 64 };
    holdings.set(identity, table);
  }
  const key = seenKey(name, holder);
  let h = table.byKey.get(key);
  if (!h) {
    if (table.byKey.size >= table.sweepAt) {
      for (const [k, entry] of table.byKey) if (entry.untilWall < nowWall && entry.aborts.size === 0) table.byKey.delete(k);
      table.sweepAt = Math.max(64, table.byKey.size * 2);
    }
    h = { generation: {}, aborts: new Set(), untilWall };
    table.byKey.set(key, h);
  }
  h.untilWall = Math.max(h.untilWall, untilWall);
  return h;
}

/** Ends every result of `holder` for `name` on the store `identity` in this process: a release is under way (fail-safe). */
function endResults(identity: object, name: string, holder: string): void {
  const table = holdings.get(identity);
  const key = seenKey(name, holder);
  const h = table?.byKey.get(key);
  if (!table || !h) return;
  table.byKey.delete(key);
  h.generation = {};
  const aborts = [...h.aborts];
  h.aborts.clear();
  for (const abort of aborts) abort();
}

/**
 * Warm holders' last results, per store identity and name (see `renewBelow`): only results that lead, with the
 * options they were won with. Any fresh answer for the name replaces or clears the entry; so do a release and a failed
 * call. Bounded; a forgotten entry only costs a request.
 */
interface WarmEntry {
  holder: string;
  ttlMs: number;
  maxClockSkewMs: number;
  data: string | null;
  result: Result;
}
const warm = new WeakMap<object, Map<string, WarmEntry>>();
const WARM_LIMIT = 1_024;

function setWarm(identity: object, name: string, entry: WarmEntry | undefined): void {
  let byName = warm.get(identity);
  if (!byName) {
    if (!entry) return;
    byName = new Map();
    warm.set(identity, byName);
  }
  byName.delete(name);
  if (!entry) return;
  byName.set(name, entry);
  if (byName.size > WARM_LIMIT) {
    const oldest = byName.keys().next();
    if (!oldest.done) byName.delete(oldest.value);
  }
}

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

/** Refuses a lease shorter than the store sustains (e.g. Firestore's one write per second per document). */
export function checkStoreLimits(store: Store, ttlMs: number): void {
  const min = store.limits?.minTtlMs;
  if (min !== undefined && ttlMs < min) {
    throw new LeaseholdError(
      'INVALID_TTL',
      `${store.kind} store: ttlMs must be at least ${min} ms (got ${ttlMs}): the database sustains about one write every ${store.limits?.minWriteIntervalMs} ms per lease, and a leader renews every ttlMs / 3; use ttlMs of 15000 or more`,
    );
  }
}

function unavailable(store: Store, what: string, cause: unknown): LeaseholdError {
  if (isLeaseholdError(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new LeaseholdError('STORE_UNAVAILABLE', `${store.kind} store: ${what} failed (${detail}); not leader. Retry on the next invocation or poll.`, {
    cause,
  });
}

/**
 * Whether `record` is held by someone now, judged the way the store's clock model says: by the store's
 * clock where it has one, otherwise by the caller's clock after waiting out the skew bound (README safety point 3).
 */
export function isLive(
  clockSource: Store['clockSource'],
  record: LeaseRecord,
  storeNow: number | undefined,
  clientNow: number,
  maxClockSkewMs: number,
): boolean {
  if (record.holder === null) return false;
  if (clockSource === 'store') {
    if (storeNow === undefined) throw new LeaseholdError('STORE_CORRUPT', 'a store that judges expiry by its own clock returned no time');
    return storeNow < record.expiresAt;
  }
  return clientNow <= record.expiresAt + maxClockSkewMs;
}

/** What one claim attempt should do to the current record (the pure step of the election). */
export type ClaimPlan =
  | { action: 'create'; token: 1; acquiredAt: null }
  | { action: 'renew'; token: number; acquiredAt: number }
  | { action: 'takeover'; token: number; acquiredAt: null }
  | { action: 'refuse' };

/**
 * The election's decision, written once: create when absent, renew when mine and live, take over
 * (token + 1) when released or expired (this holder's own expired lease included), otherwise refuse. Stores with a fused claim express the same rule in their
 * own language (SQL, a condition expression); the conformance suite checks that they agree.
 */
export function planClaim(
  clockSource: Store['clockSource'],
  current: LeaseRecord | null,
  holder: string,
  storeNow: number | undefined,
  clientNow: number,
  maxClockSkewMs: number,
): ClaimPlan {
  if (current === null) return { action: 'create', token: 1, acquiredAt: null };
  const live = isLive(clockSource, current, storeNow, clientNow, maxClockSkewMs);
  if (current.holder === holder && live) return { action: 'renew', token: current.token, acquiredAt: current.acquiredAt };
  // Released, expired, or this holder's own lease that ran out: a new term with a larger token. A holder
  // whose lease lapsed may have an earlier run still writing (a paused process with the same id), and
  // the new token fences it off.
  if (!live) return { action: 'takeover', token: current.token + 1, acquiredAt: null };
  return { action: 'refuse' };
}

function makeResult(
  clock: Clock,
  record: LeaseRecord | null,
  leading: boolean,
  startMono: number,
  startWall: number,
  windowMs: number,
  live: boolean,
  store: Store,
  name: string,
  holder: string,
): Result {
  const validUntil = leading ? startMono + windowMs : startMono;
  const validUntilWall = leading ? startWall + windowMs : startWall;
  const shown = live && record !== null;
  let held: Holding | undefined;
  let remainingMs: (() => number) | undefined;
  if (leading) {
    // A release by this process ends this result at once (README: results of a released lease stop leading).
    const h = holding(identityOf(store), name, holder, validUntilWall, startWall);
    const bornUnder = h.generation;
    held = h;
    // README safety point 1: re-check both clocks each time; a frozen machine may stop one while the other runs on.
    remainingMs = () => {
      if (h.generation !== bornUnder) return 0;
      const left = Math.min(validUntil - clock.monotonic(), validUntilWall - clock.now());
      // A clock that stops returning numbers ends validity: fail closed, never NaN.
      return Number.isFinite(left) && left > 0 ? left : 0;
    };
  }
  return new Result(
    leading,
    shown ? record.holder : null,
    record?.token ?? 0,
    record?.expiresAt ?? 0,
    shown ? record.acquiredAt : null,
    shown ? record.data : null,
    validUntil,
    validUntilWall,
    clock,
    held,
    remainingMs,
    leading ? () => release(store, { name, holder, clock }) : undefined,
  );
}

const NOT_LEADER = () => 0;
const NOT_RELEASED = () => Promise.resolve(false);

/**
 * A {@link LeadResult}. A class, not an object literal with a getter (which V8 builds an order of magnitude more
 * slowly): its methods are still closures, so they keep working when passed around unbound; its `signal` is made
 * on first read (most callers never read it).
 */
class Result implements LeadResult {
  readonly stillLeader: () => boolean;
  declare readonly fromMemory?: boolean;
  // Private (#), so a result's own keys are only what LeadResult declares.
  readonly #clock: Clock;
  readonly #held: Holding | undefined;
  readonly #original: LeadResult | undefined;
  #signal: AbortSignal | undefined;

  constructor(
    readonly isLeader: boolean,
    readonly leader: string | null,
    readonly token: number,
    readonly expiresAt: number,
    readonly acquiredAt: number | null,
    readonly data: string | null,
    readonly validUntil: number,
    readonly validUntilWall: number,
    clock: Clock,
    held: Holding | undefined,
    readonly remainingMs: () => number = NOT_LEADER,
    readonly release: () => Promise<boolean> = NOT_RELEASED,
    original?: LeadResult,
  ) {
    this.#clock = clock;
    this.#held = held;
    this.#original = original;
    this.stillLeader = isLeader ? () => remainingMs() > 0 : NOT_LEADING;
    if (original) (this as { fromMemory?: boolean }).fromMemory = true;
  }

  /**
   * This result again, marked as answered from memory (a warm holder's, see `renewBelow`); its validity is this
   * one's, re-checked at each call. Internal to leasehold.
   */
  again(): LeadResult {
    return new Result(
      true,
      this.leader,
      this.token,
      this.expiresAt,
      this.acquiredAt,
      this.data,
      this.validUntil,
      this.validUntilWall,
      this.#clock,
      undefined,
      this.remainingMs,
      this.release,
      this,
    );
  }

  get signal(): AbortSignal {
    if (!this.#signal) this.#signal = this.#original ? this.#original.signal : expirySignal(this.#clock, this.remainingMs, this.#held);
    return this.#signal;
  }
}

const NOT_LEADING = () => false;

/** An AbortSignal that fires once `remainingMs()` reaches zero (re-checking on each wake-up), or at once on a release. */
function expirySignal(clock: Clock, remainingMs: () => number, held: Holding | undefined): AbortSignal {
  const controller = new AbortController();
  let timer: TimerHandle | undefined;
  const abort = () => {
    if (timer !== undefined) clock.clearTimeout(timer);
    held?.aborts.delete(abort);
    try {
      controller.abort(new LeaseholdError('LEASE_EXPIRED', 'not leader, or its validity ran out (or it was released): stop acting as leader'));
    } catch {
      // A Worker refuses to touch a signal made while serving another request: stillLeader() still says false.
    }
  };
  const check = () => {
    timer = undefined;
    const left = remainingMs();
    if (left <= 0) abort();
    // Wake up at least every second so a wall-clock jump is noticed promptly.
    else timer = clock.setTimeout(check, Math.min(left, 1_000));
  };
  held?.aborts.add(abort);
  check();
  // Read after a synchronous block longer than the lease, the signal says aborted at once, not at the next timer.
  return liveSignal(controller, () => {
    if (remainingMs() <= 0) abort();
  });
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
  const id = identityOf(s);
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
    const entry = warm.get(id)?.get(p.name);
    if (entry && entry.holder === p.holder && entry.ttlMs === p.ttlMs && entry.maxClockSkewMs === p.maxClockSkewMs && entry.data === p.data) {
      // Re-checked now, on both clocks (a frozen Lambda or a paused VM finds it run out), and against releases.
      if (entry.result.remainingMs() > renewBelow * windowMs) return entry.result.again();
    }
  }
  const result = (record: LeaseRecord | null, storeNow: number | undefined) => {
    const leading = record !== null && record.version === version && record.holder === p.holder;
    const live = leading || (record !== null && isLive(s.clockSource, record, storeNow, startWall, p.maxClockSkewMs));
    rememberVersion(id, p.name, p.holder, record);
    const made = makeResult(clock, record, leading, startMono, startWall, windowMs, live, s, p.name, p.holder);
    // Every fresh answer for this name (an Elector's included) replaces what a warm holder may answer from memory.
    // Entries are made only by calls with renewBelow (the others need none, and a missing entry costs one request).
    if (renewBelow !== undefined || warm.get(id)?.has(p.name)) {
      setWarm(id, p.name, leading ? { holder: p.holder, ttlMs: p.ttlMs, maxClockSkewMs: p.maxClockSkewMs, data: p.data, result: made } : undefined);
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
    setWarm(id, p.name, undefined);
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
    // which `result` recognises by the version (README safety point 4).
    if (outcome.current) return result(outcome.current, outcome.now);
    const again = await bound.run((o) => s.read(p.name, o));
    return result(again.record, again.now);
  } catch (error) {
    return result(...(await recoverAmbiguous(s, p.name, version, error, bound)));
  }
}

/**
 * A write whose answer was lost may or may not have applied. Read back (within the same bound): if the record
 * carries this attempt's version, the write applied and the caller leads (validity still counts from the
 * send); otherwise it did not. If even the read fails, or the bound ran out, fail closed.
 */
async function recoverAmbiguous(
  store: Store,
  name: string,
  version: string,
  error: unknown,
  bound: CallBound,
): Promise<[LeaseRecord | null, number | undefined]> {
  if (isLeaseholdError(error) && error.code !== 'STORE_UNAVAILABLE') throw error;
  let read: ReadResult;
  try {
    read = await bound.run((o) => store.read(name, o));
  } catch {
    throw unavailable(store, 'write (and the read-back that would resolve it)', error);
  }
  if (read.record?.version === version) return [read.record, read.now];
  throw unavailable(store, 'write', error);
}

/** The call's options plus the version a release is pinned to; the signal is still made only if the store reads it. */
function withExpectedVersion(options: StoreCallOptions, expectedVersion: string): ReleaseCallOptions {
  return new PinnedReleaseOptions(options, expectedVersion);
}

class PinnedReleaseOptions implements ReleaseCallOptions {
  readonly #options: StoreCallOptions;

  constructor(
    options: StoreCallOptions,
    readonly expectedVersion: string,
  ) {
    this.#options = options;
  }

  get signal(): AbortSignal | undefined {
    return this.#options.signal;
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
  const s = checkStore(store);
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', 'options must be an object like { name, holder }');
  }
  const name = checkName(options.name);
  const holder = checkHolder(options.holder);
  const clock = checkClock(options.clock);
  const version = newVersion(options.newVersion);
  const clientNow = wallNow(clock);
  monotonicNow(clock); // checked too: a clock with either half broken is refused before anything is sent
  // The state this holder last saw, if this process saw one: the release gives up exactly that (README safety
  // point 4), so a release that the network delivers after the same holder renewed changes nothing.
  const id = identityOf(s);
  const expectedVersion = seenVersions.get(id)?.get(seenKey(name, holder));
  // From now on this holder gives the lease up: its results in this process stop leading, whatever the answer.
  endResults(id, name, holder);
  setWarm(id, name, undefined);
  const released = (record: LeaseRecord | null) => {
    const done = record !== null && record.version === version && record.holder === null;
    if (done) rememberVersion(id, name, holder, record);
    return done;
  };
  const bound = new CallBound(clock, s, storeTimeout(s), `release(${name})`);
  try {
    const { releaseHolder } = s;
    if (releaseHolder) {
      const { record } = await bound.run((o) =>
        releaseHolder.call(s, name, holder, version, clientNow, expectedVersion === undefined ? o : withExpectedVersion(o, expectedVersion)),
      );
      return released(record);
    }
    const { record } = await bound.run((o) => s.read(name, o));
    if (record === null || record.holder !== holder) return false;
    if (expectedVersion !== undefined && record.version !== expectedVersion) return false;
    const outcome = await bound.run((o) =>
      s.replace(record.version, { name, holder: null, token: record.token, acquiredAt: record.acquiredAt, ttlMs: 0, version, data: null, clientNow }, o),
    );
    return released(outcome.ok ? outcome.record : outcome.current);
  } catch (error) {
    const [record] = await recoverAmbiguous(s, name, version, error, bound);
    return released(record);
  } finally {
    bound.done();
  }
}

/** Options of {@link handOver}. */
export interface HandOverOptions {
  /** Election name. */
  name: string;
  /** The holder handing over; nothing happens unless it holds the lease. */
  holder: string;
  /** The named successor: the only contender that may claim the lease during the window. Must differ from `holder`. */
  successor: string;
  /**
   * How long the lease stays reserved for `successor`, in ms (at least 1, at most 7 days). Give it at least the
   * successor's poll interval, so that it claims in time even when no push wakes it. Past the window, anyone may claim.
   */
  windowMs: number;
  /** Clock (default: the system clock). */
  clock?: Clock;
  /** Id generator for write versions (default `crypto.randomUUID`). */
  newVersion?: () => string;
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
  const s = checkStore(store);
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', 'options must be an object like { name, holder, successor, windowMs }');
  }
  const name = checkName(options.name);
  const holder = checkHolder(options.holder);
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
  const clock = checkClock(options.clock);
  const version = newVersion(options.newVersion);
  const clientNow = wallNow(clock);
  monotonicNow(clock);
  const id = identityOf(s);
  const expectedVersion = seenVersions.get(id)?.get(seenKey(name, holder));
  // From now on this holder gives the lease up (as release() does): its results here stop leading, whatever the answer.
  endResults(id, name, holder);
  setWarm(id, name, undefined);
  const handed = (record: LeaseRecord | null) => {
    const done = record !== null && record.version === version && record.holder === successor;
    // The holder's last seen state is gone either way: a later release of its own must not touch the successor's.
    rememberVersion(id, name, holder, null);
    return done;
  };
  const bound = new CallBound(clock, s, storeTimeout(s), `handOver(${name})`);
  try {
    const { record } = await bound.run((o) => s.read(name, o));
    if (record === null || record.holder !== holder) return false;
    if (expectedVersion !== undefined && record.version !== expectedVersion) return false;
    // A new term for the successor (token + 1, acquiredAt stamped now): every change of holder raises the token.
    const write: LeaseWrite = { name, holder: successor, token: record.token + 1, acquiredAt: null, ttlMs: windowMs, version, data: null, clientNow };
    const outcome = await bound.run((o) => s.replace(record.version, write, o));
    if (!outcome.ok && outcome.current?.version === record.version && outcome.current.holder === holder) {
      // The store refused the change of holder itself (an older store that does not take handovers) while this
      // holder still holds the lease, unchanged: release it instead, so that it is not left held by a holder that
      // no longer acts on it. Anyone may then claim; reported as not handed over.
      const released = await bound.run((o) =>
        s.replace(record.version, { ...write, holder: null, token: record.token, acquiredAt: record.acquiredAt, ttlMs: 0 }, o),
      );
      handed(released.ok ? released.record : released.current);
      return false;
    }
    return handed(outcome.ok ? outcome.record : outcome.current);
  } catch (error) {
    const [record] = await recoverAmbiguous(s, name, version, error, bound);
    return handed(record);
  } finally {
    bound.done();
  }
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
  const id = identityOf(s);
  const entry = warm.get(id)?.get(name);
  if (entry && (r?.holder !== entry.holder || r?.token !== entry.result.token)) setWarm(id, name, undefined);
  if (r === null || r.holder === null || !isLive(s.clockSource, r, read.now, clientNow, skew)) return null;
  return { holder: r.holder, token: r.token, acquiredAt: r.acquiredAt, expiresAt: r.expiresAt, data: r.data };
}
