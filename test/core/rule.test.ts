/**
 * The rule of the election (src/rule.ts), alone: liveness on the store's clock or the caller's (with the skew
 * margin), and the plan of one claim attempt. Pure: no engine, no clock.
 */
import { describe, expect, it } from 'vitest';
import { isLeaseholdError } from '../../src/errors.js';
import { isLive, planClaim } from '../../src/rule.js';
import type { LeaseRecord } from '../../src/store.js';

const lease = (holder: string | null, expiresAt = 1_000): LeaseRecord => ({ name: 'n', holder, token: 7, acquiredAt: 5, expiresAt, version: 'v', data: null });

describe('isLive', () => {
  it('judges by the store clock where the store has one', () => {
    expect(isLive('store', lease('a'), 999, 5_000, 0)).toBe(true);
    expect(isLive('store', lease('a'), 1_000, 0, 0)).toBe(false);
  });
  it('judges by the caller clock after waiting out the skew where it has none', () => {
    expect(isLive('client', lease('a'), undefined, 1_500, 500)).toBe(true);
    expect(isLive('client', lease('a'), undefined, 1_501, 500)).toBe(false);
  });
  it('says a released lease is not live, and refuses a store-clock answer without a time', () => {
    expect(isLive('store', lease(null), 0, 0, 0)).toBe(false);
    let error: unknown;
    try {
      isLive('store', lease('a'), undefined, 0, 0);
    } catch (caught) {
      error = caught;
    }
    expect(isLeaseholdError(error, 'STORE_CORRUPT')).toBe(true);
  });
});

describe('planClaim', () => {
  it('creates when absent, renews its own live lease, takes over a dead one (its own too), refuses a live other', () => {
    expect(planClaim('store', null, 'a', 0, 0, 0)).toEqual({ action: 'create', token: 1, acquiredAt: null });
    expect(planClaim('store', lease('a'), 'a', 0, 0, 0)).toEqual({ action: 'renew', token: 7, acquiredAt: 5 });
    expect(planClaim('store', lease('a'), 'a', 2_000, 0, 0)).toEqual({ action: 'takeover', token: 8, acquiredAt: null });
    expect(planClaim('store', lease(null), 'b', 0, 0, 0)).toEqual({ action: 'takeover', token: 8, acquiredAt: null });
    expect(planClaim('store', lease('a'), 'b', 0, 0, 0)).toEqual({ action: 'refuse' });
  });
});
