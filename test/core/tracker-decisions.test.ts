/**
 * The Tracker's decisions (src/tracker/decisions.ts) as pure functions: share, resignations, claim order, claim
 * window, member-slot pick and round timing. No engine, no clock: randomness is a scripted sequence.
 */
import { describe, expect, it } from 'vitest';
import { chooseResignations, claimOrder, firstRoundDelay, mayStillClaim, nextRoundDelay, pickFreeSlot, shareOf, shuffle } from '../../src/tracker/decisions.js';

/** A random source that answers `values` in turn (then 0), and counts its draws. */
function scripted(...values: number[]): (() => number) & { draws: number } {
  const random = Object.assign(
    () => {
      const value = values[random.draws] ?? 0;
      random.draws++;
      return value;
    },
    { draws: 0 },
  );
  return random;
}

describe('shareOf', () => {
  it('is the ceiling of names over contenders, capped by maxHeld', () => {
    expect(shareOf(12, 3, 12)).toBe(4);
    expect(shareOf(10, 3, 10)).toBe(4);
    expect(shareOf(10, 1, 10)).toBe(10);
    expect(shareOf(10, 3, 2)).toBe(2);
    expect(shareOf(3, 5, 3)).toBe(1);
  });
});

describe('shuffle', () => {
  it('is Fisher–Yates from the last index down, one draw per index above 0', () => {
    const random = scripted(0, 0, 0);
    expect(shuffle(['a', 'b', 'c', 'd'], random)).toEqual(['b', 'c', 'd', 'a']);
    expect(random.draws).toBe(3);
    expect(shuffle(['a', 'b', 'c'], scripted(0.99, 0.99))).toEqual(['a', 'b', 'c']);
  });
});

describe('chooseResignations', () => {
  const held = [
    { name: 'a', heldSince: 0 },
    { name: 'b', heldSince: 500 },
    { name: 'c', heldSince: 900 },
  ];

  it('gives up nothing (and draws nothing) at or below the share', () => {
    const random = scripted();
    expect(chooseResignations(held, 3, 10_000, 0, 1, random)).toEqual([]);
    expect(chooseResignations(held, 5, 10_000, 0, 1, random)).toEqual([]);
    expect(random.draws).toBe(0);
  });

  it('gives up only the excess, and only terms held at least minHoldMs', () => {
    // now 1 000, minHoldMs 400: a (1 000 ms) and b (500 ms) are eligible, c (100 ms) is not.
    const chosen = chooseResignations(held, 1, 1_000, 400, 1, scripted(0.99, 0, 0));
    expect(chosen.map((t) => t.name).sort()).toEqual(['a', 'b']);
    const one = chooseResignations(held, 2, 1_000, 400, 1, scripted(0.99, 0, 0));
    expect(one).toHaveLength(1);
    expect(chooseResignations(held, 0, 1_000, 2_000, 1, scripted())).toEqual([]);
  });

  it('draws 1-in-resignOdds for each eligible term, in shuffled order', () => {
    // Shuffle of [a, b, c] with draws 0.99, 0.99 keeps the order; then odds draws: a skipped (0.6 × 2 ≥ 1), b taken.
    const chosen = chooseResignations(held, 1, 10_000, 0, 2, scripted(0.99, 0.99, 0.6, 0.4, 0.4));
    expect(chosen.map((t) => t.name)).toEqual(['b', 'c']);
    // Odds never met: nothing is given up this round.
    expect(chooseResignations(held, 1, 10_000, 0, 2, scripted(0.99, 0.99, 0.5, 0.5, 0.5))).toEqual([]);
  });
});

describe('claimOrder', () => {
  it('lists every name not held, shuffled', () => {
    const held = new Set(['b']);
    expect(claimOrder(['a', 'b', 'c', 'd'], (n) => held.has(n), scripted(0.99, 0.99))).toEqual(['a', 'c', 'd']);
    expect(claimOrder(['a', 'b', 'c', 'd'], (n) => held.has(n), scripted(0, 0))).toEqual(['c', 'd', 'a']);
    expect(claimOrder(['a'], () => true, scripted())).toEqual([]);
  });
});

describe('mayStillClaim', () => {
  it('allows claims up to half a round', () => {
    expect(mayStillClaim(0, 1_000)).toBe(true);
    expect(mayStillClaim(500, 1_000)).toBe(true);
    expect(mayStillClaim(501, 1_000)).toBe(false);
  });
});

describe('pickFreeSlot', () => {
  it('picks one of the free slots at random, none when none is free', () => {
    expect(pickFreeSlot([3, 5, 7], scripted(0))).toBe(3);
    expect(pickFreeSlot([3, 5, 7], scripted(0.3))).toBe(3);
    expect(pickFreeSlot([3, 5, 7], scripted(0.5))).toBe(5);
    expect(pickFreeSlot([3, 5, 7], scripted(0.99))).toBe(7);
    const random = scripted();
    expect(pickFreeSlot([], random)).toBeUndefined();
    expect(random.draws).toBe(0);
  });
});

describe('round timing', () => {
  it('starts the first round within max(claimStaggerMs, pollEveryMs / 10)', () => {
    expect(firstRoundDelay(100, 3_000, scripted(0.5))).toBe(150);
    expect(firstRoundDelay(500, 3_000, scripted(0.5))).toBe(250);
  });

  it('waits up to 10% early, never late, from the round start', () => {
    expect(nextRoundDelay(1_000, 0, scripted(0))).toBe(1_000);
    expect(nextRoundDelay(1_000, 0, scripted(0.5))).toBe(950);
    expect(nextRoundDelay(1_000, 200, scripted(0))).toBe(800);
    expect(nextRoundDelay(1_000, 5_000, scripted(0))).toBe(0);
    // A clock that went back counts as no time spent.
    expect(nextRoundDelay(1_000, -300, scripted(0))).toBe(1_000);
  });
});
