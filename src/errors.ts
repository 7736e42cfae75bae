/**
 * Typed errors. Check them by `code` (stable across releases), not only with `instanceof`:
 * a bundle can hold two copies of this library.
 * @module
 */

/** Stable error codes. */
export type LeaseholdErrorCode =
  /** The lease name is missing, empty, too long or has characters outside the allowed set. */
  | 'INVALID_NAME'
  /** The holder id is missing, empty, too long or has characters outside the allowed set. */
  | 'INVALID_HOLDER'
  /** `ttlMs` is not a finite number in range, or not larger than `maxClockSkewMs`. */
  | 'INVALID_TTL'
  /**
   * A job's slot is neither an instant (ISO 8601 with a zone, epoch ms, a `Date`) nor a key string, or an instant is
   * compared with a key (the message says which).
   */
  | 'INVALID_SLOT'
  /** Some other option has the wrong type or is out of range (the message names it). */
  | 'INVALID_OPTION'
  /** The store object does not implement the Store interface, or a store option is unsafe. */
  | 'INVALID_STORE'
  /** The store could not be reached or answered with an error; nobody was made leader. */
  | 'STORE_UNAVAILABLE'
  /** The store returned something that breaks the lease contract (a bug or a foreign writer). */
  | 'STORE_CORRUPT'
  /** The reason a result's `signal` aborts: its validity ran out (or it never led). Stop acting as leader. */
  | 'LEASE_EXPIRED'
  /** An `Elector` was stopped while a caller waited for leadership (`waitForLeadership`). */
  | 'STOPPED';

/** Why a term of leadership ended: the `reason` of the `LEASE_EXPIRED` error a term's signal aborts with. */
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

/** The one error type this library throws. `cause` keeps the SDK's own error where there is one. */
export class LeaseholdError extends Error {
  /** Stable, machine-readable code. */
  readonly code: LeaseholdErrorCode;
  /**
   * Why the term ended, on the `LEASE_EXPIRED` error that a term's signal (an `Elector`'s, a job's, a tracked lease's)
   * aborts with; absent on every other error. Read it here rather than from the message.
   * @example
   * signal.addEventListener('abort', () => { if (isLeaseholdError(signal.reason)) log(signal.reason.reason) })
   */
  // Declared, not initialized: an error without a reason has no such own property.
  declare readonly reason?: TermEndReason;

  constructor(code: LeaseholdErrorCode, message: string, options?: { cause?: unknown; reason?: TermEndReason }) {
    super(message, options);
    this.name = 'LeaseholdError';
    this.code = code;
    if (options?.reason !== undefined) (this as { reason?: TermEndReason }).reason = options.reason;
  }
}

/**
 * True when `error` is a leasehold error (by shape, so it works across bundle copies),
 * optionally with the given `code`.
 * @example
 * try { await tryLead(store, opts) } catch (e) { if (isLeaseholdError(e, 'STORE_UNAVAILABLE')) retryLater() }
 */
export function isLeaseholdError(error: unknown, code?: LeaseholdErrorCode): error is LeaseholdError {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  if (e.name !== 'LeaseholdError' || typeof e.code !== 'string') return false;
  return code === undefined || e.code === code;
}
