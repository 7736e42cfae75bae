/**
 * What an {@link Elector} tells its listeners ({@link ElectorEvent}), why a term was lost, and the signal it hands
 * out while not leading.
 * @module
 */
import { LeaseholdError } from './errors.js';
import type { LeadResult } from './lead.js';
import type { TermEndReason } from './term.js';

/** Why leadership was lost (the `reason` of a `lost` event). */
export type LostReason = TermEndReason;

/** What the elector tells its listeners. */
export type ElectorEvent =
  /**
   * This process became leader: a new term. `lead` is the term: its fields follow every renewal, and
   * `lead.signal` stays live across renewals and aborts the moment the term ends. Never emitted with no validity left.
   */
  | { type: 'elected'; lead: LeadResult }
  /** This process renewed its lease: the same term (`lead` is the same object as at `elected`), validity extended. */
  | { type: 'renewed'; lead: LeadResult }
  /**
   * This process lost leadership; `lead` is the term that ended (its signal has aborted). Reasons: `taken-over`
   * (a claim found another holder), `expired` (validity ran out before a renewal succeeded), `released` (this
   * process released the lease), `stopped` ({@link Elector.stop}), `resigned` ({@link Elector.resign}),
   * `handed-over` ({@link Elector.handover}).
   */
  | { type: 'lost'; reason: LostReason; lead?: LeadResult }
  /** As a follower, this process saw the leader change (or the lease fall vacant: `leader: null`). */
  | { type: 'leader'; leader: string | null; token: number }
  /** An attempt failed (the store was unreachable, answered with an error, or did not answer within its bound). Not leader meanwhile. */
  | { type: 'error'; error: unknown };

// Made on first use: Workers allow no such work in a module's global scope.
let abortedSignal: AbortSignal | undefined;
/** The signal of a process that does not lead: already aborted (`LEASE_EXPIRED`). One for all, made on first use. */
export function notLeaderSignal(): AbortSignal {
  if (!abortedSignal) {
    const controller = new AbortController();
    controller.abort(new LeaseholdError('LEASE_EXPIRED', 'not leader'));
    abortedSignal = controller.signal;
  }
  return abortedSignal;
}
