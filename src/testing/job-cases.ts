/**
 * The conformance suite's job cases: `runExclusive` slots run once, failed runs, lost runs, slot instants, the
 * reserved `name@done` record, and a run that ends while a renewal is in flight.
 * @module
 */
import { expect, it } from 'vitest';
import { isLeaseholdError } from '../errors.js';
import { runExclusive } from '../jobs.js';
import { getLeader, release, tryLead } from '../lead.js';
import type { ClaimRequest, LeaseWrite, ReleaseCallOptions, Store, StoreCallOptions } from '../store.js';
import { type ConformanceContext, SKEW, TTL } from './context.js';
import { withFaults } from './faults.js';

/** Defines the job cases of one path of the suite. */
export function jobCases(suite: ConformanceContext): void {
  it('runExclusive: 10 concurrent triggers of one slot run the job once; a repeat, or an older slot, does not run', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name } = suite;
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
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
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
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts, expire } = suite;
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
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name } = suite;
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
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
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
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name } = suite;
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
}
