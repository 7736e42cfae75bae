/**
 * The layers above tryLead() keep the lease's promise at their edges: a signal read right after a synchronous block
 * longer than the lease (Elector term, Tracker lease), a started Elector or Tracker keeping its process alive,
 * defaults that are valid for every accepted lease, and slots compared as instants. runExclusive's own edges run on
 * every engine through the conformance suite (src/testing/index.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector } from '../../src/elector.js';
import { isLeaseholdError } from '../../src/errors.js';
import { runExclusive } from '../../src/jobs.js';
import { tryLead } from '../../src/lead.js';
import { compareSlots, readSlot } from '../../src/slot.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { Tracker } from '../../src/tracker/index.js';

const run = promisify(execFile);

describe('a signal is current when read', () => {
  it("an Elector's term signal reads aborted right after a synchronous block longer than the lease, and lost comes first", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const elector = new Elector(store, { name: 'e', holder: 'a', ttlMs: 3_000, maxClockSkewMs: 500, clock, keepAlive: false });
    const events: string[] = [];
    elector.on((e) => events.push(e.type === 'lost' ? `lost:${e.reason}` : e.type));
    elector.start();
    await clock.tick(10);
    const lead = await elector.waitForLeadership();
    const signal = lead.signal;
    expect(signal.aborted).toBe(false);
    clock.pause(3_000); // a handler that blocked the event loop: no timer ran
    expect(elector.isLeader()).toBe(false);
    expect(signal.aborted).toBe(true);
    expect(isLeaseholdError(signal.reason, 'LEASE_EXPIRED')).toBe(true);
    expect(events).toEqual(['elected', 'lost:expired']);
    await elector.stop();
  });

  it("a Tracker lease's signal reads aborted right after a synchronous block longer than the lease", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const tracker = new Tracker(store, {
      group: 'g',
      names: ['n1'],
      holder: 'a',
      ttlMs: 3_000,
      maxClockSkewMs: 500,
      fairShare: false,
      maxHeld: 1,
      clock,
      keepAlive: false,
    });
    await tracker.start();
    await clock.tick(2_000);
    const lease = tracker.lease('n1');
    expect(lease).toBeDefined();
    const signal = lease?.signal as AbortSignal;
    expect(signal.aborted).toBe(false);
    clock.pause(3_000);
    expect(signal.aborted).toBe(true);
    expect(() => signal.throwIfAborted()).toThrow(expect.objectContaining({ code: 'LEASE_EXPIRED' }));
    await tracker.stop();
  });

  it('a listener still hears the abort from the timers, and a live signal stays a real AbortSignal', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const lead = await tryLead(store, { name: 'l', holder: 'a', ttlMs: 3_000, maxClockSkewMs: 500, clock });
    let heard = 0;
    lead.signal.addEventListener('abort', () => heard++);
    const any = AbortSignal.any([lead.signal]);
    expect(lead.signal).toBeInstanceOf(AbortSignal);
    clock.advance(2_500);
    expect(heard).toBe(1);
    expect(any.aborted).toBe(true);
    // Read after the event, nothing fires twice.
    expect(lead.signal.aborted).toBe(true);
    expect(heard).toBe(1);
  });
});

describe('a started Elector or Tracker keeps its process alive until stop()', () => {
  // A process whose only work is an elector on a store with no sockets (as DynamoDB's and Firestore's SDKs keep
  // none open between requests): it must still be running when its own unref'd stop timer fires.
  const script = (component: 'elector' | 'tracker', keepAlive: boolean) => `
    import { Elector } from './src/elector.ts';
    import { Tracker } from './src/tracker/index.ts';
    import { MemoryStore } from './src/stores/memory.ts';
    const store = new MemoryStore();
    const it = ${component === 'elector' ? `new Elector(store, { name: 'k', holder: 'a', ttlMs: 3000, maxClockSkewMs: 500, keepAlive: ${keepAlive} })` : `new Tracker(store, { group: 'g', names: ['n'], holder: 'a', ttlMs: 3000, maxClockSkewMs: 500, fairShare: false, maxHeld: 1, keepAlive: ${keepAlive} })`};
    await it.start();
    console.log('started');
    setTimeout(async () => { await it.stop(); console.log('stopped'); }, 300).unref();
  `;
  for (const component of ['elector', 'tracker'] as const) {
    it(`${component}: runs until stop(), then lets the process exit; keepAlive: false leaves it to the caller`, async () => {
      const kept = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(component, true)], { timeout: 20_000 });
      expect(kept.stdout.trim().split('\n')).toEqual(['started', 'stopped']);
      const left = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(component, false)], { timeout: 20_000 });
      expect(left.stdout.trim().split('\n')).toEqual(['started']);
    });
  }
});

describe('defaults are valid for every accepted lease', () => {
  it('runExclusive, Elector and Tracker accept ttlMs 1500 with the default skew, and renew inside the validity', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    let renewals = 0;
    const outcome = await runExclusive(store, { name: 'short', ttlMs: 1_500, clock }, async ({ lead }) => {
      const first = lead.validUntil;
      await clock.tick(2_000);
      renewals = lead.validUntil > first ? 1 : 0;
      return lead.stillLeader();
    });
    expect(outcome).toMatchObject({ ran: true, result: true, lost: undefined });
    expect(renewals).toBe(1);
    expect(() => new Elector(store, { name: 'short', holder: 'a', ttlMs: 1_500, clock })).not.toThrow();
    expect(() => new Tracker(store, { group: 'g', names: ['x'], holder: 'a', ttlMs: 1_500, clock })).not.toThrow();
  });

  it('any accepted ttlMs and maxClockSkewMs: the defaults never throw (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 1, max: 600_000 }), (skew, extra) => {
        const clock = new ManualClock();
        const store = new MemoryStore({ clock });
        const ttlMs = skew + extra;
        new Elector(store, { name: 'p', holder: 'a', ttlMs, maxClockSkewMs: skew, clock });
        new Tracker(store, { group: 'g', names: ['x'], holder: 'a', ttlMs, maxClockSkewMs: skew, clock });
      }),
      { numRuns: 300 },
    );
  });
});

describe('slots are instants', () => {
  it('orders ISO 8601 of any precision or offset, epoch ms and Date as one timeline', () => {
    expect(compareSlots('2030-01-01T02:00:00.000Z', '2030-01-01T02:00:00Z')).toBe(0);
    expect(compareSlots('2030-01-01T03:00:00+01:00', Date.UTC(2030, 0, 1, 2))).toBe(0);
    expect(compareSlots(new Date(Date.UTC(2030, 0, 1, 2)), '2030-01-01T02:00Z')).toBe(0);
    expect(compareSlots('2030-01-01T02:00:00.500Z', '2030-01-01T02:00:00Z')).toBeGreaterThan(0);
    expect(compareSlots('2030-01-01T02:00:00.0001Z', '2030-01-01T02:00:00Z')).toBeGreaterThan(0);
    expect(compareSlots(Date.UTC(2030, 0, 1, 2, 0, 1), '2030-01-01T02:00:00Z')).toBeGreaterThan(0);
    // No zone reads as UTC (as `date -u` prints it), on every host alike.
    expect(compareSlots('2030-01-01T02:00', '2030-01-01T02:00:00Z')).toBe(0);
    expect(compareSlots('2030-01-01', Date.UTC(2030, 0, 1))).toBe(0);
    expect(compareSlots('batch-10', 'batch-9')).toBeLessThan(0); // keys order as strings
  });

  it('refuses malformed instants and never mixes an instant with a key', () => {
    for (const bad of [
      '2030-13-01T00:00:00Z',
      '2030-02-29',
      '2030-01-01T24:00:00Z',
      '2030-01-01T00:00:00+25:00',
      '',
      Number.NaN,
      new Date(Number.NaN),
      {},
      1n,
    ]) {
      expect(() => readSlot(bad), String(bad)).toThrow(expect.objectContaining({ code: 'INVALID_SLOT' }));
    }
    expect(() => compareSlots('2030-01-01T00:00:00Z', 'batch-1')).toThrow(expect.objectContaining({ code: 'INVALID_SLOT' }));
    expect(() => compareSlots(5, 'batch-1')).toThrow(expect.objectContaining({ code: 'INVALID_SLOT' }));
  });

  it('two ISO strings compare as their instants do (property)', () => {
    const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) });
    const offsetMinutes = fc.integer({ min: -14 * 60, max: 14 * 60 });
    const iso = (ms: number, offset: number) => {
      const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
      const sign = offset < 0 ? '-' : '+';
      const abs = Math.abs(offset);
      return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    };
    fc.assert(
      fc.property(instant, instant, offsetMinutes, offsetMinutes, (a, b, oa, ob) => {
        expect(Math.sign(compareSlots(iso(a, oa), iso(b, ob)))).toBe(Math.sign(a - b));
        expect(compareSlots(iso(a, oa), a)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
