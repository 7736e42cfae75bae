/**
 * The Elector's term, on an injected clock: one signal per term that lives across renewals, events that follow
 * one state machine (never a leadership event with no validity left), serialized start/stop that release exactly
 * the term given up, resign, waitForLeadership and `await using`.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector, type ElectorEvent } from '../../src/elector.js';
import { getLeader, type LeadResult } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { withFaults } from '../../src/testing/faults.js';

const TTL = 1_500;
const SKEW = 100;
const RETRY = 500;

/** A memory store whose next claims can be held at a gate until the test opens it (a claim in flight during a pause). */
function gated(clock: ManualClock) {
  const inner = withFaults(new MemoryStore({ clock }));
  const gates: (() => void)[] = [];
  const releaseGates: (() => void)[] = [];
  let closeNext = 0;
  let closeNextRelease = 0;
  const log: string[] = [];
  const store: Store = {
    kind: inner.kind,
    clockSource: inner.clockSource,
    read: (n, o) => inner.read(n, o),
    create: (w, o) => inner.create(w, o),
    replace: (v, w, o) => inner.replace(v, w, o),
    claim: async (r, o) => {
      log.push(`claim ${r.holder}`);
      if (closeNext > 0) {
        closeNext--;
        await new Promise<void>((resolve) => gates.push(resolve));
      }
      return (inner.claim as NonNullable<Store['claim']>)(r, o);
    },
    releaseHolder: async (n, h, v, c, o) => {
      log.push(`release ${h}`);
      if (closeNextRelease > 0) {
        closeNextRelease--;
        await new Promise<void>((resolve) => releaseGates.push(resolve));
      }
      const out = await (inner.releaseHolder as NonNullable<Store['releaseHolder']>)(n, h, v, c, o);
      log.push(`released ${h}`);
      return out;
    },
  };
  return {
    store,
    inner,
    /** Holds the next claim until {@link open}. */
    close: () => {
      closeNext++;
    },
    open: () => {
      for (const g of gates.splice(0)) g();
    },
    /** Holds the next release until {@link openRelease}. */
    closeRelease: () => {
      closeNextRelease++;
    },
    openRelease: () => {
      for (const g of releaseGates.splice(0)) g();
    },
    log,
  };
}

function setup() {
  const clock = new ManualClock();
  const g = gated(clock);
  const events: (ElectorEvent & { who: string; at: number; valid?: number })[] = [];
  const make = (holder: string, extra: object = {}) => {
    const elector = new Elector(g.store, { name: 'job', holder, ttlMs: TTL, maxClockSkewMs: SKEW, retryEveryMs: RETRY, clock, ...extra });
    elector.on((e) => {
      const valid = 'lead' in e && e.lead && e.type !== 'lost' ? e.lead.remainingMs() : undefined;
      events.push({ ...e, who: holder, at: clock.monotonic(), ...(valid !== undefined ? { valid } : {}) });
    });
    return elector;
  };
  return { clock, ...g, events, make };
}

describe('Elector: one signal per term', () => {
  it('the signal handed over with `elected` stays live across renewals (three lease lengths) and aborts when the term ends', async () => {
    const { clock, inner, events, make } = setup();
    const a = make('a');
    a.start();
    await clock.tick(20);
    const elected = events.find((e) => e.type === 'elected');
    if (elected?.type !== 'elected') throw new Error('not elected');
    const signal = elected.lead.signal;
    expect(a.signal).toBe(signal);
    await clock.tick(TTL * 3);
    expect(a.isLeader()).toBe(true);
    expect(signal.aborted).toBe(false);
    expect(events.filter((e) => e.type === 'renewed').length).toBeGreaterThanOrEqual(8);
    // Every renewal hands over the same term, whose fields follow the latest renewal.
    const renewed = events.filter((e) => e.type === 'renewed');
    for (const e of renewed) if (e.type === 'renewed') expect(e.lead).toBe(elected.lead);
    expect(elected.lead.remainingMs()).toBeGreaterThan(TTL - SKEW - 500 - 1);
    // Renewals fail from now on: the term ends when its validity runs out, not before, not later.
    const validUntil = elected.lead.validUntil;
    inner.failAll(true);
    await clock.tick(TTL * 2);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ code: 'LEASE_EXPIRED' });
    const lost = events.find((e) => e.type === 'lost');
    expect(lost).toMatchObject({ reason: 'expired' });
    expect(lost?.at).toBe(validUntil);
    expect(a.signal.aborted).toBe(true);
    await a.stop();
  });

  it('a release through the term (`lead.release()`) ends it: `lost` with reason released, signal aborted', async () => {
    const { clock, events, make, store } = setup();
    const a = make('a');
    a.start();
    await clock.tick(20);
    const lead = a.current as LeadResult;
    expect(await lead.release()).toBe(true);
    expect(lead.signal.aborted).toBe(true);
    expect(a.isLeader()).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'lost', reason: 'released' });
    expect(await getLeader(store, 'job', { clock })).toBeNull();
    await a.stop();
  });
});

describe('Elector: events follow one state machine', () => {
  /** Checks that events alternate elected (renewed…) lost, and that no leadership event came with no validity. */
  function checkMachine(events: (ElectorEvent & { valid?: number })[]) {
    let leading = false;
    for (const e of events) {
      if (e.type === 'elected') {
        expect(leading, 'elected while already leading').toBe(false);
        expect(e.valid ?? 0, 'elected with no validity left').toBeGreaterThan(0);
        leading = true;
      } else if (e.type === 'renewed') {
        expect(leading, 'renewed without a term').toBe(true);
        expect(e.valid ?? 0, 'renewed with no validity left').toBeGreaterThan(0);
      } else if (e.type === 'lost') {
        expect(leading, 'lost without a term').toBe(true);
        leading = false;
      }
    }
  }

  it('a renewal in flight while the process is paused past its validity: `lost`, and no stale `renewed`/`elected`', async () => {
    const { clock, events, make, close, open } = setup();
    const a = make('a');
    a.start();
    await clock.tick(20);
    close(); // the next renewal leaves; the process is then frozen (SIGSTOP) before its answer arrives
    await clock.tick(RETRY + 10);
    // Frozen: both clocks ran on past the validity, and no timer ran meanwhile.
    clock.pause(TTL * 2);
    // On resume the answer is the first thing the process sees, before any timer: it must not be reported.
    open();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await clock.tick(50);
    checkMachine(events);
    expect(events.filter((e) => e.type === 'lost')).toHaveLength(1);
    await a.stop();
  });

  it('a wall-clock step forward: `lost` (expired) comes before anything the next answer brings', async () => {
    const { clock, events, make } = setup();
    const a = make('a');
    a.start();
    await clock.tick(20);
    clock.jumpWall(TTL);
    await clock.tick(RETRY + 20);
    checkMachine(events);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['elected', 'lost', 'elected']);
    expect(events[1]).toMatchObject({ reason: 'expired' });
    await a.stop();
  });

  it('random pauses, wall steps and outages never break the machine', async () => {
    const { clock, inner, events, make } = setup();
    const a = make('a');
    const b = make('b');
    a.start();
    b.start();
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 200; i++) {
      const r = random();
      if (r < 0.1) clock.jumpWall(TTL * random());
      else if (r < 0.2) inner.failAll(true);
      else if (r < 0.35) inner.failAll(false);
      await clock.tick(50 + 300 * random());
      // Never two leaders by their own account.
      expect(a.isLeader() && b.isLeader()).toBe(false);
    }
    inner.failAll(false);
    checkMachine(events.filter((e) => e.who === 'a'));
    checkMachine(events.filter((e) => e.who === 'b'));
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('Elector: start and stop are serialized', () => {
  it('stop() during the first claim in flight gives back what that claim won', async () => {
    const { clock, store, make, close, open } = setup();
    const a = make('a');
    close();
    a.start();
    await clock.tick(20);
    const stopped = a.stop();
    open();
    await clock.tick(20);
    await stopped;
    expect(a.isLeader()).toBe(false);
    expect(await getLeader(store, 'job', { clock })).toBeNull();
  });

  it('stop() not awaited, then start(): the restart waits for the release, which never clears the restarted term', async () => {
    const { clock, store, make, closeRelease, openRelease, log } = setup();
    const a = make('a');
    a.start();
    await clock.tick(20);
    closeRelease(); // the release is slow
    void a.stop();
    a.start();
    await clock.tick(100);
    expect(log.slice(-1)).toEqual(['release a']); // no claim of the restarted term yet
    openRelease();
    await clock.tick(100);
    expect(log.slice(-3)).toEqual(['release a', 'released a', 'claim a']);
    expect(a.isLeader()).toBe(true);
    expect((await getLeader(store, 'job', { clock }))?.holder).toBe('a');
    await a.stop();
  });

  it('stop() not awaited, then start(), many times with a contender: never two leaders, and the store agrees', async () => {
    const { clock, store, make } = setup();
    const a = make('a');
    const b = make('b');
    a.start();
    await clock.tick(20);
    b.start();
    for (let i = 0; i < 10; i++) {
      const leader = a.isLeader() ? a : b;
      void leader.stop();
      leader.start();
      for (let t = 0; t < 40; t++) {
        await clock.tick(25);
        expect(a.isLeader() && b.isLeader(), `round ${i}`).toBe(false);
        const said = a.isLeader() ? 'a' : b.isLeader() ? 'b' : null;
        if (said) expect((await getLeader(store, 'job', { clock }))?.holder).toBe(said);
      }
    }
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('Elector: resign, waitForLeadership, await using', () => {
  it('resign() gives the lease up, lets another contender take it, and campaigns again after the pause', async () => {
    const { clock, events, make } = setup();
    const a = make('a');
    const b = make('b');
    a.start();
    await clock.tick(20);
    b.start();
    await clock.tick(20);
    expect(await a.resign()).toBe(true);
    expect(events.filter((e) => e.who === 'a').at(-1)).toMatchObject({ type: 'lost', reason: 'resigned' });
    await clock.tick(RETRY + 20);
    expect(b.isLeader()).toBe(true);
    await b.stop();
    await clock.tick(RETRY * 2 + 50);
    expect(a.isLeader()).toBe(true);
    expect(await b.resign()).toBe(false);
    await a.stop();
  });

  it('waitForLeadership() resolves with the term when elected, rejects on abort and with STOPPED on stop', async () => {
    const { clock, make } = setup();
    const a = make('a');
    const b = make('b');
    const waitedA = a.waitForLeadership();
    a.start();
    await clock.tick(20);
    const lead = await waitedA;
    expect(lead).toBe(a.current);
    expect(await a.waitForLeadership()).toBe(lead);
    b.start();
    const controller = new AbortController();
    const aborted = b.waitForLeadership(controller.signal);
    controller.abort(new Error('gave up waiting'));
    await expect(aborted).rejects.toThrow('gave up waiting');
    const stoppedWait = b.waitForLeadership();
    await b.stop();
    await expect(stoppedWait).rejects.toMatchObject({ code: 'STOPPED' });
    await a.stop();
  });

  it('`await using` stops and releases when the scope ends', async () => {
    const { clock, store, make } = setup();
    {
      await using a = make('a');
      a.start();
      await clock.tick(20);
      expect(a.isLeader()).toBe(true);
    }
    expect(await getLeader(store, 'job', { clock })).toBeNull();
  });
});
