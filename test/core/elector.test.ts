import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector, type ElectorEvent } from '../../src/elector.js';
import { getLeader, tryLead } from '../../src/lead.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { withFaults } from '../../src/testing/faults.js';

const TTL = 3_000;
const SKEW = 500;
const RETRY = 1_000;

function setup(clockSource: 'store' | 'client' = 'store') {
  const clock = new ManualClock();
  const store = withFaults(new MemoryStore({ clock, clockSource }));
  const events: (ElectorEvent & { who: string; at: number })[] = [];
  const make = (holder: string) => {
    const elector = new Elector(store, { name: 'job', holder, ttlMs: TTL, maxClockSkewMs: SKEW, retryEveryMs: RETRY, clock });
    elector.on((e) => events.push({ ...e, who: holder, at: clock.monotonic() }));
    return elector;
  };
  return { clock, store, events, make };
}

describe('Elector', () => {
  it('leads at once and renews every ttl/3 with the same token', async () => {
    const { clock, events, make } = setup();
    const a = make('a');
    a.start();
    await clock.tick(TTL * 3);
    expect(a.isLeader()).toBe(true);
    const elected = events.filter((e) => e.type === 'elected');
    const renewed = events.filter((e) => e.type === 'renewed');
    expect(elected).toHaveLength(1);
    expect(renewed.length).toBeGreaterThanOrEqual(8);
    expect(new Set(renewed.map((e) => (e.type === 'renewed' ? e.lead.token : 0)))).toEqual(new Set([1]));
    await a.stop();
  });

  it('a graceful stop hands over at the next poll', async () => {
    const { clock, events, make } = setup();
    const a = make('a');
    const b = make('b');
    a.start();
    await clock.tick(100);
    b.start();
    await clock.tick(2_000);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    const stoppedAt = clock.monotonic();
    await a.stop();
    await clock.tick(RETRY + 100);
    const elected = events.find((e) => e.type === 'elected' && e.who === 'b');
    expect(elected).toBeDefined();
    expect((elected?.at ?? Number.POSITIVE_INFINITY) - stoppedAt).toBeLessThanOrEqual(RETRY);
    expect(elected?.type === 'elected' && elected.lead.token).toBe(2);
    await b.stop();
  });

  for (const clockSource of ['store', 'client'] as const) {
    it(`a crashed leader is replaced within ttl + skew + retry (${clockSource} clock)`, async () => {
      const { clock, events, make } = setup(clockSource);
      const a = make('a');
      const b = make('b');
      a.start();
      await clock.tick(100);
      b.start();
      await clock.tick(2_000);
      const crashedAt = clock.monotonic();
      await a.stop({ release: false });
      await clock.tick(TTL + SKEW + RETRY + 200);
      const elected = events.find((e) => e.type === 'elected' && e.who === 'b');
      expect(elected).toBeDefined();
      expect((elected?.at ?? Number.POSITIVE_INFINITY) - crashedAt).toBeLessThanOrEqual(TTL + SKEW + RETRY);
      await b.stop();
    });
  }

  it('gives up no later than validity runs out when the store is unreachable, and never leads meanwhile', async () => {
    const { clock, store, events, make } = setup();
    const a = make('a');
    a.start();
    await clock.tick(50);
    const lastRenewal = events.filter((e) => e.type === 'elected' || e.type === 'renewed').at(-1);
    const validUntil = lastRenewal && 'lead' in lastRenewal && lastRenewal.lead ? lastRenewal.lead.validUntil : 0;
    store.failAll(true);
    await clock.tick(TTL * 2);
    const lost = events.find((e) => e.type === 'lost');
    expect(lost).toMatchObject({ type: 'lost', reason: 'expired' });
    expect(lost?.at).toBeLessThanOrEqual(validUntil);
    expect(a.isLeader()).toBe(false);
    expect(events.some((e) => e.type === 'error')).toBe(true);
    store.failAll(false);
    await clock.tick(RETRY * 2);
    expect(a.isLeader()).toBe(true);
    await a.stop();
    expect(await getLeader(store, 'job', { clock })).toBeNull();
  });

  it('a silent store (calls never answered): lost on time, campaigns again once it answers, and stop() settles', async () => {
    const { clock, store, events, make } = setup();
    const a = make('a');
    a.start();
    await clock.tick(50);
    expect(a.isLeader()).toBe(true);
    const validUntil = a.current?.validUntil ?? 0;
    store.silence(true);
    await clock.tick(TTL * 3);
    const lost = events.find((e) => e.type === 'lost');
    expect(lost).toMatchObject({ type: 'lost', reason: 'expired' });
    expect(lost?.at).toBeLessThanOrEqual(validUntil);
    // Each hung attempt was cut off at its bound and reported, so the loop kept going.
    expect(events.filter((e) => e.type === 'error').length).toBeGreaterThanOrEqual(2);
    store.silence(false);
    await clock.tick(TTL);
    expect(a.isLeader()).toBe(true);
    expect(events.filter((e) => e.type === 'elected')).toHaveLength(2);
    // stop() while the store is silent again: it settles within the store's bound, not never.
    store.silence(true);
    let stopped = false;
    const stopping = a.stop().then(() => {
      stopped = true;
    });
    await clock.tick(5_000 + 50);
    await stopping;
    expect(stopped).toBe(true);
    expect(a.isLeader()).toBe(false);
  });

  it('refuses a clock of the wrong kind before any I/O', () => {
    const { store } = setup();
    const bad = [
      { now: () => 1, monotonic: () => 1, setTimeout: () => 0 },
      { now: 1, monotonic: () => 1, setTimeout: () => 0, clearTimeout: () => {} },
      'system',
    ];
    for (const clock of bad) {
      expect(() => new Elector(store, { name: 'job', holder: 'a', clock: clock as never })).toThrowError(expect.objectContaining({ code: 'INVALID_OPTION' }));
    }
    expect(store.calls).toEqual({ read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 });
  });

  it('refuses a renewal interval that would let the lease lapse', () => {
    const { store } = setup();
    expect(() => new Elector(store, { name: 'job', holder: 'a', ttlMs: 3_000, maxClockSkewMs: 500, renewEveryMs: 2_500 })).toThrowError(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => new Elector(store, { name: 'job', holder: 'a', retryEveryMs: 0 })).toThrowError(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => new Elector(store, { name: '', holder: 'a' })).toThrowError(expect.objectContaining({ code: 'INVALID_NAME' }));
  });

  it('respects a store that caps the write rate: refuses a short lease or fast renewals before any I/O', async () => {
    const clock = new ManualClock();
    const limited = withFaults(limitsOf(new MemoryStore({ clock })));
    const ok = { name: 'job', holder: 'a', ttlMs: 15_000, clock };
    expect(() => new Elector(limited, { ...ok, ttlMs: 2_000 })).toThrowError(expect.objectContaining({ code: 'INVALID_TTL' }));
    expect(() => new Elector(limited, { ...ok, renewEveryMs: 50 })).toThrowError(expect.objectContaining({ code: 'INVALID_OPTION' }));
    await expect(tryLead(limited, { ...ok, ttlMs: 2_000 })).rejects.toMatchObject({ code: 'INVALID_TTL' });
    expect(limited.calls).toEqual({ read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 });
    const elector = new Elector(limited, { ...ok, renewEveryMs: 1_000 });
    elector.start();
    await clock.tick(2_500);
    expect(elector.isLeader()).toBe(true);
    expect(limited.calls.create + limited.calls.replace).toBe(3); // at 0, 1 000 and 2 000 ms: one write a second
    await elector.stop();
  });
});

/** A MemoryStore that declares Firestore-like limits (one write per second per record). */
function limitsOf(store: MemoryStore) {
  return {
    kind: store.kind,
    clockSource: store.clockSource,
    limits: { minTtlMs: 3_000, minWriteIntervalMs: 1_000 },
    read: store.read.bind(store),
    create: store.create.bind(store),
    replace: store.replace.bind(store),
  };
}
