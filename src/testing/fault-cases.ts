/**
 * The conformance suite's fault cases: lost answers, writes that did not apply, requests the network held and
 * delivered late, releases seen at once in this process, and a silent store.
 * @module
 */
import { expect, it } from 'vitest';
import { getLeader, release, tryLead } from '../lead.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../options.js';
import { type ConformanceContext, SKEW, TTL } from './context.js';
import { withFaults } from './faults.js';

/** Defines the fault cases of one path of the suite. */
export function faultCases(suite: ConformanceContext): void {
  it('a write whose answer was lost after it applied is recognised as this caller’s own', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const faulty = withFaults(store);
    faulty.failNextWrite('lose-answer');
    const lead = await tryLead(faulty, opts('a'));
    expect(lead.isLeader).toBe(true);
    expect(lead.remainingMs()).toBe(TTL - SKEW);
    faulty.failNextWrite('lose-answer');
    expect(await release(faulty, { name, holder: 'a', clock: h.clock })).toBe(true);
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
  });

  it('fails closed: a write that did not apply, or an unreachable store, makes nobody leader', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const faulty = withFaults(store);
    faulty.failNextWrite('fail-before');
    await expect(tryLead(faulty, opts('a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
    faulty.failReads(true);
    faulty.failNextWrite('lose-answer');
    await expect(tryLead(faulty, opts('a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(getLeader(faulty, name, { clock: h.clock })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('a renewal the network held, delivered after the holder started a new term, neither shortens nor ends that term', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts, expire } = suite;
    const faulty = withFaults(store);
    const first = await tryLead(faulty, opts('a'));
    h.clock.advance(2_000);
    // The renewal leaves, the network holds it, the caller gives up: not leader (fail closed).
    faulty.failNextWrite('hold');
    await expect(tryLead(faulty, opts('a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expire(name);
    const again = await tryLead(faulty, opts('a'));
    expect(again).toMatchObject({ isLeader: true, leader: 'a' });
    expect(again.token).toBeGreaterThan(first.token);
    // Now the held renewal arrives, carrying its old send time.
    expect(faulty.held).toBe(1);
    await faulty.deliverHeld();
    const seen = await getLeader(store, name, { clock: h.clock, maxClockSkewMs: SKEW });
    expect(seen).toMatchObject({ holder: 'a', token: again.token });
    expect(seen?.expiresAt).toBeGreaterThanOrEqual(again.expiresAt);
    expect((await tryLead(store, opts('b'))).isLeader).toBe(false);
    if (h.store.clockSource === 'client') {
      // To the last millisecond of the holder's validity, nobody else may take the lease.
      h.clock.advance(again.remainingMs() - 1);
      expect(again.stillLeader()).toBe(true);
      expect((await tryLead(store, opts('b'))).isLeader).toBe(false);
    }
  });

  it('a release the network held, delivered after the holder renewed, does not clear the renewal', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const faulty = withFaults(store);
    const first = await tryLead(faulty, opts('a'));
    faulty.failNextWrite('hold');
    await expect(release(faulty, { name, holder: 'a', clock: h.clock })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    h.clock.advance(1_000);
    const renewed = await tryLead(faulty, opts('a'));
    expect(renewed).toMatchObject({ isLeader: true, token: first.token });
    await faulty.deliverHeld();
    expect(await getLeader(store, name, { clock: h.clock, maxClockSkewMs: SKEW })).toMatchObject({ holder: 'a', token: first.token });
    expect((await tryLead(store, opts('b'))).isLeader).toBe(false);
    // The holder's own release of the state it now holds still works.
    expect(await release(faulty, { name, holder: 'a', clock: h.clock })).toBe(true);
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
  });

  it('a released lease stops leading in this process at once: its results say so and their signals abort', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const first = await tryLead(store, opts('a'));
    const signal = first.signal;
    h.clock.advance(1_000);
    const renewed = await tryLead(store, opts('a'));
    expect(renewed.stillLeader()).toBe(true);
    expect(await renewed.release()).toBe(true);
    for (const r of [first, renewed]) {
      expect(r.stillLeader()).toBe(false);
      expect(r.remainingMs()).toBe(0);
    }
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ code: 'LEASE_EXPIRED' });
    expect(renewed.signal.aborted).toBe(true);
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
    // A follower's result releases nothing.
    const b = await tryLead(store, opts('b'));
    const c = await tryLead(store, opts('c'));
    expect(c.isLeader).toBe(false);
    expect(await c.release()).toBe(false);
    expect(b.stillLeader()).toBe(true);
    // release() by name ends the results the same way.
    expect(await release(store, { name, holder: 'b', clock: h.clock })).toBe(true);
    expect(b.stillLeader()).toBe(false);
  });

  it('a silent store (connections accepted, never answered): every call settles within its bound and fails closed', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const faulty = withFaults(store);
    const lead = await tryLead(faulty, opts('a'));
    faulty.silence(true);
    const timeout = store.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    // A claim is bounded by its validity window or the store's timeout, whichever is shorter; the rest by the timeout.
    const claimBound = Math.min(TTL - SKEW, timeout);
    const outcomes: Record<string, unknown> = {};
    const watch = (label: string, call: Promise<unknown>) =>
      call.then(
        () => {
          outcomes[label] = 'resolved';
        },
        (e: unknown) => {
          outcomes[label] = (e as { code?: unknown }).code;
        },
      );
    const claims = Promise.all([watch('tryLead', tryLead(faulty, opts('a'))), watch('tryLead (follower)', tryLead(faulty, opts('b')))]);
    const others = Promise.all([
      watch('release', release(faulty, { name, holder: 'a', clock: h.clock })),
      watch('getLeader', getLeader(faulty, name, { clock: h.clock })),
    ]);
    await h.clock.tick(claimBound - 10);
    expect(outcomes, 'nothing settles before its bound').toEqual({});
    await h.clock.tick(20);
    await claims;
    expect(outcomes).toMatchObject({ tryLead: 'STORE_UNAVAILABLE', 'tryLead (follower)': 'STORE_UNAVAILABLE' });
    if (timeout > claimBound) {
      expect(Object.keys(outcomes), 'release and getLeader wait for the store timeout').toHaveLength(2);
      await h.clock.tick(timeout - claimBound - 20);
      expect(Object.keys(outcomes)).toHaveLength(2);
      await h.clock.tick(20);
    }
    await others;
    expect(outcomes).toEqual({
      tryLead: 'STORE_UNAVAILABLE',
      'tryLead (follower)': 'STORE_UNAVAILABLE',
      release: 'STORE_UNAVAILABLE',
      getLeader: 'STORE_UNAVAILABLE',
    });
    // The release was never confirmed, yet the holder gave the lease up when it called it: its results stop leading.
    expect(lead.remainingMs()).toBe(0);
    expect(lead.signal.aborted).toBe(true);
  });
}
