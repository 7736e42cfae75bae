/**
 * `leasehold/testing`: the one conformance suite every store passes, against a real engine.
 * Third parties call {@link describeStoreConformance} from a vitest file to test their own store.
 * @module
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../clock.js';
import { isLeaseholdError } from '../errors.js';
import { jobStatus, runExclusive } from '../jobs.js';
import { getLeader, handOver, release, tryLead } from '../lead.js';
import { DEFAULT_STORE_TIMEOUT_MS } from '../options.js';
import type { ClaimRequest, LeaseWrite, ReleaseCallOptions, Store, StoreCallOptions } from '../store.js';
import { genericOnly, withFaults } from './faults.js';

export { type FaultyStore, genericOnly, type WriteFault, withFaults } from './faults.js';

/** What a store's test file gives the suite. */
export interface ConformanceHarness {
  /** A store over a real engine. Names used by the suite are unique per test, so one store may serve all tests. */
  store: Store;
  /** The callers' clock. For a store that reads the same clock (MemoryStore), pass that clock here too. */
  clock: ManualClock;
  /**
   * Makes the live lease `name` expire on the judging clock. Needed for stores that judge expiry by the
   * database's clock (e.g. set `expires_at` to the past); client-clock stores may omit it, and the suite
   * advances `clock` past `expiresAt + maxClockSkewMs` instead.
   */
  expire?: (name: string) => Promise<void>;
  /** Called after each test. */
  cleanup?: () => Promise<void>;
}

/** Options of {@link describeStoreConformance}. */
export interface ConformanceOptions {
  /** Concurrent contenders per round in the race test (default 16). */
  contenders?: number;
  /** Rounds of the race test (default 20). */
  rounds?: number;
  /** Names in the many-names test (default 50). */
  names?: number;
  /**
   * Cases this engine cannot judge, each with the reason that is reported in their place (never skipped
   * silently). `race`: the concurrent-contenders case, e.g. for an emulator without compare-and-swap isolation.
   */
  skip?: { race?: string };
  /**
   * How the store takes a handover (`handOver()`): `'reserves'` (default) writes the successor as holder for the
   * window; `'releases'` is for a store that refuses any change of holder on a live lease (the Durable Object, whose
   * guard against requests sent straight to its binding cannot tell a handover from a takeover): the case then checks
   * that `handOver()` releases the lease instead and answers `false`.
   */
  handover?: 'reserves' | 'releases';
}

/** A test case's options in a message (JSON with bigints and functions shown, never throwing). */
function describeCase(options: unknown): string {
  try {
    return JSON.stringify(options, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? `[function]` : v));
  } catch {
    return String(options);
  }
}

const TTL = 10_000;
const SKEW = 1_000;
let counter = 0;

/**
 * Defines the conformance suite for one store, run twice when the store has fused paths: once through
 * them and once through the core's generic read → create/compare-and-swap path, so the two must agree.
 * @example
 * describeStoreConformance('memory', () => { const clock = new ManualClock(); return { clock, store: new MemoryStore({ clock }) } })
 */
export function describeStoreConformance(label: string, setup: () => ConformanceHarness | Promise<ConformanceHarness>, options: ConformanceOptions = {}): void {
  const contenders = options.contenders ?? 16;
  const rounds = options.rounds ?? 20;
  const nameCount = options.names ?? 50;

  for (const path of ['fused', 'generic'] as const) {
    describe(`${label} conformance (${path} path)`, () => {
      let h: ConformanceHarness;
      let store: Store;
      let name: string;
      const opts = (holder: string, extra: object = {}) => ({ name, holder, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock, ...extra });
      const expire = async (n: string) => {
        if (h.expire) await h.expire(n);
        else h.clock.advance(TTL + SKEW + 1);
      };
      const fresh = async () => {
        h = await setup();
        if (path === 'fused' && !h.store.claim) return false;
        store = path === 'generic' ? genericOnly(h.store) : h.store;
        name = `conf-${path}-${Date.now().toString(36)}-${counter++}`;
        return true;
      };
      afterEach(async () => {
        await h?.cleanup?.();
      });

      it('acquires a lease nobody ever held', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const lead = await tryLead(store, opts('a', { data: '{"job":1}' }));
        expect(lead.isLeader).toBe(true);
        expect(lead.leader).toBe('a');
        expect(lead.token).toBeGreaterThan(0);
        expect(lead.data).toBe('{"job":1}');
        expect(lead.remainingMs()).toBe(TTL - SKEW);
        expect(lead.validUntil).toBe(h.clock.monotonic() + TTL - SKEW);
        expect(lead.signal.aborted).toBe(false);
        const seen = await getLeader(store, name, { clock: h.clock, maxClockSkewMs: SKEW });
        expect(seen).toMatchObject({ holder: 'a', token: lead.token, data: '{"job":1}' });
      });

      it('reports nobody for a name never claimed', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
      });

      it('renewal keeps the token and the acquisition time', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const first = await tryLead(store, opts('a'));
        h.clock.advance(2_000);
        const second = await tryLead(store, opts('a'));
        expect(second.isLeader).toBe(true);
        expect(second.token).toBe(first.token);
        expect(second.acquiredAt).toBe(first.acquiredAt);
        expect(second.remainingMs()).toBe(TTL - SKEW);
      });

      it('does not take a live lease, and reports its holder', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const a = await tryLead(store, opts('a', { data: 'from-a' }));
        const b = await tryLead(store, opts('b'));
        expect(b.isLeader).toBe(false);
        expect(b.leader).toBe('a');
        expect(b.token).toBe(a.token);
        expect(b.data).toBe('from-a');
        expect(b.expiresAt).toBe(a.expiresAt);
        expect(b.remainingMs()).toBe(0);
        expect(b.signal.aborted).toBe(true);
        expect(b.signal.reason).toMatchObject({ code: 'LEASE_EXPIRED' });
        expect(await tryLead(store, opts('a'))).toMatchObject({ isLeader: true, token: a.token });
      });

      it('takes over an expired lease with a larger token; the old holder can neither renew nor release', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const a = await tryLead(store, opts('a'));
        await expire(name);
        const b = await tryLead(store, opts('b'));
        expect(b.isLeader).toBe(true);
        expect(b.token).toBeGreaterThan(a.token);
        const staleRenew = await tryLead(store, opts('a'));
        expect(staleRenew).toMatchObject({ isLeader: false, leader: 'b', token: b.token });
        expect(await release(store, { name, holder: 'a', clock: h.clock })).toBe(false);
        expect(await getLeader(store, name, { clock: h.clock, maxClockSkewMs: SKEW })).toMatchObject({ holder: 'b', token: b.token });
      });
      it('a holder whose own lease ran out starts a new term with a larger token', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const first = await tryLead(store, opts('a'));
        await expire(name);
        // The lapsed term may still have a paused run writing with the old token: the new token fences it off.
        const again = await tryLead(store, opts('a'));
        expect(again).toMatchObject({ isLeader: true, leader: 'a' });
        expect(again.token).toBeGreaterThan(first.token);
        const renewed = await tryLead(store, opts('a'));
        expect(renewed).toMatchObject({ isLeader: true, token: again.token, acquiredAt: again.acquiredAt });
      });

      it('client-clock stores wait out the skew bound before a takeover', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        if (h.store.clockSource !== 'client') return ctx.skip('store judges expiry by its own clock; skew does not apply');
        await tryLead(store, opts('a'));
        h.clock.advance(TTL + SKEW);
        expect((await tryLead(store, opts('b'))).isLeader).toBe(false);
        h.clock.advance(1);
        expect((await tryLead(store, opts('b'))).isLeader).toBe(true);
      });

      it('release hands over at once and keeps the token counter', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const a = await tryLead(store, opts('a'));
        expect(await release(store, { name, holder: 'b', clock: h.clock })).toBe(false);
        expect(await getLeader(store, name, { clock: h.clock })).toMatchObject({ holder: 'a' });
        expect(await release(store, { name, holder: 'a', clock: h.clock })).toBe(true);
        expect(await release(store, { name, holder: 'a', clock: h.clock })).toBe(false);
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
        const b = await tryLead(store, opts('b'));
        expect(b.isLeader).toBe(true);
        expect(b.token).toBeGreaterThan(a.token);
        expect(await release(store, { name, holder: 'b', clock: h.clock })).toBe(true);
        const again = await tryLead(store, opts('b'));
        expect(again.isLeader).toBe(true);
        expect(again.token).toBeGreaterThan(b.token);
      });

      it('handOver reserves the lease for the named successor: others are refused, the successor leads with a larger token; past the window anyone may', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const a = await tryLead(store, opts('a'));
        expect(await handOver(store, { name, holder: 'b', successor: 'c', windowMs: TTL, clock: h.clock })).toBe(false);
        expect(await getLeader(store, name, { clock: h.clock })).toMatchObject({ holder: 'a', token: a.token });
        const reserves = (options.handover ?? 'reserves') === 'reserves';
        expect(await handOver(store, { name, holder: 'a', successor: 'b', windowMs: TTL, clock: h.clock })).toBe(reserves);
        // The moment it is called, the old holder's results stop leading.
        expect(a.stillLeader()).toBe(false);
        expect(a.signal.aborted).toBe(true);
        if (!reserves) {
          // Released instead: nobody holds it, the token is kept, and the next claim (anyone's) takes token + 1.
          expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
          expect(await tryLead(store, opts('c'))).toMatchObject({ isLeader: true, token: a.token + 1 });
          return;
        }
        // Reserved: neither a third contender nor the old holder gets it during the window.
        expect(await tryLead(store, opts('c'))).toMatchObject({ isLeader: false, leader: 'b' });
        expect(await tryLead(store, opts('a'))).toMatchObject({ isLeader: false, leader: 'b' });
        const b = await tryLead(store, opts('b'));
        expect(b.isLeader).toBe(true);
        expect(b.token).toBe(a.token + 1);
        expect(b.remainingMs()).toBe(TTL - SKEW);
        // A successor that never claims: past the window the reservation is an expired lease, and anyone takes it.
        expect(await handOver(store, { name, holder: 'b', successor: 'gone', windowMs: TTL, clock: h.clock })).toBe(true);
        expect(await tryLead(store, opts('c'))).toMatchObject({ isLeader: false, leader: 'gone' });
        await expire(name);
        const c = await tryLead(store, opts('c'));
        expect(c.isLeader).toBe(true);
        expect(c.token).toBe(b.token + 2);
      });

      it('validity runs out on the monotonic clock, or earlier when the wall clock jumps', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const lead = await tryLead(store, opts('a'));
        const signal = lead.signal;
        h.clock.advance(TTL - SKEW - 1);
        expect(lead.remainingMs()).toBe(1);
        expect(signal.aborted).toBe(false);
        h.clock.advance(1);
        expect(lead.stillLeader()).toBe(false);
        expect(signal.aborted).toBe(true);
        const renewed = await tryLead(store, opts('a'));
        expect(renewed.stillLeader()).toBe(true);
        // A frozen machine: the monotonic clock stood still while real (wall) time went on.
        h.clock.jumpWall(TTL);
        expect(renewed.remainingMs()).toBe(0);
      });

      it(`${contenders} concurrent contenders: exactly one winner per round, tokens strictly rising`, async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        if (options.skip?.race) return ctx.skip(options.skip.race);
        let lastToken = 0;
        for (let round = 0; round < rounds; round++) {
          const results = await Promise.all(Array.from({ length: contenders }, (_, i) => tryLead(store, opts(`r${round}-c${i}`))));
          const winners = results.filter((r) => r.isLeader);
          expect(winners).toHaveLength(1);
          const winner = winners[0];
          if (!winner) throw new Error('unreachable');
          expect(winner.token).toBeGreaterThan(lastToken);
          lastToken = winner.token;
          for (const r of results) expect({ leader: r.leader, token: r.token }).toEqual({ leader: winner.leader, token: winner.token });
          // Alternate the two ways a lease falls vacant.
          if (round % 2 === 0) expect(await release(store, { name, holder: winner.leader ?? '', clock: h.clock })).toBe(true);
          else await expire(name);
        }
      });

      it(`${nameCount} names do not interfere`, async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const names = Array.from({ length: nameCount }, (_, i) => `${name}-${i}`);
        const leads = await Promise.all(names.map((n, i) => tryLead(store, { ...opts(`h${i}`), name: n })));
        expect(leads.every((l) => l.isLeader)).toBe(true);
        expect(await release(store, { name: names[0] ?? '', holder: 'h0', clock: h.clock })).toBe(true);
        const seen = await Promise.all(names.map((n) => getLeader(store, n, { clock: h.clock })));
        expect(seen[0]).toBeNull();
        seen.slice(1).forEach((s, i) => {
          expect(s?.holder).toBe(`h${i + 1}`);
        });
      });

      it('a write whose answer was lost after it applied is recognised as this caller’s own', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
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
        if (!(await fresh())) return ctx.skip('store has no fused claim');
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
        if (!(await fresh())) return ctx.skip('store has no fused claim');
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
        if (!(await fresh())) return ctx.skip('store has no fused claim');
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
        if (!(await fresh())) return ctx.skip('store has no fused claim');
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
        if (!(await fresh())) return ctx.skip('store has no fused claim');
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

      it('runExclusive: 10 concurrent triggers of one slot run the job once; a repeat, or an older slot, does not run', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        let runs = 0;
        const job = async ({ signal, token }: { signal: AbortSignal; token: number }) => {
          expect(signal.aborted).toBe(false);
          runs++;
          await new Promise((resolve) => setTimeout(resolve, 20));
          return token;
        };
        const run = (slot: string) => runExclusive(store, { name, slot, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock }, job);
        const outcomes = await Promise.all(Array.from({ length: 10 }, () => run('2030-01-01T00:00:00Z')));
        expect(runs).toBe(1);
        const ran = outcomes.filter((o) => o.ran);
        expect(ran).toHaveLength(1);
        expect(ran[0]).toMatchObject({ ran: true, slotRecorded: true, lost: undefined });
        for (const o of outcomes) if (!o.ran) expect(['held', 'done']).toContain(o.reason);
        // The lease was released at the end; the slot is done, for any later delivery and any older slot.
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
        expect(await run('2030-01-01T00:00:00Z')).toMatchObject({ ran: false, reason: 'done', doneSlot: Date.UTC(2030, 0, 1) });
        // One instant, written another way, is the same slot.
        expect(await run('2030-01-01T01:00:00.000+01:00')).toMatchObject({ ran: false, reason: 'done', doneSlot: Date.UTC(2030, 0, 1) });
        expect(await run('2029-12-31T23:00:00Z')).toMatchObject({ ran: false, reason: 'done' });
        expect(runs).toBe(1);
        expect(await run('2030-01-01T01:00:00Z')).toMatchObject({ ran: true, slotRecorded: true });
        expect(runs).toBe(2);
      });

      it('runExclusive: a run that throws releases the lease and does not complete its slot; the next trigger runs it', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const options = { name, slot: 42, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock };
        await expect(
          runExclusive(store, options, () => {
            throw new Error('job failed');
          }),
        ).rejects.toThrow('job failed');
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
        expect(await runExclusive(store, options, () => 'second try')).toMatchObject({ ran: true, result: 'second try', slotRecorded: true });
        expect(await runExclusive(store, options, () => 'third')).toMatchObject({ ran: false, reason: 'done', doneSlot: 42 });
        // Without a slot, a job runs whenever nobody holds the lease; while one does, others are refused as held.
        const held = await tryLead(store, opts('someone'));
        expect(await runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock }, () => 'x')).toMatchObject({
          ran: false,
          reason: 'held',
          leader: 'someone',
          token: held.token,
        });
      });

      it('a signal read right after a synchronous block longer than the lease is aborted; the run reports lost', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        // The clock's pause runs no timer, as a blocked event loop (a sync parse, a GC or VM pause) runs none.
        const lead = await tryLead(store, opts('a'));
        expect(lead.signal.aborted).toBe(false);
        h.clock.pause(TTL);
        expect(lead.signal.aborted).toBe(true);
        expect(isLeaseholdError(lead.signal.reason, 'LEASE_EXPIRED')).toBe(true);
        expect(() => lead.signal.throwIfAborted()).toThrow(expect.objectContaining({ code: 'LEASE_EXPIRED' }));
        await expire(name);
        let seen: { aborted: boolean; reason: unknown; threw: unknown } | undefined;
        const outcome = await runExclusive(store, { name, slot: Date.UTC(2030, 0, 2), ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock }, ({ signal }) => {
          h.clock.pause(TTL);
          let threw: unknown;
          try {
            signal.throwIfAborted();
          } catch (error) {
            threw = error;
          }
          seen = { aborted: signal.aborted, reason: signal.reason, threw };
          return 'late';
        });
        expect(seen?.aborted).toBe(true);
        expect(isLeaseholdError(seen?.reason, 'LEASE_EXPIRED')).toBe(true);
        expect(isLeaseholdError(seen?.threw, 'LEASE_EXPIRED')).toBe(true);
        expect(outcome).toMatchObject({ ran: true, lost: 'expired' });
        // A job that returns after its validity ran out, without reading its signal, is reported lost too.
        await expire(name);
        const quiet = await runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock }, () => {
          h.clock.pause(TTL);
          return 'quiet';
        });
        expect(quiet).toMatchObject({ ran: true, lost: 'expired' });
      });

      it('runExclusive: a slot is an instant (any precision, offset or form); a key is never compared with an instant', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        let runs = 0;
        const run = (slot: unknown) =>
          runExclusive(store, { name, slot: slot as string, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock }, () => {
            runs++;
            return runs;
          });
        expect(await run('2030-01-01T02:00:00Z')).toMatchObject({ ran: true, slotRecorded: true });
        // The same instant, written four other ways: done.
        for (const same of ['2030-01-01T02:00:00.000Z', '2030-01-01T03:00:00+01:00', Date.UTC(2030, 0, 1, 2), new Date(Date.UTC(2030, 0, 1, 2))]) {
          expect(await run(same), String(same)).toMatchObject({ ran: false, reason: 'done', doneSlot: Date.UTC(2030, 0, 1, 2) });
        }
        // Half a second later is a later slot, whichever form it takes.
        expect(await run('2030-01-01T02:00:00.500Z')).toMatchObject({ ran: true });
        // A job that switches from event.time to scheduledTime (epoch ms) goes on: a later instant runs.
        expect(await run(Date.UTC(2030, 0, 1, 3))).toMatchObject({ ran: true });
        expect(await run('2030-01-01T02:59:59Z')).toMatchObject({ ran: false, reason: 'done' });
        expect(runs).toBe(3);
        // A key against this job's instants: a typed error, nothing runs, the lease is given back, the slot is kept.
        await expect(run('batch-7')).rejects.toMatchObject({ code: 'INVALID_SLOT' });
        expect(runs).toBe(3);
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
        expect(await run(Date.UTC(2030, 0, 1, 3))).toMatchObject({ ran: false, reason: 'done', doneSlot: Date.UTC(2030, 0, 1, 3) });
        // Malformed instants are refused before anything is sent.
        for (const bad of ['2030-13-01T00:00:00Z', '2030-02-30', '2030-01-01T25:00:00Z', new Date(Number.NaN)]) {
          await expect(run(bad), String(bad)).rejects.toMatchObject({ code: 'INVALID_SLOT' });
        }
      });

      it("a job's completed slot cannot be reached through a lease name (name@done is reserved)", async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const job = { name, slot: 7, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock };
        expect(await runExclusive(store, job, () => 1)).toMatchObject({ ran: true, slotRecorded: true });
        const faulty = withFaults(store);
        const reserved = `${name}@done`;
        await expect(tryLead(faulty, opts('a', { name: reserved }))).rejects.toMatchObject({ code: 'INVALID_NAME' });
        await expect(release(faulty, { name: reserved, holder: 'a' })).rejects.toMatchObject({ code: 'INVALID_NAME' });
        await expect(getLeader(faulty, reserved)).rejects.toMatchObject({ code: 'INVALID_NAME' });
        await expect(runExclusive(faulty, { ...job, name: reserved }, () => 2)).rejects.toMatchObject({ code: 'INVALID_NAME' });
        expect(faulty.calls).toEqual({ read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 });
        expect(await runExclusive(store, job, () => 3)).toMatchObject({ ran: false, reason: 'done', doneSlot: 7 });
      });

      it('runExclusive: a run that ends while a renewal is in flight waits for it, then releases; the next trigger runs', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        // Holds the run's renewal (its second write) until a release arrives, or a short real-time while.
        let writes = 0;
        let renewalStarted!: () => void;
        const started = new Promise<void>((resolve) => {
          renewalStarted = resolve;
        });
        let openGate: () => void = () => {};
        const gate = new Promise<void>((resolve) => {
          openGate = resolve;
        });
        const gated =
          <A extends unknown[], R>(send: (...args: A) => Promise<R>, isClaim: (...args: A) => boolean) =>
          async (...args: A): Promise<R> => {
            if (isClaim(...args) && ++writes === 2) {
              renewalStarted();
              setTimeout(openGate, 50);
              await gate;
              return send(...args);
            }
            if (!isClaim(...args)) {
              // A release: sent first; the held renewal reaches the store after it, as a late packet would.
              const answer = await send(...args);
              openGate();
              return answer;
            }
            return send(...args);
          };
        const inner = store;
        const slow: Store = {
          kind: inner.kind,
          clockSource: inner.clockSource,
          ...(inner.limits ? { limits: inner.limits } : {}),
          ...(inner.timeoutMs !== undefined ? { timeoutMs: inner.timeoutMs } : {}),
          read: (n, o) => inner.read(n, o),
          create: gated(
            (w: LeaseWrite, o?: StoreCallOptions) => inner.create(w, o),
            (w) => w.holder !== null && !w.name.endsWith('@done'),
          ),
          replace: gated(
            (v: string, w: LeaseWrite, o?: StoreCallOptions) => inner.replace(v, w, o),
            (_v, w) => w.holder !== null && !w.name.endsWith('@done'),
          ),
        };
        const { claim, releaseHolder } = inner;
        if (claim)
          slow.claim = gated(
            (r: ClaimRequest, o?: StoreCallOptions) => claim.call(inner, r, o),
            () => true,
          );
        if (releaseHolder) {
          slow.releaseHolder = gated(
            (n: string, hd: string, v: string, c: number, o?: ReleaseCallOptions) => releaseHolder.call(inner, n, hd, v, c, o),
            () => false,
          );
        }
        const options = { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock };
        const outcome = await runExclusive(slow, options, async () => {
          h.clock.advance(Math.ceil(TTL / 3) + 1); // the renewal falls due and is sent
          await started;
          return 'finished';
        });
        expect(outcome).toMatchObject({ ran: true, result: 'finished', lost: undefined });
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
        expect(await runExclusive(store, options, () => 'next')).toMatchObject({ ran: true, result: 'next' });
      });

      it('runExclusive on a schedule: the due slot is derived, missed slots are skipped and counted or caught up in order; jobStatus follows', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        // The suite's clock starts on a whole hour; a slot every minute.
        const schedule = { cron: '* * * * *' };
        const t0 = Math.floor(h.clock.now() / 60_000) * 60_000;
        const seen: unknown[] = [];
        const job = ({ slot }: { slot: number | string | undefined }) => {
          seen.push(slot);
          return slot;
        };
        const run = (extra: object = {}) => runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock, schedule, ...extra }, job);
        expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({ lastSlot: null, missed: null, running: null });
        h.clock.advance(10_000);
        expect(await run()).toMatchObject({ ran: true, slot: t0, missed: 0, caughtUp: [], slotRecorded: true });
        // Another host firing seconds later derives the same slot: done.
        h.clock.advance(20_000);
        expect(await run()).toMatchObject({ ran: false, reason: 'done', doneSlot: t0 });
        // Five minutes pass with no trigger: 'skip' runs only the due slot and counts the four it skipped.
        h.clock.advance(5 * 60_000);
        const status = await jobStatus(store, name, { schedule, clock: h.clock, overdueAfterMs: 20_000 });
        expect(status).toMatchObject({ lastSlot: t0, missed: 5, overdue: true, running: null, latestDue: t0 + 5 * 60_000, nextDue: t0 + 6 * 60_000 });
        expect(status.lastCompletedAt).toBe(t0 + 10_000);
        expect(await run()).toMatchObject({ ran: true, slot: t0 + 5 * 60_000, missed: 4, caughtUp: [] });
        expect(await jobStatus(store, name, { schedule, clock: h.clock, overdueAfterMs: 30_000 })).toMatchObject({ missed: 0, overdue: false });
        // Three more minutes: 'all' runs each missed slot in order, then the due one, each with its own ctx.slot.
        h.clock.advance(3 * 60_000);
        seen.length = 0;
        expect(await run({ missed: 'all' })).toMatchObject({ ran: true, slot: t0 + 8 * 60_000, missed: 0, caughtUp: [t0 + 6 * 60_000, t0 + 7 * 60_000] });
        expect(seen).toEqual([t0 + 6 * 60_000, t0 + 7 * 60_000, t0 + 8 * 60_000]);
        // maxCatchUp bounds it: the latest ones run, older ones are counted as missed.
        h.clock.advance(4 * 60_000);
        seen.length = 0;
        expect(await run({ missed: 'all', maxCatchUp: 1 })).toMatchObject({ ran: true, caughtUp: [t0 + 11 * 60_000], missed: 2 });
        expect(seen).toEqual([t0 + 11 * 60_000, t0 + 12 * 60_000]);
        // A slot off the schedule is refused before anything is sent.
        await expect(run({ slot: t0 + 12 * 60_000 + 30_000 })).rejects.toMatchObject({ code: 'INVALID_SLOT' });
        // While a run holds the lease, the status says so.
        const held = await tryLead(store, opts('runner-1'));
        expect((await jobStatus(store, name, { schedule, clock: h.clock })).running).toBe('runner-1');
        await held.release();
      });

      it('runExclusive on a schedule: concurrent triggers seconds apart derive one slot and run it once; jobStatus shows it', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const schedule = { everyMs: 60_000 };
        const slot = Math.floor(h.clock.now() / 60_000) * 60_000;
        h.clock.advance(3_000);
        let runs = 0;
        const job = async ({ slot: current }: { slot: number | string | undefined }) => {
          runs++;
          await new Promise((resolve) => setTimeout(resolve, 20));
          return current;
        };
        const run = () => runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock, schedule }, job);
        const outcomes = await Promise.all(Array.from({ length: 8 }, () => run()));
        expect(runs).toBe(1);
        expect(outcomes.filter((o) => o.ran)).toEqual([expect.objectContaining({ ran: true, result: slot, slot, slotRecorded: true, missed: 0 })]);
        for (const o of outcomes) if (!o.ran) expect(['held', 'done']).toContain(o.reason);
        // A host firing 20 s later in the same slot: done.
        h.clock.advance(20_000);
        expect(await run()).toMatchObject({ ran: false, reason: 'done', doneSlot: slot });
        expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({
          lastSlot: slot,
          lastCompletedAt: slot + 3_000,
          running: null,
          missed: 0,
          overdue: false,
          nextDue: slot + 60_000,
        });
      });

      it("runExclusive with missed: 'all': a catch-up run that throws keeps the slots completed before it; the next trigger resumes at the failed slot", async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const schedule = { cron: '* * * * *' };
        const t0 = Math.floor(h.clock.now() / 60_000) * 60_000;
        const seen: unknown[] = [];
        let failOn: number | undefined;
        const job = ({ slot }: { slot: number | string | undefined }) => {
          seen.push(slot);
          if (slot === failOn) throw new Error(`slot ${slot} failed`);
          return slot;
        };
        const run = () => runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock, schedule, missed: 'all' }, job);
        expect(await run()).toMatchObject({ ran: true, slot: t0, caughtUp: [] });
        h.clock.advance(4 * 60_000);
        failOn = t0 + 2 * 60_000;
        seen.length = 0;
        await expect(run()).rejects.toThrow(`slot ${failOn} failed`);
        expect(seen).toEqual([t0 + 60_000, t0 + 2 * 60_000]);
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
        expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({ lastSlot: t0 + 60_000, missed: 3 });
        failOn = undefined;
        seen.length = 0;
        expect(await run()).toMatchObject({ ran: true, slot: t0 + 4 * 60_000, caughtUp: [t0 + 2 * 60_000, t0 + 3 * 60_000], missed: 0 });
        expect(seen).toEqual([t0 + 2 * 60_000, t0 + 3 * 60_000, t0 + 4 * 60_000]);
        expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({ lastSlot: t0 + 4 * 60_000, missed: 0, overdue: false });
      });

      it('refuses bad input with a typed error and writes nothing', async (ctx) => {
        if (!(await fresh())) return ctx.skip('store has no fused claim');
        const faulty = withFaults(store);
        const bad: [unknown, string][] = [
          [{ name: '', holder: 'a' }, 'INVALID_NAME'],
          [{ name: ' padded', holder: 'a' }, 'INVALID_NAME'],
          [{ name: 'a\u0000b', holder: 'a' }, 'INVALID_NAME'],
          [{ name: 'x'.repeat(129), holder: 'a' }, 'INVALID_NAME'],
          [{ name: 'a/b', holder: 'a' }, 'INVALID_NAME'],
          [{ name: "x'; DROP TABLE t; --", holder: 'a' }, 'INVALID_NAME'],
          [{ name: 42, holder: 'a' }, 'INVALID_NAME'],
          [{ name, holder: '' }, 'INVALID_HOLDER'],
          [{ name, holder: 'has space' }, 'INVALID_HOLDER'],
          [{ name, holder: 'y'.repeat(257) }, 'INVALID_HOLDER'],
          [{ name, holder: null }, 'INVALID_HOLDER'],
          [{ name, holder: 'a', ttlMs: 0 }, 'INVALID_TTL'],
          [{ name, holder: 'a', ttlMs: -5 }, 'INVALID_TTL'],
          [{ name, holder: 'a', ttlMs: Number.NaN }, 'INVALID_TTL'],
          [{ name, holder: 'a', ttlMs: Number.POSITIVE_INFINITY }, 'INVALID_TTL'],
          [{ name, holder: 'a', ttlMs: '1000' }, 'INVALID_TTL'],
          [{ name, holder: 'a', ttlMs: 8 * 24 * 3600 * 1000 }, 'INVALID_TTL'],
          [{ name, holder: 'a', ttlMs: 500, maxClockSkewMs: 1_000 }, 'INVALID_TTL'],
          [{ name, holder: 'a', maxClockSkewMs: -1 }, 'INVALID_OPTION'],
          [{ name, holder: 'a', data: { not: 'a string' } }, 'INVALID_OPTION'],
          [{ name, holder: 'a', data: 'nul\u0000inside' }, 'INVALID_OPTION'],
          [{ name, holder: 'a', data: 'lone \uD800 surrogate' }, 'INVALID_OPTION'],
          [null, 'INVALID_OPTION'],
          // Clocks of the wrong kind: checked, values included, before anything is sent.
          [
            {
              name,
              holder: 'a',
              clock: { ...h.clock, now: () => 'now', monotonic: () => 1, setTimeout: h.clock.setTimeout, clearTimeout: h.clock.clearTimeout },
            },
            'INVALID_OPTION',
          ],
          [{ name, holder: 'a', clock: { now: () => 1n, monotonic: () => 1, setTimeout: () => 0, clearTimeout: () => {} } }, 'INVALID_OPTION'],
          [{ name, holder: 'a', clock: { now: () => Number.NaN, monotonic: () => 1, setTimeout: () => 0, clearTimeout: () => {} } }, 'INVALID_OPTION'],
          [{ name, holder: 'a', clock: { now: () => 1, monotonic: () => undefined, setTimeout: () => 0, clearTimeout: () => {} } }, 'INVALID_OPTION'],
          [{ name, holder: 'a', clock: { now: () => 1, monotonic: () => 1, setTimeout: () => 0 } }, 'INVALID_OPTION'],
          // Write versions that would not come back as written.
          [{ name, holder: 'a', newVersion: () => 'lone \uD800' }, 'INVALID_OPTION'],
          [{ name, holder: 'a', newVersion: () => 'nul\u0000' }, 'INVALID_OPTION'],
          [{ name, holder: 'a', newVersion: () => 'v'.repeat(257) }, 'INVALID_OPTION'],
          [{ name, holder: 'a', newVersion: () => 7 }, 'INVALID_OPTION'],
        ];
        for (const [options, code] of bad) {
          const error = await tryLead(faulty, options as never).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isLeaseholdError(error, code as never), `${describeCase(options)} → ${code}, got ${String(error)}`).toBe(true);
        }
        await expect(release(faulty, { name: '', holder: 'a' })).rejects.toMatchObject({ code: 'INVALID_NAME' });
        await expect(getLeader(faulty, 'bad name')).rejects.toMatchObject({ code: 'INVALID_NAME' });
        expect(faulty.calls).toEqual({ read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 });
        expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
      });
    });
  }
}
