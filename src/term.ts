/**
 * One term of leadership, as the layers above `tryLead()` hand it out (the `Elector`, `runExclusive`): a
 * {@link LeadResult} that follows every renewal of the term and one `AbortSignal` for the whole term, which stays
 * live across renewals and aborts the moment the term ends (taken over, validity ran out before a renewal
 * succeeded, released, stopped, resigned).
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';
import { LeaseholdError } from './errors.js';
import type { LeadResult } from './lead.js';
import { liveSignal } from './live-signal.js';

/** Why a term ended. */
export type TermEndReason =
  /** A claim found another holder: the lease was taken over. */
  | 'taken-over'
  /** Validity ran out before a renewal succeeded (the store was unreachable, or the process was paused). */
  | 'expired'
  /** This process released the lease (`release()`, `lead.release()`). */
  | 'released'
  /** The elector was stopped, or the job ended. */
  | 'stopped'
  /** The elector resigned (`elector.resign()`). */
  | 'resigned'
  /** The elector handed the lease to a named successor (`elector.handover()`). */
  | 'handed-over';

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
    const term = this;
    const remainingMs = () => (term.reason === undefined ? term.latest.remainingMs() : 0);
    this.lead = {
      isLeader: true,
      get leader() {
        return term.latest.leader;
      },
      get token() {
        return term.latest.token;
      },
      get expiresAt() {
        return term.latest.expiresAt;
      },
      get acquiredAt() {
        return term.latest.acquiredAt;
      },
      get data() {
        return term.latest.data;
      },
      get validUntil() {
        return term.latest.validUntil;
      },
      get validUntilWall() {
        return term.latest.validUntilWall;
      },
      remainingMs,
      stillLeader: () => remainingMs() > 0,
      get signal() {
        return term.signal();
      },
      release: async () => {
        const released = term.latest.release();
        // The holder gives the lease up now, whatever the store answers.
        term.end('released');
        return released;
      },
    };
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
    return new LeaseholdError('LEASE_EXPIRED', `leadership term ended (${this.reason}): stop acting as leader`);
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
