/**
 * The identity cases (DESIGN rule "One identity per lease table"), written once and run on every engine: the memory
 * store in test/core/store-identity.test.ts, the real engines in test/system/store-identity.test.ts. Each engine gives
 * the store the results are won through, the other handles on the same lease table in this process, and a store that
 * reaches the same records with its own memory, as another process would (another pool, client or `fetch`).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector, type ElectorEvent } from '../../src/elector.js';
import { isLeaseholdError } from '../../src/errors.js';
import { identityOf } from '../../src/identity.js';
import { getLeader, type LeadResult, release, tryLead } from '../../src/lead.js';
import { type LeaseholdLogger, withLogger } from '../../src/logger/index.js';
import { instrument } from '../../src/otel/index.js';
import type { Store } from '../../src/store.js';
import { genericOnly, withFaults } from '../../src/testing/index.js';

const TTL = 15_000;
let counter = 0;
const fresh = (label: string) => `${label}-${process.pid}-${++counter}`;
const silent: LeaseholdLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The other handles on a store's lease table in this process: its wrappers, and a second instance where one applies. */
export function handlesOf(store: Store, second?: Store): { label: string; store: Store }[] {
  return [
    { label: 'withLogger(store)', store: withLogger(store, silent) },
    { label: 'instrument(store)', store: instrument(store) },
    { label: 'withFaults(store)', store: withFaults(store) },
    { label: 'genericOnly(store)', store: genericOnly(store) },
    ...(second
      ? [
          { label: 'a second instance on the same client and table', store: second },
          { label: 'withLogger(second instance)', store: withLogger(second, silent) },
        ]
      : []),
  ];
}

/** A store that forwards every call to `store` but declares no identity: another process's handle on the same records. */
export function anotherProcess(store: Store): Store {
  const other: Store = {
    kind: store.kind,
    clockSource: store.clockSource,
    read: (n, o) => store.read(n, o),
    create: (w, o) => store.create(w, o),
    replace: (v, w, o) => store.replace(v, w, o),
  };
  const { claim, releaseHolder } = store;
  if (claim) other.claim = (r, o) => claim.call(store, r, o);
  if (releaseHolder) other.releaseHolder = (n, h, v, c, o) => releaseHolder.call(store, n, h, v, c, o);
  return other;
}

export interface Engine {
  /** The store the results are won through. */
  store: Store;
  /** The same lease table through other handles in this process (wrappers, a second instance). */
  handles: { label: string; store: Store }[];
  /** The same records with a memory of their own, as another process reaches them. */
  foreign: Store;
}

/** The cases, for one engine. */
export function describeIdentity(label: string, engine: () => Engine): void {
  describe(`${label}: one identity per lease table`, () => {
    const { store, handles, foreign } = engine();
    const clock = new ManualClock();
    const opts = (name: string, holder: string, renewBelow?: number) => ({ name, holder, ttlMs: TTL, clock, ...(renewBelow ? { renewBelow } : {}) });

    /** Leads through `s`, with the result's signal already made (so the release must abort it, not just find it run out). */
    async function lead(s: Store, name: string, holder = 'a'): Promise<LeadResult> {
      const result = await tryLead(s, opts(name, holder));
      expect(result).toMatchObject({ isLeader: true, leader: holder });
      expect(result.signal.aborted).toBe(false);
      return result;
    }

    it('every handle shares the store’s identity; another process’s does not', () => {
      for (const h of handles) expect(identityOf(h.store), h.label).toBe(identityOf(store));
      expect(identityOf(foreign)).not.toBe(identityOf(store));
    });

    for (const h of handles) {
      describe(`through ${h.label}`, () => {
        it('a release through the store ends the result won through this handle at once (stillLeader, signal)', async () => {
          const name = fresh('rel-in');
          const won = await lead(h.store, name);
          expect(await release(store, { name, holder: 'a', clock })).toBe(true);
          expect(won.stillLeader()).toBe(false);
          expect(won.remainingMs()).toBe(0);
          expect(won.signal.aborted).toBe(true);
          expect(await getLeader(store, name, { clock })).toBeNull();
        });

        it('a release through this handle ends the result won through the store at once (stillLeader, signal)', async () => {
          const name = fresh('rel-out');
          const won = await lead(store, name);
          expect(await release(h.store, { name, holder: 'a', clock })).toBe(true);
          expect(won.stillLeader()).toBe(false);
          expect(won.signal.aborted).toBe(true);
          // The next holder leads alone.
          const next = await lead(foreign, name, 'b');
          expect(next.token).toBe(won.token + 1);
        });

        it('a release through this handle is pinned to the state the holder last saw through the store: delivered late, it leaves a renewal alone', async () => {
          const name = fresh('late');
          const faulty = withFaults(h.store);
          const first = await lead(store, name);
          faulty.failNextWrite('hold');
          // The network holds the release; the caller gives up on it (and its results stop leading at once).
          await expect(release(faulty, { name, holder: 'a', clock })).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
          expect(first.stillLeader()).toBe(false);
          // The holder renews through the store (the same term), then the held release reaches the engine.
          const renewed = await lead(store, name);
          expect(renewed.token).toBe(first.token);
          await faulty.deliverHeld();
          expect(renewed.stillLeader()).toBe(true);
          expect(await getLeader(foreign, name, { clock })).toMatchObject({ holder: 'a', token: first.token });
          expect(await tryLead(foreign, opts(name, 'b'))).toMatchObject({ isLeader: false, leader: 'a' });
          await release(store, { name, holder: 'a', clock });
        });

        it('renewBelow: after a release and takeover through this handle, the warm holder is not answered from memory', async () => {
          const name = fresh('warm-rel');
          const warm = await tryLead(store, opts(name, 'a', 0.5));
          expect(warm.isLeader).toBe(true);
          expect(await tryLead(store, opts(name, 'a', 0.5))).toMatchObject({ isLeader: true, fromMemory: true });
          expect(await release(h.store, { name, holder: 'a', clock })).toBe(true);
          expect((await tryLead(h.store, opts(name, 'b'))).isLeader).toBe(true);
          const again = await tryLead(store, opts(name, 'a', 0.5));
          expect(again.fromMemory).toBeUndefined();
          expect(again).toMatchObject({ isLeader: false, leader: 'b' });
        });

        it('renewBelow: a takeover seen through this handle (getLeader) ends the warm holder’s answers from memory', async () => {
          const name = fresh('warm-get');
          expect((await tryLead(store, opts(name, 'a', 0.5))).isLeader).toBe(true);
          // Another process gives the lease up for a (an operator's release) and takes it; this process sees it through the handle.
          expect(await release(foreign, { name, holder: 'a', clock })).toBe(true);
          expect((await tryLead(foreign, opts(name, 'b'))).isLeader).toBe(true);
          expect(await getLeader(h.store, name, { clock })).toMatchObject({ holder: 'b' });
          const again = await tryLead(store, opts(name, 'a', 0.5));
          expect(again.fromMemory).toBeUndefined();
          expect(again).toMatchObject({ isLeader: false, leader: 'b' });
        });

        it('renewBelow: a takeover seen through this handle (tryLead) ends the warm holder’s answers from memory', async () => {
          const name = fresh('warm-try');
          expect((await tryLead(store, opts(name, 'a', 0.5))).isLeader).toBe(true);
          expect(await release(foreign, { name, holder: 'a', clock })).toBe(true);
          expect((await tryLead(foreign, opts(name, 'b'))).isLeader).toBe(true);
          expect(await tryLead(h.store, opts(name, 'c'))).toMatchObject({ isLeader: false, leader: 'b' });
          const again = await tryLead(store, opts(name, 'a', 0.5));
          expect(again.fromMemory).toBeUndefined();
          expect(again).toMatchObject({ isLeader: false, leader: 'b' });
        });

        it('an Elector on this handle loses (released) when the store releases its lease', async () => {
          const name = fresh('elector');
          const elector = new Elector(h.store, { name, holder: 'a', ttlMs: TTL, clock });
          const events: ElectorEvent[] = [];
          elector.on((e) => events.push(e));
          elector.start();
          clock.advance(0); // the first attempt runs at once, on the elector's clock
          const term = await elector.waitForLeadership();
          try {
            expect(await release(store, { name, holder: 'a', clock })).toBe(true);
            expect(term.stillLeader()).toBe(false);
            expect(elector.isLeader()).toBe(false);
            // Told within the term's check interval (one second), long before the lease (15 s) would have run out.
            clock.advance(1_000);
            expect(events.filter((e) => e.type === 'lost')).toEqual([expect.objectContaining({ type: 'lost', reason: 'released' })]);
            expect(term.signal.aborted).toBe(true);
          } finally {
            await elector.stop({ release: false });
          }
        });
      });
    }
  });
}
