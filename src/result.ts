/**
 * The answer of a claim: {@link Result}, the `LeadResult` that `tryLead()` returns, built from one record of named
 * fields; its validity, re-checked on both clocks at each call; and its signal, which aborts when the validity runs
 * out or the lease is released in this process. No SDK, no `node:` module.
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';
import { LeaseholdError } from './errors.js';
import { liveSignal } from './live-signal.js';
import type { LeaseRecord } from './store.js';

/**
 * What the leading results of one holder for one name are born under, kept in this process's memory of the lease
 * (`lease-memory.ts`): a release moves it to a new generation, which ends every result born under the old one, and
 * runs the aborts of the signals handed out.
 */
export interface Holding {
  generation: object;
  aborts: Set<() => void>;
  /** The latest end of validity (wall clock) of any result born under this entry. */
  untilWall: number;
}

/** The fields of a {@link Result}, named (see `LeadResult` in `lead.ts` for what each means to a caller). */
export interface ResultFields {
  /** True when this caller holds the lease now. */
  isLeader: boolean;
  /** The current holder, or `null`. */
  leader: string | null;
  /** The current holder's fencing token (`0` when never claimed). */
  token: number;
  /** When the lease runs out unless renewed (epoch ms, on the judging clock). */
  expiresAt: number;
  /** When the current holder acquired the lease (epoch ms), or `null`. */
  acquiredAt: number | null;
  /** Stored payload of the current holder. */
  data: string | null;
  /** End of validity on the caller's monotonic clock. */
  validUntil: number;
  /** End of validity on the wall clock (epoch ms). */
  validUntilWall: number;
  /** The clock the result's signal runs its timers on. */
  clock: Clock;
  /** The holding a leading result is born under (a release in this process ends it); none for followers. */
  held: Holding | undefined;
  /** Milliseconds left (default: always 0, for followers). */
  remainingMs?: () => number;
  /** Gives the lease up (default: sends nothing, resolves `false`). */
  release?: () => Promise<boolean>;
  /** The result this one repeats, answered from memory (`fromMemory: true`): its signal is that result's. */
  original?: Result;
}

const NOT_LEADER = () => 0;
const NOT_RELEASED = () => Promise.resolve(false);
const NOT_LEADING = () => false;

/**
 * A `LeadResult`. A class, not an object literal with a getter (which V8 builds an order of magnitude more
 * slowly): its methods are still closures, so they keep working when passed around unbound; its `signal` is made
 * on first read (most callers never read it). Its own keys are only what `LeadResult` declares, in this order.
 */
export class Result {
  // Typed from the record, so that each field's type is written once.
  readonly isLeader: ResultFields['isLeader'];
  readonly leader: ResultFields['leader'];
  readonly token: ResultFields['token'];
  readonly expiresAt: ResultFields['expiresAt'];
  readonly acquiredAt: ResultFields['acquiredAt'];
  readonly data: ResultFields['data'];
  readonly validUntil: ResultFields['validUntil'];
  readonly validUntilWall: ResultFields['validUntilWall'];
  readonly remainingMs: () => number;
  readonly release: () => Promise<boolean>;
  readonly stillLeader: () => boolean;
  declare readonly fromMemory?: boolean;
  // Private (#), so a result's own keys are only what LeadResult declares.
  readonly #clock: Clock;
  readonly #held: Holding | undefined;
  readonly #original: Result | undefined;
  #signal: AbortSignal | undefined;

  constructor(fields: ResultFields) {
    this.isLeader = fields.isLeader;
    this.leader = fields.leader;
    this.token = fields.token;
    this.expiresAt = fields.expiresAt;
    this.acquiredAt = fields.acquiredAt;
    this.data = fields.data;
    this.validUntil = fields.validUntil;
    this.validUntilWall = fields.validUntilWall;
    const remainingMs = fields.remainingMs ?? NOT_LEADER;
    this.remainingMs = remainingMs;
    this.release = fields.release ?? NOT_RELEASED;
    this.#clock = fields.clock;
    this.#held = fields.held;
    this.#original = fields.original;
    this.stillLeader = fields.isLeader ? () => remainingMs() > 0 : NOT_LEADING;
    if (fields.original) (this as { fromMemory?: boolean }).fromMemory = true;
  }

  /**
   * This result again, marked as answered from memory (a warm holder's, see `renewBelow`); its validity is this
   * one's, re-checked at each call. Internal to leasehold.
   */
  again(): Result {
    return new Result({
      isLeader: true,
      leader: this.leader,
      token: this.token,
      expiresAt: this.expiresAt,
      acquiredAt: this.acquiredAt,
      data: this.data,
      validUntil: this.validUntil,
      validUntilWall: this.validUntilWall,
      clock: this.#clock,
      held: undefined,
      remainingMs: this.remainingMs,
      release: this.release,
      original: this,
    });
  }

  /** Aborts when validity runs out (already aborted for followers); made on first read. */
  get signal(): AbortSignal {
    if (!this.#signal) this.#signal = this.#original ? this.#original.signal : expirySignal(this.#clock, this.remainingMs, this.#held);
    return this.#signal;
  }
}

/**
 * The result of one claim attempt, as `tryLead()` answers it. A leading result (one given the `held` it is born
 * under, and its `release`) is valid from `startMono` / `startWall` (when the first request was sent) for `windowMs`,
 * and ends at once when `held` moves to a new generation (a release in this process); a follower (no `held`) is
 * valid until its start, that is never. `live` says whether the record shown
 * is held by anyone now (a dead lease shows no holder, acquiry time or data).
 */
export function makeResult(
  clock: Clock,
  record: LeaseRecord | null,
  startMono: number,
  startWall: number,
  windowMs: number,
  live: boolean,
  held: Holding | undefined,
  release: (() => Promise<boolean>) | undefined,
): Result {
  const leading = held !== undefined;
  const validUntil = leading ? startMono + windowMs : startMono;
  const validUntilWall = leading ? startWall + windowMs : startWall;
  const shown = live && record !== null;
  let remainingMs: (() => number) | undefined;
  if (held) {
    const bornUnder = held.generation;
    // README safety: "At most one valid leader": re-check both clocks each time; a frozen machine may stop one while the other runs on.
    remainingMs = () => {
      if (held.generation !== bornUnder) return 0;
      const left = Math.min(validUntil - clock.monotonic(), validUntilWall - clock.now());
      // A clock that stops returning numbers ends validity: fail closed, never NaN.
      return Number.isFinite(left) && left > 0 ? left : 0;
    };
  }
  return new Result({
    isLeader: leading,
    leader: shown ? record.holder : null,
    token: record?.token ?? 0,
    expiresAt: record?.expiresAt ?? 0,
    acquiredAt: shown ? record.acquiredAt : null,
    data: shown ? record.data : null,
    validUntil,
    validUntilWall,
    clock,
    held,
    remainingMs,
    release,
  });
}

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
