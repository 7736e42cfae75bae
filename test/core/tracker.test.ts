import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { withFaults } from '../../src/testing/faults.js';
import { Tracker, type TrackerEvent, type TrackerOptions } from '../../src/tracker/index.js';

const TTL = 3_000;
const SKEW = 500;
const POLL = 1_000;
const NAMES = Array.from({ length: 12 }, (_, i) => `shard-${i}`);

/** A seeded generator (mulberry32), so each tracker jitters differently but every run is the same. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Counts the store calls that reach `store`, by lease name, with the clock's monotonic time of each. */
function counting(store: Store, clock: ManualClock) {
  const calls: { name: string; at: number; op: string }[] = [];
  const note = <T>(op: string, name: string, call: () => Promise<T>): Promise<T> => {
    calls.push({ name, at: clock.monotonic(), op });
    return call();
  };
  const claim = store.claim as NonNullable<Store['claim']>;
  const releaseHolder = store.releaseHolder as NonNullable<Store['releaseHolder']>;
  const wrapped: Store = {
    kind: store.kind,
    clockSource: store.clockSource,
    read: (name, o) => note('read', name, () => store.read(name, o)),
    create: (w, o) => note('create', w.name, () => store.create(w, o)),
    replace: (v, w, o) => note('replace', w.name, () => store.replace(v, w, o)),
    claim: (r, o) => note('claim', r.name, () => claim.call(store, r, o)),
    releaseHolder: (n, h, v, c, o) => note('release', n, () => releaseHolder.call(store, n, h, v, c, o)),
  };
  return { store: wrapped, calls };
}

type Logged = TrackerEvent & { who: string; at: number };

function setup(clockSource: 'store' | 'client' = 'store') {
  const clock = new ManualClock();
  const memory = new MemoryStore({ clock, clockSource });
  const events: Logged[] = [];
  const trackers = new Map<string, Tracker>();
  const make = (holder: string, extra: Partial<TrackerOptions> = {}, store: Store = memory) => {
    const tracker = new Tracker(store, {
      group: 'grp',
      names: NAMES,
      holder,
      ttlMs: TTL,
      maxClockSkewMs: SKEW,
      pollEveryMs: POLL,
      minHoldMs: 2_000,
      resignOdds: 1,
      claimStaggerMs: 20,
      clock,
      random: seeded(holder.length * 7919 + holder.charCodeAt(holder.length - 1)),
      ...extra,
    });
    tracker.on((e) => events.push({ ...e, who: holder, at: clock.monotonic() }));
    trackers.set(holder, tracker);
    return tracker;
  };
  /** No name is held by two trackers at once, by their own (validity-checked) account. */
  const exclusive = () => {
    for (const name of NAMES) {
      const holders = [...trackers.entries()].filter(([, t]) => t.lease(name) !== undefined).map(([h]) => h);
      expect(holders.length, `holders of ${name}: ${holders.join(', ')}`).toBeLessThanOrEqual(1);
    }
  };
  /** Advances `ms` in steps, checking exclusivity after each. */
  const run = async (ms: number, step = 50) => {
    for (let done = 0; done < ms; done += step) {
      await clock.tick(step);
      exclusive();
    }
  };
  const counts = () => [...trackers.values()].map((t) => t.held().length);
  return { clock, memory, events, make, run, counts, exclusive };
}

describe('Tracker', () => {
  it('three trackers over 12 names settle at 4 each, matching the store', async () => {
    const { make, run, counts, memory, clock, events } = setup();
    const all = ['a', 'b', 'c'].map((h) => make(h));
    for (const t of all) void t.start();
    await run(POLL * 4);
    expect(counts()).toEqual([4, 4, 4]);
    for (const t of all) expect(t.contenders).toBe(3);
    for (const t of all) expect(t.share).toBe(4);
    for (const [i, t] of all.entries()) {
      for (const name of t.held()) {
        const leader = await getLeader(memory, name, { clock });
        expect(leader?.holder).toBe(['a', 'b', 'c'][i]);
        expect(leader?.token).toBe(t.lease(name)?.token);
      }
    }
    // A fleet started together splits at once: nothing was given back to rebalance.
    expect(events.filter((e) => e.type === 'lost')).toEqual([]);
    await Promise.all(all.map((t) => t.stop()));
  });

  it('the first round only joins: names are claimed from the second round on', async () => {
    const { make, clock, events } = setup();
    const a = make('a');
    void a.start();
    await clock.tick(POLL / 2);
    expect(a.held()).toEqual([]);
    expect(events.filter((e) => e.type === 'share')).toHaveLength(1);
    await clock.tick(POLL);
    expect(a.held()).toHaveLength(12);
    await a.stop();
  });

  it('a joiner gets its share: the others give the excess up after minHoldMs, never before', async () => {
    const { make, run, counts, events, clock } = setup();
    const a = make('a');
    const b = make('b');
    void a.start();
    void b.start();
    await run(POLL * 3);
    expect(counts()).toEqual([6, 6]);
    const joinedAt = clock.monotonic();
    const c = make('c');
    void c.start();
    await run(POLL * 8);
    expect(counts()).toEqual([4, 4, 4]);
    const resigned = events.filter((e) => e.type === 'lost' && e.reason === 'resigned');
    expect(resigned).toHaveLength(4);
    for (const e of resigned) {
      if (e.type !== 'lost') continue;
      // Held at least minHoldMs (2 000 ms), and given up only once the joiner was counted.
      expect(e.at - e.lease.heldSince).toBeGreaterThanOrEqual(2_000);
      expect(e.at).toBeGreaterThan(joinedAt);
      expect(e.lease.signal.aborted).toBe(true);
    }
    // Each resigned name went to the joiner with a larger token.
    for (const e of resigned) {
      if (e.type !== 'lost') continue;
      expect(c.lease(e.name)?.token).toBeGreaterThan(e.lease.token);
    }
    await Promise.all([a, b, c].map((t) => t.stop()));
  });

  it('minHoldMs keeps a fresh name even when over the share', async () => {
    const { make, run, counts, events } = setup();
    const a = make('a', { minHoldMs: 20_000 });
    void a.start();
    await run(POLL * 3);
    const b = make('b');
    void b.start();
    await run(POLL * 10); // 10 s: below a's 20 s minimum hold
    expect(counts()).toEqual([12, 0]);
    expect(events.filter((e) => e.type === 'lost')).toEqual([]);
    expect(b.share).toBe(6);
    await run(12_000);
    expect(counts()).toEqual([6, 6]);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('resignOdds: an excess name is given up with 1-in-N odds per round', async () => {
    const { make, run, counts, events } = setup();
    let draw = 0.9; // 0.9 * 2 >= 1: never
    const a = make('a', { resignOdds: 2, random: () => draw });
    void a.start();
    await run(POLL * 3);
    const b = make('b');
    void b.start();
    await run(POLL * 6);
    expect(counts()).toEqual([12, 0]);
    expect(events.filter((e) => e.type === 'lost')).toEqual([]);
    draw = 0.4; // 0.4 * 2 < 1: resign
    await run(POLL * 3);
    expect(counts()).toEqual([6, 6]);
    await Promise.all([a.stop(), b.stop()]);
  });

  for (const clockSource of ['store', 'client'] as const) {
    it(`a crashed tracker's names are taken within ttl + skew + poll, with larger tokens (${clockSource} clock)`, async () => {
      const { make, run, counts, events, clock } = setup(clockSource);
      const all = ['a', 'b', 'c'].map((h) => make(h));
      for (const t of all) void t.start();
      await run(POLL * 4);
      expect(counts()).toEqual([4, 4, 4]);
      const victim = all[2] as Tracker;
      const orphaned = new Map(victim.held().map((n) => [n, victim.lease(n)?.token ?? 0]));
      // A crash: no release, no more rounds (stop({ release: false }) ends the rounds and leaves the leases).
      const killedAt = clock.monotonic();
      await victim.stop({ release: false });
      await run(TTL + SKEW + POLL + 200);
      expect(counts().slice(0, 2)).toEqual([6, 6]);
      for (const [name, token] of orphaned) {
        const taken = events.find((e) => e.type === 'elected' && e.name === name && e.who !== 'c' && e.at > killedAt);
        expect(taken, name).toBeDefined();
        expect((taken?.at ?? Number.POSITIVE_INFINITY) - killedAt).toBeLessThanOrEqual(TTL + SKEW + POLL);
        expect(taken?.type === 'elected' && taken.lease.token).toBeGreaterThan(token);
      }
      await Promise.all(all.map((t) => t.stop()));
    });
  }

  it('stop() releases every name and the member slot: the others take them at their next round', async () => {
    const { make, run, counts, memory, clock, events } = setup();
    const a = make('a');
    const b = make('b');
    void a.start();
    void b.start();
    await run(POLL * 3);
    const mine = a.held();
    expect(mine).toHaveLength(6);
    const signals = mine.map((n) => a.lease(n)?.signal);
    const stoppedAt = clock.monotonic();
    await a.stop();
    expect(a.held()).toEqual([]);
    expect(signals.every((s) => s?.aborted)).toBe(true);
    expect(events.filter((e) => e.type === 'lost' && e.who === 'a').map((e) => e.type === 'lost' && e.reason)).toEqual(Array(6).fill('stopped'));
    for (const name of mine) expect(await getLeader(memory, name, { clock })).toBeNull();
    const slots = await Promise.all(Array.from({ length: 12 }, (_, i) => getLeader(memory, `grp.member.${i}`, { clock })));
    expect(slots.filter((s) => s !== null).map((s) => s?.holder)).toEqual(['b']);
    await run(POLL * 1.2);
    expect(counts()).toEqual([0, 12]);
    for (const name of mine) {
      const taken = events.find((e) => e.type === 'elected' && e.who === 'b' && e.name === name && e.at > stoppedAt);
      expect((taken?.at ?? Number.POSITIVE_INFINITY) - stoppedAt).toBeLessThanOrEqual(POLL + 100);
    }
    await b.stop();
  });

  it('stop({ release: false }) ends the terms but leaves the leases to run out', async () => {
    const { make, run, memory, clock } = setup();
    const a = make('a');
    void a.start();
    await run(POLL * 2);
    const held = a.held();
    await a.stop({ release: false });
    expect(a.held()).toEqual([]);
    for (const name of held) expect((await getLeader(memory, name, { clock }))?.holder).toBe('a');
  });

  it('one store call per held name per round, and nothing more once settled', async () => {
    const clock = new ManualClock();
    const { store, calls } = counting(new MemoryStore({ clock }), clock);
    const events: TrackerEvent[] = [];
    const a = new Tracker(store, { group: 'grp', names: NAMES, holder: 'a', ttlMs: TTL, maxClockSkewMs: SKEW, pollEveryMs: POLL, clock, random: seeded(1) });
    a.on((e) => events.push(e));
    void a.start();
    await clock.tick(POLL * 3);
    expect(a.held()).toHaveLength(12);
    const from = calls.length;
    await clock.tick(POLL * 5);
    const window = calls.slice(from);
    const rounds = events.filter((e) => e.type === 'renewed' && e.name === 'shard-0').length;
    expect(rounds).toBeGreaterThanOrEqual(5);
    for (const name of NAMES) {
      const forName = window.filter((c) => c.name === name);
      expect(forName.every((c) => c.op === 'claim')).toBe(true);
      expect(forName.length, name).toBeLessThanOrEqual(6);
      expect(forName.length, name).toBeGreaterThanOrEqual(5);
    }
    await a.stop();
  });

  it('with fairShare: false, maxHeld caps and no member slot is written or read', async () => {
    const clock = new ManualClock();
    const { store, calls } = counting(new MemoryStore({ clock }), clock);
    const a = new Tracker(store, { group: 'grp', names: NAMES, holder: 'a', ttlMs: TTL, maxClockSkewMs: SKEW, fairShare: false, maxHeld: 5, clock });
    void a.start();
    await clock.tick(POLL * 3);
    expect(a.held()).toHaveLength(5);
    expect(calls.filter((c) => c.name.startsWith('grp.member.'))).toEqual([]);
    await a.stop();
  });

  it('no thundering herd: trackers start apart, and each spaces its claims out in random order', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore({ clock });
    const trackers = [1, 2, 3].map((seed) => {
      const { store, calls } = counting(memory, clock);
      const tracker = new Tracker(store, {
        group: 'grp',
        names: NAMES,
        holder: `h${seed}`,
        ttlMs: TTL,
        maxClockSkewMs: SKEW,
        pollEveryMs: POLL,
        claimStaggerMs: 50,
        clock,
        random: seeded(seed),
      });
      return { tracker, calls };
    });
    for (const { tracker } of trackers) void tracker.start();
    await clock.tick(POLL * 3, 1);
    // The three first rounds (each begins by reading the member slots) begin at three different instants.
    const firstRounds = trackers.map(({ calls }) => calls.find((c) => c.op === 'read')?.at);
    expect(new Set(firstRounds).size).toBe(3);
    for (const { calls } of trackers) {
      // The claiming round: its claims of names are spread over time, not sent in one burst, and in a random order.
      const claims = calls.filter((c) => c.op === 'claim' && c.name.startsWith('shard-'));
      const round = claims.filter((c) => c.at - (claims[0]?.at ?? 0) < POLL / 2);
      expect(round.length).toBeGreaterThanOrEqual(4);
      expect(new Set(round.map((c) => c.at)).size).toBeGreaterThanOrEqual(round.length - 1);
      expect((round.at(-1)?.at ?? 0) - (round[0]?.at ?? 0)).toBeGreaterThanOrEqual(10 * (round.length - 1));
    }
    const orders = trackers.map(({ calls }) =>
      calls
        .filter((c) => c.op === 'claim' && c.name.startsWith('shard-'))
        .slice(0, 4)
        .map((c) => c.name)
        .join(),
    );
    expect(new Set(orders).size).toBe(3);
    expect(trackers.map(({ tracker }) => tracker.held().length)).toEqual([4, 4, 4]);
    await Promise.all(trackers.map(({ tracker }) => tracker.stop()));
  });

  it('elected hands over a signal per name that stays live across renewals and aborts when taken over', async () => {
    const { make, run, memory, clock, events } = setup();
    const a = make('a');
    void a.start();
    await run(POLL * 2);
    const lease = a.lease('shard-3');
    expect(lease).toBeDefined();
    const elected = events.find((e) => e.type === 'elected' && e.name === 'shard-3');
    expect(elected?.type === 'elected' && elected.lease).toBe(lease);
    await run(TTL * 3); // three lease lengths: renewed, the same term
    expect(lease?.signal.aborted).toBe(false);
    expect(a.lease('shard-3')).toBe(lease);
    expect(events.filter((e) => e.type === 'renewed' && e.name === 'shard-3').length).toBeGreaterThanOrEqual(8);
    // An operator in another process releases it and someone else claims it: a's next renewal sees it taken over.
    // A handle declaring no identity of its own (a wrapper that does not forward it): the core treats it as another
    // process. (genericOnly(memory) forwards the identity, so its release would end a's results here at once.)
    const elsewhere = counting(memory, clock).store;
    await release(elsewhere, { name: 'shard-3', holder: 'a', clock });
    expect(lease?.signal.aborted).toBe(false);
    const intruder = await tryLead(elsewhere, { name: 'shard-3', holder: 'intruder', ttlMs: TTL, maxClockSkewMs: SKEW, clock });
    expect(intruder.isLeader).toBe(true);
    await run(POLL + 100);
    expect(lease?.signal.aborted).toBe(true);
    expect(isLeaseholdError(lease?.signal.reason, 'LEASE_EXPIRED')).toBe(true);
    expect(a.held()).not.toContain('shard-3');
    const lost = events.find((e) => e.type === 'lost' && e.name === 'shard-3');
    expect(lost?.type === 'lost' && lost.reason).toBe('taken-over');
    await a.stop();
  });

  it('a release in this process (lease.lead.release()) ends the term at once: lost "released", and the others may take it', async () => {
    const { make, run, events } = setup();
    const a = make('a');
    void a.start();
    await run(POLL * 2);
    const lease = a.lease('shard-5');
    expect(lease?.stillHeld()).toBe(true);
    await lease?.lead.release();
    expect(lease?.signal.aborted).toBe(true);
    expect(a.held()).not.toContain('shard-5');
    const lost = events.find((e) => e.type === 'lost' && e.name === 'shard-5');
    expect(lost?.type === 'lost' && lost.reason).toBe('released');
    await a.stop();
  });

  it('await using stops the tracker and releases what it held', async () => {
    const { make, run, memory, clock } = setup();
    let held: string[] = [];
    {
      await using a = make('a');
      void a.start();
      await run(POLL * 2);
      held = a.held();
    }
    expect(held).toHaveLength(12);
    for (const name of held) expect(await getLeader(memory, name, { clock })).toBeNull();
  });

  it('held() re-checks validity at each call: after a wall-clock jump nothing is reported held', async () => {
    const { make, run, clock, events } = setup();
    const a = make('a');
    void a.start();
    await run(POLL * 2);
    const leases = a.held().map((n) => a.lease(n));
    expect(leases).toHaveLength(12);
    clock.jumpWall(TTL); // a frozen machine: the wall clock ran on, no timer fired
    expect(a.held()).toEqual([]);
    expect(leases.every((l) => l?.signal.aborted && l.remainingMs() === 0)).toBe(true);
    expect(events.filter((e) => e.type === 'lost' && e.reason === 'expired')).toHaveLength(12);
    await a.stop();
  });

  it('a store outage ends every term no later than its validity, with error events, then recovers', async () => {
    const { make, clock, events } = setup();
    const faulty = withFaults(new MemoryStore({ clock }));
    const a = make('a', {}, faulty);
    void a.start();
    await clock.tick(POLL * 2);
    expect(a.held()).toHaveLength(12);
    const deadlines = a.held().map((n) => a.lease(n)?.lead.validUntil ?? 0);
    faulty.failAll(true);
    await clock.tick(TTL);
    expect(a.held()).toEqual([]);
    const lost = events.filter((e) => e.type === 'lost');
    expect(lost).toHaveLength(12);
    for (const e of lost) expect(e.type === 'lost' && e.reason).toBe('expired');
    expect(Math.max(...lost.map((e) => e.at))).toBeLessThanOrEqual(Math.max(...deadlines));
    expect(events.some((e) => e.type === 'error')).toBe(true);
    faulty.failAll(false);
    await clock.tick(TTL * 2);
    expect(a.held()).toHaveLength(12);
    await a.stop();
  });

  it('start() and stop() are serialized: an unawaited stop then start leaves one consistent tracker', async () => {
    const { make, run, memory, clock } = setup();
    const a = make('a');
    void a.start();
    await run(POLL * 2 + 5, 5); // mid-round
    const stopping = a.stop();
    const starting = a.start();
    await run(POLL * 3);
    await Promise.all([stopping, starting]);
    expect(a.held()).toHaveLength(12);
    for (const name of a.held()) expect((await getLeader(memory, name, { clock }))?.token).toBe(a.lease(name)?.token);
    await a.stop();
    expect(a.held()).toEqual([]);
    for (const name of NAMES) expect(await getLeader(memory, name, { clock })).toBeNull();
  });

  it('stop() during the first in-flight claim leaves nothing held', async () => {
    const { make, memory, clock } = setup();
    const a = make('a', { claimStaggerMs: 100 });
    void a.start();
    // Into the second round, while its staggered claims are under way.
    for (let i = 0; i < 2_000 && a.held().length === 0; i++) await clock.tick(1, 1);
    expect(a.held().length).toBeGreaterThan(0);
    expect(a.held().length).toBeLessThan(12);
    const stopping = a.stop();
    await clock.tick(500);
    await stopping;
    expect(a.held()).toEqual([]);
    for (const name of [...NAMES, ...Array.from({ length: 12 }, (_, i) => `grp.member.${i}`)]) {
      expect(await getLeader(memory, name, { clock }), name).toBeNull();
    }
  });

  it('a listener that throws does not stop the tracker', async () => {
    const { make, run } = setup();
    const a = make('a');
    a.on(() => {
      throw new Error('listener bug');
    });
    void a.start();
    await run(POLL * 2);
    expect(a.held()).toHaveLength(12);
    await a.stop();
  });

  describe('bad options throw a typed error before any I/O', () => {
    const clock = new ManualClock();
    const base: TrackerOptions = { group: 'grp', names: NAMES, holder: 'a', ttlMs: TTL, maxClockSkewMs: SKEW, clock };
    const cases: [string, unknown, string][] = [
      ['no options', undefined, 'INVALID_OPTION'],
      ['a bad group', { ...base, group: 'a b' }, 'INVALID_NAME'],
      ['a group too long for its slots', { ...base, group: 'g'.repeat(120) }, 'INVALID_NAME'],
      ['names not an array', { ...base, names: 'shard-0' }, 'INVALID_OPTION'],
      ['no names', { ...base, names: [] }, 'INVALID_OPTION'],
      ['too many names', { ...base, names: Array.from({ length: 1_001 }, (_, i) => `n${i}`) }, 'INVALID_OPTION'],
      ['a bad name', { ...base, names: ['ok', 'not ok'] }, 'INVALID_NAME'],
      ['a duplicate name', { ...base, names: ['x', 'x'] }, 'INVALID_OPTION'],
      ['a name among the member slots', { ...base, names: ['grp.member.3'] }, 'INVALID_OPTION'],
      ['a bad holder', { ...base, holder: 'a b' }, 'INVALID_HOLDER'],
      ['ttl below skew', { ...base, ttlMs: 400 }, 'INVALID_TTL'],
      ['pollEveryMs past the validity window', { ...base, pollEveryMs: TTL - SKEW }, 'INVALID_OPTION'],
      ['pollEveryMs zero', { ...base, pollEveryMs: 0 }, 'INVALID_OPTION'],
      ['maxHeld zero', { ...base, maxHeld: 0 }, 'INVALID_OPTION'],
      ['maxHeld above the names', { ...base, maxHeld: 13 }, 'INVALID_OPTION'],
      ['maxHeld fractional', { ...base, maxHeld: 2.5 }, 'INVALID_OPTION'],
      ['fairShare not a boolean', { ...base, fairShare: 'no' }, 'INVALID_OPTION'],
      ['fairShare false without maxHeld', { ...base, fairShare: false }, 'INVALID_OPTION'],
      ['maxContenders zero', { ...base, maxContenders: 0 }, 'INVALID_OPTION'],
      ['maxContenders too large', { ...base, maxContenders: 1_001 }, 'INVALID_OPTION'],
      ['minHoldMs negative', { ...base, minHoldMs: -1 }, 'INVALID_OPTION'],
      ['resignOdds zero', { ...base, resignOdds: 0 }, 'INVALID_OPTION'],
      ['resignOdds fractional', { ...base, resignOdds: 1.5 }, 'INVALID_OPTION'],
      ['claimStaggerMs above the round', { ...base, claimStaggerMs: 5_000 }, 'INVALID_OPTION'],
      ['random not a function', { ...base, random: 0.5 }, 'INVALID_OPTION'],
      ['clock not a clock', { ...base, clock: {} }, 'INVALID_OPTION'],
    ];
    for (const [label, options, code] of cases) {
      it(`${label} → ${code}`, () => {
        const { store, calls } = counting(new MemoryStore({ clock }), clock);
        let thrown: unknown;
        try {
          new Tracker(store, options as TrackerOptions);
        } catch (error) {
          thrown = error;
        }
        expect(isLeaseholdError(thrown, code as never), String(thrown)).toBe(true);
        expect(calls).toEqual([]);
      });
    }
    it('a store that is not a store → INVALID_STORE', () => {
      expect(() => new Tracker({} as Store, base)).toThrow(expect.objectContaining({ code: 'INVALID_STORE' }));
    });
    it('a store that sustains fewer writes than a round needs → INVALID_OPTION for a set pollEveryMs; the default adapts', () => {
      const store = { ...new MemoryStore({ clock }), kind: 'slow', clockSource: 'store' as const, limits: { minTtlMs: 1_000, minWriteIntervalMs: 2_000 } };
      const slow: Store = Object.assign(Object.create(MemoryStore.prototype), store);
      expect(() => new Tracker(slow, { ...base, pollEveryMs: 1_000 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
      // Left to the default, the round waits the store's write interval: an option the caller never set never throws.
      expect(() => new Tracker(slow, { ...base, ttlMs: 6_000 })).not.toThrow();
      // A lease too short for any round that store sustains: the error names ttlMs, which the caller set.
      expect(() => new Tracker(slow, { ...base, ttlMs: 2_000, maxClockSkewMs: 300 })).toThrow(expect.objectContaining({ code: 'INVALID_TTL' }));
    });
    it('bad stop options are refused', async () => {
      const t = new Tracker(new MemoryStore({ clock }), base);
      await expect(t.stop(null as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    });
  });
});
