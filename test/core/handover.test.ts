/**
 * Push wake-ups and named successors on the Elector, with an injected clock (no sleeping): a release or a handover
 * wakes followers with no time passing, a lost wake-up falls back to the poll, a named successor always leads next,
 * one that died is replaced after the window, and bad input is refused with nothing written.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector, type ElectorEvent } from '../../src/elector.js';
import { runExclusive } from '../../src/jobs.js';
import { getLeader, handOver, release, tryLead } from '../../src/lead.js';
import { withInternalNames } from '../../src/options.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { genericOnly, withFaults } from '../../src/testing/faults.js';

const TTL = 3_000;
const SKEW = 500;
const RETRY = 1_000;

function setup(options: { wakeOnPush?: boolean; wrap?: (store: MemoryStore) => Store } = {}) {
  const clock = new ManualClock();
  const memory = new MemoryStore({ clock });
  const store = options.wrap ? options.wrap(memory) : memory;
  const events: (ElectorEvent & { who: string; at: number })[] = [];
  const electors = new Map<string, Elector>();
  const make = (holder: string) => {
    const elector = new Elector(store, {
      name: 'job',
      holder,
      ttlMs: TTL,
      maxClockSkewMs: SKEW,
      retryEveryMs: RETRY,
      clock,
      keepAlive: false,
      ...(options.wakeOnPush !== undefined ? { wakeOnPush: options.wakeOnPush } : {}),
    });
    elector.on((e) => events.push({ ...e, who: holder, at: clock.monotonic() }));
    electors.set(holder, elector);
    return elector;
  };
  const leaderNow = () => [...electors].filter(([, e]) => e.isLeader()).map(([h]) => h);
  const electorOf = (holder: string) => {
    const elector = electors.get(holder);
    if (!elector) throw new Error(`no elector ${holder}`);
    return elector;
  };
  return { clock, store, memory, events, make, leaderNow, electorOf };
}

/** Three started electors, `a` leading. */
async function threeWithALeading(s: ReturnType<typeof setup>) {
  const a = s.make('a');
  a.start();
  await s.clock.tick(50);
  const b = s.make('b');
  const c = s.make('c');
  b.start();
  c.start();
  await s.clock.tick(RETRY * 2);
  expect(s.leaderNow()).toEqual(['a']);
  return { a, b, c };
}

describe('push wake-ups', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a resign wakes a follower, which leads with no time passing (no poll)', async () => {
    const s = setup();
    const { a, b, c } = await threeWithALeading(s);
    const at = s.clock.monotonic();
    expect(await a.resign()).toBe(true);
    await s.clock.tick(0);
    await s.clock.tick(1, 1);
    const elected = s.events.filter((e) => e.type === 'elected' && e.who !== 'a');
    expect(elected).toHaveLength(1);
    expect((elected[0]?.at ?? Number.POSITIVE_INFINITY) - at).toBeLessThanOrEqual(1);
    // The resigner stands aside: its own release's wake-up does not bring it back.
    expect(s.leaderNow()).toHaveLength(1);
    expect(s.leaderNow()).not.toContain('a');
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it('without pushes (wakeOnPush: false) the follower leads only at its next poll', async () => {
    // The followers' poll jitter pinned (polls every 950 ms from their start at 50 ms: 1 000, 1 950, 2 900), so that no
    // poll falls by chance in the 10 ms after the resign, where this case checks that nobody leads yet.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const s = setup({ wakeOnPush: false });
    const { a, b, c } = await threeWithALeading(s);
    const at = s.clock.monotonic();
    await a.resign();
    await s.clock.tick(10);
    expect(s.leaderNow()).toEqual([]);
    await s.clock.tick(RETRY);
    const elected = s.events.find((e) => e.type === 'elected' && e.who !== 'a');
    expect(elected).toBeDefined();
    expect((elected?.at ?? 0) - at).toBeGreaterThan(10);
    expect((elected?.at ?? Number.POSITIVE_INFINITY) - at).toBeLessThanOrEqual(RETRY);
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it('a lost wake-up (a release no push reports) falls back to the poll', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // the poll jitter pinned, as above
    const s = setup();
    const { a, b, c } = await threeWithALeading(s);
    const record = (await s.memory.read('job')).record;
    expect(record?.holder).toBe('a');
    const at = s.clock.monotonic();
    await a.stop({ release: false });
    // A release that no push reports (a NOTIFY lost while the listener reconnected, another tool's UPDATE): written
    // into the store's map directly, bypassing its notify.
    (s.memory as unknown as { leases: Map<string, unknown> }).leases.set('job', { ...record, holder: null, expiresAt: s.clock.now(), version: 'raw' });
    await s.clock.tick(10);
    expect(s.leaderNow()).toEqual([]);
    await s.clock.tick(RETRY);
    const elected = s.events.find((e) => e.type === 'elected' && e.who !== 'a');
    expect(elected).toBeDefined();
    expect((elected?.at ?? Number.POSITIVE_INFINITY) - at).toBeLessThanOrEqual(RETRY + 10);
    await Promise.all([b.stop(), c.stop()]);
  });

  it('wake-ups pass through the fault and generic-path wrappers', async () => {
    for (const wrap of [withFaults, genericOnly] as const) {
      const s = setup({ wrap });
      expect(typeof s.store.watch).toBe('function');
      const { a, b, c } = await threeWithALeading(s);
      const at = s.clock.monotonic();
      await a.resign();
      await s.clock.tick(1, 1);
      const elected = s.events.find((e) => e.type === 'elected' && e.who !== 'a');
      expect((elected?.at ?? Number.POSITIVE_INFINITY) - at).toBeLessThanOrEqual(1);
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  it('a burst of wake-ups while a claim is in flight costs one more claim, not one each', async () => {
    const s = setup({ wrap: withFaults });
    const store = s.store as ReturnType<typeof withFaults>;
    const b = s.make('b');
    await tryLead(store, { name: 'job', holder: 'x', ttlMs: TTL, maxClockSkewMs: SKEW, clock: s.clock });
    b.start();
    await s.clock.tick(10);
    const before = store.calls.claim;
    // Ten releases and re-claims by x in a row: each notifies b.
    for (let i = 0; i < 10; i++) {
      const lead = await tryLead(store, { name: 'job', holder: 'x', ttlMs: TTL, maxClockSkewMs: SKEW, clock: s.clock });
      await lead.release();
    }
    await tryLead(store, { name: 'job', holder: 'x', ttlMs: TTL, maxClockSkewMs: SKEW, clock: s.clock });
    const xClaims = 11;
    await s.clock.tick(10);
    const bClaims = store.calls.claim - before - xClaims;
    expect(bClaims).toBeGreaterThanOrEqual(1);
    expect(bClaims).toBeLessThanOrEqual(10);
    await b.stop();
  });
});

describe('elector.handover(successor)', () => {
  it('the named successor leads next every time, at once, with a larger token; nobody overlaps', async () => {
    const s = setup();
    await threeWithALeading(s);
    const holders = ['a', 'b', 'c'];
    let leader = 'a';
    let token = 1;
    for (let round = 0; round < 12; round++) {
      const successor = holders.filter((h) => h !== leader)[round % 2] as string;
      const at = s.clock.monotonic();
      const from = s.events.length;
      expect(await s.electorOf(leader).handover(successor)).toBe(true);
      await s.clock.tick(1, 1);
      const elected = s.events.slice(from).filter((e) => e.type === 'elected');
      expect(elected.map((e) => e.who)).toEqual([successor]);
      expect((elected[0]?.at ?? Number.POSITIVE_INFINITY) - at).toBeLessThanOrEqual(1);
      const lost = s.events.slice(from).find((e) => e.type === 'lost' && e.who === leader);
      expect(lost?.type === 'lost' && lost.reason).toBe('handed-over');
      const newToken = elected[0]?.type === 'elected' ? elected[0].lead.token : 0;
      expect(newToken).toBe(token + 1);
      token = newToken;
      expect(s.leaderNow()).toEqual([successor]);
      leader = successor;
      // It renews on; the old leader stands aside for the window, then follows.
      await s.clock.tick(RETRY * 3);
      expect(s.leaderNow()).toEqual([successor]);
    }
    await Promise.all(holders.map((h) => s.electorOf(h).stop()));
  });

  it('a successor that died: nobody else leads during the window, anyone may after it', async () => {
    const s = setup();
    const { a, b, c } = await threeWithALeading(s);
    await b.stop({ release: false });
    const at = s.clock.monotonic();
    const windowMs = 2 * RETRY;
    expect(await a.handover('b', { windowMs })).toBe(true);
    expect((await getLeader(s.store, 'job', { clock: s.clock }))?.holder).toBe('b');
    // c keeps polling, and is refused while the window lasts.
    await s.clock.tick(windowMs - 50);
    expect(s.leaderNow()).toEqual([]);
    await s.clock.tick(RETRY + 100);
    const elected = s.events.find((e) => e.type === 'elected' && e.at > at);
    expect(elected).toBeDefined();
    expect((elected?.at ?? 0) - at).toBeGreaterThanOrEqual(windowMs);
    expect((elected?.at ?? Number.POSITIVE_INFINITY) - at).toBeLessThanOrEqual(windowMs + RETRY);
    expect(s.leaderNow()).toHaveLength(1);
    await Promise.all([a.stop(), c.stop()]);
  });

  it('a follower that hands over writes nothing and returns false', async () => {
    const s = setup();
    const { a, b, c } = await threeWithALeading(s);
    const before = await s.memory.read('job');
    expect(await b.handover('c')).toBe(false);
    expect((await s.memory.read('job')).record).toEqual(before.record);
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it('refuses bad input with a typed error and writes nothing', async () => {
    const s = setup();
    const { a, b, c } = await threeWithALeading(s);
    const before = (await s.memory.read('job')).record;
    await expect(a.handover('a')).rejects.toMatchObject({ code: 'INVALID_HOLDER' });
    await expect(a.handover('has space')).rejects.toMatchObject({ code: 'INVALID_HOLDER' });
    await expect(a.handover(42 as unknown as string)).rejects.toMatchObject({ code: 'INVALID_HOLDER' });
    await expect(a.handover('b', { windowMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(a.handover('b', { windowMs: Number.NaN })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(handOver(s.store, { name: 'job', holder: 'a', successor: 'b' } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('windowMs'),
    });
    await expect(handOver(s.store, { name: 'job', holder: 'a', successor: 'a', windowMs: 10 })).rejects.toMatchObject({ code: 'INVALID_HOLDER' });
    await expect(handOver(s.store, { name: 'bad name!', holder: 'a', successor: 'b', windowMs: 10 })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(() => new Elector(s.store, { name: 'job', holder: 'z', wakeOnPush: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect((await s.memory.read('job')).record).toEqual(before);
    expect(a.isLeader()).toBe(true);
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });
});

describe('preferred leaders (preferred: true asks, preferred: false yields at its next renewal)', () => {
  it('<name>@prefer is reserved: no public call may claim, release or read a request, so no other writer can ask a leader to hand over', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const leader = new Elector(store, {
      name: 'job',
      holder: 'a',
      ttlMs: TTL,
      maxClockSkewMs: SKEW,
      retryEveryMs: RETRY,
      clock,
      keepAlive: false,
      preferred: false,
    });
    leader.start();
    await clock.tick(50);
    expect(leader.isLeader()).toBe(true);
    const refused = async (call: () => Promise<unknown>) => {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'INVALID_NAME' });
      expect(String((error as Error).message)).toContain('@prefer');
    };
    await refused(() => tryLead(store, { name: 'job@prefer', holder: 'intruder', ttlMs: TTL, maxClockSkewMs: SKEW, clock }));
    await refused(() => getLeader(store, 'job@prefer', { clock }));
    await refused(() => release(store, { name: 'job@prefer', holder: 'intruder', clock }));
    await refused(() => runExclusive(store, { name: 'job@prefer', holder: 'intruder', ttlMs: TTL, maxClockSkewMs: SKEW, clock }, () => 1));
    expect(() => new Elector(store, { name: 'job@prefer', holder: 'x', ttlMs: TTL, maxClockSkewMs: SKEW, clock })).toThrow(/@prefer/);
    // Nothing was written, and the leader never handed over.
    expect(await withInternalNames(() => getLeader(store, 'job@prefer', { clock }))).toBeNull();
    for (let i = 0; i < 20; i++) await clock.tick(TTL / 10);
    expect(leader.isLeader()).toBe(true);
    await leader.stop();
  });

  function preferSetup() {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const events: (ElectorEvent & { who: string; at: number })[] = [];
    const electors: Elector[] = [];
    const make = (holder: string, preferred: boolean) => {
      const elector = new Elector(store, { name: 'job', holder, ttlMs: TTL, maxClockSkewMs: SKEW, retryEveryMs: RETRY, clock, keepAlive: false, preferred });
      elector.on((e) => events.push({ ...e, who: holder, at: clock.monotonic() }));
      electors.push(elector);
      return elector;
    };
    const leaders = () => electors.filter((e) => e.isLeader()).length;
    return { clock, store, events, make, electors, leaders };
  }

  it('a preferred contender that joins leads within one poll and one renewal, and keeps leading', async () => {
    const s = preferSetup();
    const a = s.make('a', false);
    a.start();
    await s.clock.tick(50);
    s.make('c', false).start();
    await s.clock.tick(RETRY * 2);
    expect(a.isLeader()).toBe(true);
    const joined = s.clock.monotonic();
    const b = s.make('b', true);
    b.start();
    const renewEvery = TTL / 3;
    for (let t = 0; t < RETRY + renewEvery + 100 && !b.isLeader(); t += 10) {
      await s.clock.tick(10);
      expect(s.leaders()).toBeLessThanOrEqual(1);
    }
    expect(b.isLeader()).toBe(true);
    expect(s.clock.monotonic() - joined).toBeLessThanOrEqual(RETRY + renewEvery + 50);
    const lost = s.events.find((e) => e.type === 'lost' && e.who === 'a');
    expect(lost?.type === 'lost' && lost.reason).toBe('handed-over');
    // The request is withdrawn once it leads, and a preferred leader never yields.
    expect(await withInternalNames(() => getLeader(s.store, 'job@prefer', { clock: s.clock }))).toBeNull();
    for (let i = 0; i < 30; i++) {
      await s.clock.tick(TTL / 10);
      expect(s.leaders()).toBe(1);
    }
    expect(b.isLeader()).toBe(true);
    await Promise.all(s.electors.map((e) => e.stop()));
  });

  it('a request by a contender that died costs at most its ttl: then a leader settles and stays', async () => {
    const s = preferSetup();
    const a = s.make('a', false);
    a.start();
    await s.clock.tick(50);
    s.make('c', false).start();
    await s.clock.tick(RETRY);
    // A preferred process asked, then died without withdrawing (its request lease runs out after TTL).
    await withInternalNames(() => tryLead(s.store, { name: 'job@prefer', holder: 'ghost', ttlMs: TTL, maxClockSkewMs: SKEW, clock: s.clock }));
    for (let i = 0; i < 60; i++) {
      await s.clock.tick(TTL / 10);
      expect(s.leaders()).toBeLessThanOrEqual(1);
    }
    const handed = s.events.filter((e) => e.type === 'lost' && e.reason === 'handed-over');
    // Each yielding leader hands over to that request once at most.
    expect(handed.length).toBeGreaterThanOrEqual(1);
    expect(handed.length).toBeLessThanOrEqual(2);
    const settled = s.clock.monotonic();
    await s.clock.tick(TTL * 2);
    expect(s.leaders()).toBe(1);
    expect(s.events.filter((e) => e.type === 'elected' && e.at > settled)).toEqual([]);
    await Promise.all(s.electors.map((e) => e.stop()));
  });

  it('refuses a non-boolean preferred and a name too long for its request lease', () => {
    const store = new MemoryStore();
    expect(() => new Elector(store, { name: 'job', holder: 'a', preferred: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => new Elector(store, { name: 'n'.repeat(125), holder: 'a', preferred: true })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => new Elector(store, { name: 'n'.repeat(125), holder: 'a' })).not.toThrow();
  });
});
