/**
 * One term of leadership, as the layers above `tryLead()` hand it out (the `Elector`, `runExclusive`): a
 * {@link LeadResult} that follows every renewal of the term and one `AbortSignal` for the whole term, which stays
 * live across renewals and aborts the moment the term ends (taken over, validity ran out before a renewal
 * succeeded, released, stopped, resigned).
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';
import { LeaseholdError, type TermEndReason } from './errors.js';
import type { LeadResult } from './lead.js';
import { liveSignal } from './live-signal.js';

export type { TermEndReason } from './errors.js';

/**
 * What a claim's answer (`tryLead()` for the term's name and holder) means for a term, as
 * {@link LeadershipTerm.apply} classifies it. The term has already been changed accordingly; what else to do (emit,
 * schedule, start a new term, give a lease back) is the caller's.
 */
export type RenewalOutcome =
  /** The same term (same token), validity extended: the term now follows the answer. */
  | 'renewed'
  /** The store began a new term (a different token; the old lease had lapsed there): this term ended `expired`. */
  | 'new-term'
  /** Won, but the answer came after its own validity ran out (the process paused): no authority; the term is unchanged. */
  | 'late'
  /** Another holder has the lease (or nobody does): this term ended `taken-over`. */
  | 'taken-over'
  /** The term ran out while the claim was away (a pause, a wall-clock step): it ended now, before the answer counts. */
  | 'lapsed'
  /** The term had already ended before this answer: nothing changed. */
  | 'ended';

/** The fields of a term's {@link LeadResult} that follow its latest renewal. */
const FOLLOWED = ['leader', 'token', 'expiresAt', 'acquiredAt', 'data', 'validUntil', 'validUntilWall'] as const;

/**
 * A term: built from the result that won it; {@link LeadershipTerm.renew} with each renewal of the same term;
 * {@link LeadershipTerm.end} once. Ends by itself (calling `onEnd`) when the latest result's validity runs out or
 * its lease is released.
 */
export class LeadershipTerm {
  private latest: LeadResult;
  /** Made when the signal is first asked for (a Worker ties an AbortController to the request that made it). */
  private controller: AbortController | undefined;
  private reason: TermEndReason | undefined;
  /** The term as a {@link LeadResult}: fields follow the latest renewal; `signal` is the term's own. */
  readonly lead: LeadResult;

  constructor(
    first: LeadResult,
    private readonly clock: Clock,
    private readonly onEnd: (reason: TermEndReason) => void,
  ) {
    this.latest = first;
    const remainingMs = () => (this.reason === undefined ? this.latest.remainingMs() : 0);
    // One getter per followed field, made from the list (the same shape seven times otherwise), in the order a
    // literal would give: isLeader, the followed fields, remainingMs, stillLeader, signal, release.
    const lead = { isLeader: true } as { -readonly [K in keyof LeadResult]: LeadResult[K] };
    for (const key of FOLLOWED) Object.defineProperty(lead, key, { get: () => this.latest[key], enumerable: true, configurable: true });
    lead.remainingMs = remainingMs;
    lead.stillLeader = () => remainingMs() > 0;
    Object.defineProperty(lead, 'signal', { get: () => this.signal(), enumerable: true, configurable: true });
    lead.release = async () => {
      const released = this.latest.release();
      // The holder gives the lease up now, whatever the store answers.
      this.end('released');
      return released;
    };
    this.lead = lead;
    this.watch();
  }

  private signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.reason !== undefined) controller.abort(this.endError());
      // Current when read: a job that blocked past its lease sees the term ended at once (DESIGN.md, "Answers are
      // current when read"), not at the next timers phase.
      liveSignal(controller, () => this.check());
    }
    return this.controller.signal;
  }

  /**
   * Ends the term now if the latest result has run out (or its lease was released by this process); returns whether
   * the term has ended. Run on each read of the term's signal, by the timers, and by a layer that must know at once
   * (a job that returned).
   */
  check(): boolean {
    if (this.reason !== undefined) return true;
    const result = this.latest;
    if (result.remainingMs() > 0) return false;
    // Validity left on the clocks means the result was ended early: its lease was released by this process.
    const onClocks = Math.min(result.validUntil - this.clock.monotonic(), result.validUntilWall - this.clock.now());
    this.end(onClocks > 0 ? 'released' : 'expired');
    return true;
  }

  private endError(): LeaseholdError {
    return new LeaseholdError('LEASE_EXPIRED', `leadership term ended (${this.reason}): stop acting as leader`, { reason: this.reason });
  }

  /** The fencing token of this term (kept by every renewal). */
  get token(): number {
    return this.latest.token;
  }

  /** Whether the term has ended. */
  get ended(): boolean {
    return this.reason !== undefined;
  }

  /** Why the term ended, once it has. */
  get endReason(): TermEndReason | undefined {
    return this.reason;
  }

  /** Takes a renewal of this term (same token, validity still left). */
  renew(result: LeadResult): void {
    if (this.reason !== undefined) return;
    this.latest = result;
  }

  /**
   * Applies a claim's answer for this term's name and holder (a renewal attempt), the one way the `Elector`, jobs
   * and the `Tracker` judge it, and says what it meant ({@link RenewalOutcome}). In order: a term already ended is
   * left alone (`ended`); a term whose validity ran out while the claim was away ends first (`lapsed`: `lost` always
   * comes before anything the answer brings); another holder ends it (`taken-over`); a won answer with no validity
   * left changes nothing (`late`); a different token ends it (`new-term`: the store began another term); otherwise
   * the term follows the answer (`renewed`). Allocates nothing.
   */
  apply(result: LeadResult): RenewalOutcome {
    if (this.reason !== undefined) return 'ended';
    if (this.check()) return 'lapsed';
    if (!result.isLeader) {
      this.end('taken-over');
      return 'taken-over';
    }
    if (!result.stillLeader()) return 'late';
    if (result.token !== this.latest.token) {
      this.end('expired');
      return 'new-term';
    }
    this.latest = result;
    return 'renewed';
  }

  /** Ends the term (once): aborts its signal with `LEASE_EXPIRED` and calls `onEnd`. */
  end(reason: TermEndReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.controller?.abort(this.endError());
    } catch {
      // A Worker refuses to touch a signal made while serving another request; the term has ended all the same
      // (stillLeader() says so), and the listeners are told below.
    }
    this.onEnd(reason);
  }

  /**
   * Ends the term when the latest result runs out (or its lease is released by this process), checked on the
   * clock's timers: at the moment validity ends, and at least every second, so a wall-clock jump or a release by
   * name is noticed promptly. (Timers, not the results' abort events: a Worker may not deliver an event to a
   * listener registered while serving another request.)
   */
  private timer: TimerHandle | undefined;
  private watch(): void {
    const tick = () => {
      this.timer = undefined;
      if (this.check()) return;
      this.timer = this.clock.setTimeout(tick, Math.min(this.latest.remainingMs(), 1_000));
    };
    tick();
  }
}
