/**
 * What a tracker hands out and tells: a {@link TrackedLease} (one held name's current term, built on a
 * `LeadershipTerm`), the {@link TrackerEvent}s, and why a name stopped being held.
 * @module
 */
import type { Clock } from '../clock.js';
import type { LeadResult } from '../lead.js';
import { LeadershipTerm, type TermEndReason } from '../term.js';

/** One name this tracker holds: its current term. */
export interface TrackedLease {
  /** The name. */
  readonly name: string;
  /** This term's fencing token (kept across renewals). Pass it to the work you fence. */
  readonly token: number;
  /**
   * Aborts the moment this term ends: taken over, validity ran out before a renewal succeeded, released, given up
   * to rebalance, or the tracker stopped. Stays live across renewals.
   */
  readonly signal: AbortSignal;
  /** The term as a `LeadResult` (a {@link LeadershipTerm}'s): its fields follow each renewal; its `signal` is the term's. */
  readonly lead: LeadResult;
  /** When this term began, on the tracker clock's monotonic time (ms). */
  readonly heldSince: number;
  /** Milliseconds this term may still be acted on (re-checked on both clocks at each call; 0 once ended). */
  remainingMs(): number;
  /** True while {@link remainingMs} is above zero. */
  stillHeld(): boolean;
}

/**
 * Why a tracker stopped holding a name: a {@link TermEndReason}. `taken-over` (seen at a renewal), `expired` (validity
 * ran out before a renewal succeeded: the store was unreachable, or this process was paused), `released` (this
 * process released it: `lease.lead.release()` or `release()`), `resigned` (given up to rebalance: held above the
 * share for at least `minHoldMs`), `stopped` (the tracker stopped).
 */
export type TrackerLostReason = TermEndReason;

/** What a tracker tells its listeners. */
export type TrackerEvent =
  /** This tracker took `name` (a new term, with a new fencing token): start its work with `lease.signal`. */
  | { type: 'elected'; name: string; lease: TrackedLease }
  /** This tracker renewed `name` (same term and token). */
  | { type: 'renewed'; name: string; lease: TrackedLease }
  /** This tracker no longer holds `name`; `lease.signal` has aborted. */
  | { type: 'lost'; name: string; reason: TrackerLostReason; lease: TrackedLease }
  /** The live contenders (this one included) or this tracker's share changed. */
  | { type: 'share'; contenders: number; share: number }
  /** A store call failed (one event per failing name, and at most one per round for the member slots). */
  | { type: 'error'; error: unknown; name?: string };

/** One held name: a {@link LeadershipTerm} (one signal for the whole term), with what the tracker needs around it. */
export class TrackedTerm implements TrackedLease {
  readonly term: LeadershipTerm;
  /** False for a name claimed while the tracker was stopping: released without events. */
  announced = false;

  constructor(
    readonly name: string,
    first: LeadResult,
    readonly heldSince: number,
    clock: Clock,
    onEnd: (term: TrackedTerm, reason: TermEndReason) => void,
  ) {
    this.term = new LeadershipTerm(first, clock, (reason) => onEnd(this, reason));
  }

  get token(): number {
    return this.term.token;
  }

  get lead(): LeadResult {
    return this.term.lead;
  }

  get signal(): AbortSignal {
    return this.term.lead.signal;
  }

  get ended(): boolean {
    return this.term.ended;
  }

  remainingMs(): number {
    return this.term.lead.remainingMs();
  }

  stillHeld(): boolean {
    return this.remainingMs() > 0;
  }
}
