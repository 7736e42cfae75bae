/**
 * The Firestore stores' read-free renewal window, checked the same way on each engine: one request while the
 * lease is surely live (less than ttl − skew since the last send, on both host clocks), a read first otherwise,
 * and a new term once the lease ran out on the database's clock.
 */
import { expect } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import { tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';

/** One Firestore engine, as the check drives it. */
export interface RenewalHarness {
  /** A warm store over the engine, built with `clock`. */
  store: Store;
  /** The host's clocks, as the store and the caller see them. */
  clock: ManualClock;
  name: string;
  /** Starts counting; the function returned gives the reads and commits the engine served since. */
  count: () => () => { reads: number; commits: number };
  /** Moves the engine's own clock on by `ms` (nobody writes meanwhile). */
  advanceEngine: (ms: number) => void;
}

/** Drives one warm store through the window and checks each step's answer and its reads and commits. */
export async function expectReadFreeRenewalOnlyWhileSurelyLive(h: RenewalHarness): Promise<void> {
  const step = async (label: string, expected: object, requests: { reads: number; commits: number }) => {
    const since = h.count();
    const result = await tryLead(h.store, { name: h.name, holder: 'a', ttlMs: 10_000, maxClockSkewMs: 1_000, clock: h.clock });
    expect(result, label).toMatchObject({ isLeader: true, ...expected });
    expect(since(), label).toEqual(requests);
    return result;
  };
  const first = await step('claim', { token: 1 }, { reads: 1, commits: 1 });
  h.clock.advance(8_999);
  await step('8.999 s after the last send: surely live, renewed blind', { token: 1, acquiredAt: first.acquiredAt }, { reads: 0, commits: 1 });
  h.clock.advance(9_000);
  // Not sure any more on the host's clock; Firestore's clock (a few ms on) says live: a renewal, token kept.
  await step('9 s after the last send: read first, still live on Firestore’s clock', { token: 1, acquiredAt: first.acquiredAt }, { reads: 1, commits: 1 });
  h.clock.jumpWall(9_000);
  await step('a frozen machine (monotonic stood still, wall clock moved on): read first', { token: 1 }, { reads: 1, commits: 1 });
  // The lease runs out on the engine's clock, and the same time passes on the host: nobody wrote in between, so
  // a blind renewal's precondition would hold; the liveness check is what makes this a new term.
  h.advanceEngine(11_000);
  h.clock.advance(11_000);
  const second = await step('after the lease ran out: read first, a new term', { token: 2 }, { reads: 1, commits: 1 });
  expect(second.acquiredAt).toBeGreaterThan(first.acquiredAt ?? 0);
  await step('the new term renews blind again', { token: 2, acquiredAt: second.acquiredAt }, { reads: 0, commits: 1 });
}
