/**
 * runExclusive's timing on an injected clock (renewals while a long job runs, the job's signal when leadership
 * is lost), its bad input, and its round trips. Its races and slots run on every real engine through the
 * conformance suite (src/testing/index.ts).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { runExclusive } from '../../src/jobs.js';
import { getLeader, tryLead } from '../../src/lead.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { withFaults } from '../../src/testing/faults.js';

const TTL = 3_000;
const SKEW = 300;

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('runExclusive on an injected clock', () => {
  it('a job three times longer than its lease keeps it: renewed, same token, signal live; released at the end', async () => {
    const clock = new ManualClock();
    const store = withFaults(new MemoryStore({ clock }));
    const done = deferred<string>();
    let seenSignal: AbortSignal | undefined;
    const running = runExclusive(store, { name: 'long-job', holder: 'h1', ttlMs: TTL, maxClockSkewMs: SKEW, clock }, ({ signal }) => {
      seenSignal = signal;
      return done.promise;
    });
    await clock.tick(10);
    const before = store.calls.claim;
    await clock.tick(TTL * 3);
    expect(seenSignal?.aborted).toBe(false);
    expect(store.calls.claim - before).toBe(9); // a renewal every ttl/3
    // Nobody else can take it meanwhile.
    expect(await tryLead(store, { name: 'long-job', holder: 'other', ttlMs: TTL, maxClockSkewMs: SKEW, clock })).toMatchObject({
      isLeader: false,
      leader: 'h1',
    });
    done.resolve('finished');
    const outcome = await running;
    expect(outcome).toMatchObject({ ran: true, result: 'finished', lost: undefined });
    expect(seenSignal?.aborted).toBe(true); // the term ended with the job
    expect(await getLeader(store, 'long-job', { clock })).toBeNull();
  });

  it('a leader whose renewals fail has its job’s signal aborted no later than its validity ends', async () => {
    const clock = new ManualClock();
    const store = withFaults(new MemoryStore({ clock }));
    const done = deferred<void>();
    let validUntil = 0;
    let abortedAt: number | undefined;
    const running = runExclusive(store, { name: 'job', holder: 'h1', ttlMs: TTL, maxClockSkewMs: SKEW, clock }, ({ signal, lead }) => {
      signal.addEventListener('abort', () => {
        abortedAt = clock.monotonic();
      });
      store.failAll(true);
      validUntil = lead.validUntil;
      return done.promise;
    });
    await clock.tick(TTL * 2);
    expect(abortedAt).toBeDefined();
    expect(abortedAt).toBeLessThanOrEqual(validUntil);
    store.failAll(false);
    done.resolve();
    expect(await running).toMatchObject({ ran: true, lost: 'expired' });
  });

  it('leadership taken over mid-run (the store answers another holder): the signal aborts with reason taken-over', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const done = deferred<void>();
    let signal: AbortSignal | undefined;
    const running = runExclusive(store, { name: 'job', holder: 'h1', ttlMs: TTL, maxClockSkewMs: SKEW, clock }, (ctx) => {
      signal = ctx.signal;
      return done.promise;
    });
    await clock.tick(10);
    // An operator clears the lease and someone else takes it.
    await store.releaseHolder('job', 'h1', 'operator', clock.now());
    await tryLead(store, { name: 'job', holder: 'h2', ttlMs: TTL, maxClockSkewMs: SKEW, clock });
    await clock.tick(TTL / 2); // the next renewal finds h2
    expect(signal?.aborted).toBe(true);
    done.resolve();
    expect(await running).toMatchObject({ ran: true, lost: 'taken-over' });
    expect(await getLeader(store, 'job', { clock })).toMatchObject({ holder: 'h2' });
  });

  it('fails closed: the store unreachable, the job never runs and STORE_UNAVAILABLE is thrown', async () => {
    const clock = new ManualClock();
    const store = withFaults(new MemoryStore({ clock }));
    store.failAll(true);
    let ran = false;
    await expect(
      runExclusive(store, { name: 'job', ttlMs: TTL, clock }, () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(ran).toBe(false);
  });

  it('round trips: a run without a slot is a claim and a release; with a slot, four; a repeat of a done slot, three; a held trigger, one', async () => {
    const clock = new ManualClock();
    const store = withFaults(new MemoryStore({ clock }));
    const total = () => Object.values(store.calls).reduce((a, b) => a + b, 0);
    const options = { name: 'count', ttlMs: TTL, maxClockSkewMs: SKEW, clock };
    let before = total();
    await runExclusive(store, options, () => 1);
    expect(total() - before).toBe(2);
    before = total();
    await runExclusive(store, { ...options, slot: 'a' }, () => 1);
    expect(total() - before).toBe(4);
    before = total();
    expect(await runExclusive(store, { ...options, slot: 'a' }, () => 1)).toMatchObject({ ran: false, reason: 'done' });
    expect(total() - before).toBe(3);
    await tryLead(store, { ...options, holder: 'other' });
    before = total();
    expect(await runExclusive(store, { ...options, slot: 'b' }, () => 1)).toMatchObject({ ran: false, reason: 'held' });
    expect(total() - before).toBe(1);
  });

  it('bad input: a typed error, and nothing sent', async () => {
    const clock = new ManualClock();
    const store = withFaults(new MemoryStore({ clock }));
    const job = () => 1;
    const cases: [unknown, unknown, string][] = [
      [null, job, 'INVALID_OPTION'],
      [{ name: '' }, job, 'INVALID_NAME'],
      [{ name: 'job', holder: 'has space' }, job, 'INVALID_HOLDER'],
      [{ name: 'job', ttlMs: -1 }, job, 'INVALID_TTL'],
      [{ name: 'job', slot: '' }, job, 'INVALID_SLOT'],
      [{ name: 'job', slot: Number.NaN }, job, 'INVALID_SLOT'],
      [{ name: 'job', slot: 1n }, job, 'INVALID_SLOT'],
      [{ name: 'job', slot: { at: 1 } }, job, 'INVALID_SLOT'],
      [{ name: 'job', slot: 'x'.repeat(257) }, job, 'INVALID_SLOT'],
      [{ name: 'j'.repeat(124), slot: 1 }, job, 'INVALID_NAME'],
      [{ name: 'job', ttlMs: 3_000, renewEveryMs: 5_000 }, job, 'INVALID_OPTION'],
      [{ name: 'job' }, 'not a function', 'INVALID_OPTION'],
      [{ name: 'job', clock: { now: () => 'x' } }, job, 'INVALID_OPTION'],
    ];
    for (const [options, j, code] of cases) {
      const error = await runExclusive(store, options as never, j as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(
        isLeaseholdError(error, code as never),
        `${String(JSON.stringify(options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)))} → ${code}, got ${String(error)}`,
      ).toBe(true);
    }
    expect(store.calls).toEqual({ read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 });
  });
});
