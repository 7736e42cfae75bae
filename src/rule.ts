/**
 * The rule of the election, pure: whether a lease is live, and what one claim attempt should do to the current
 * record. No I/O and no clock of its own; the core (`lead.ts`) and every store with a fused claim apply this one rule.
 * @module
 */
import { LeaseholdError } from './errors.js';
import type { LeaseRecord, Store } from './store.js';

/**
 * Whether `record` is held by someone now, judged the way the store's clock model says: by the store's
 * clock where it has one, otherwise by the caller's clock after waiting out the skew bound (README safety: "Whose clock").
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
