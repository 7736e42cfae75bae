/**
 * `DurableObjectStore` and `LeaseDurableObject` in Cloudflare's real runtime: both run inside workerd (Miniflare,
 * SQLite-backed Durable Object storage), and the conformance suite drives them from here through a relay (one
 * `dispatchFetch` per store call, which makes one request to the lease's object). Races are real: concurrent calls
 * from here are concurrent requests to the object. Then: one request per call, the object's clock judging expiry
 * whatever the callers' clocks say, a silent object failing closed, and the seeded fault simulation.
 */
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { getLeader, release, tryLead } from '../src/lead.js';
import { DurableObjectStore } from '../src/stores/durable-object.js';
import { genericOnly } from '../src/testing/faults.js';
import { describeStoreConformance } from '../src/testing/index.js';
import { relayStore, startLeaseWorker } from './support/lease-miniflare.js';
import { REQUIRED_FAULTS, runSimulations } from './support/simulations.js';

let mf: Miniflare;

beforeAll(async () => {
  mf = await startLeaseWorker({ LEASE_NAMES: 'unused', ADMIN_TOKEN: 'unused-admin-token-0123456789' });
});
afterAll(async () => {
  await mf?.dispose();
});

const worker = () => {
  if (!mf) throw new Error('Miniflare did not start');
  return mf;
};
const expire = async (name: string) => {
  const answer = await worker().dispatchFetch(`http://worker.test/expire?name=${encodeURIComponent(name)}`, { method: 'POST' });
  expect(await answer.json()).toEqual({ expired: true });
};
const requestsTo = async (name: string) =>
  ((await (await worker().dispatchFetch(`http://worker.test/count?name=${encodeURIComponent(name)}`)).json()) as { requests: number }).requests;

// The whole suite with its defaults, race case included (16 contenders × 20 rounds, truly concurrent requests).
describeStoreConformance('durable-object (workerd)', () => ({ store: relayStore(worker()), clock: new ManualClock(), expire }));

let n = 0;
const fresh = (label: string) => `${label}-${Date.now().toString(36)}-${n++}`;

describe('durable-object store in workerd', () => {
  it('one request to the object per call: claim, renew, refusal, release, getLeader', async () => {
    const store = relayStore(worker());
    const clock = new ManualClock();
    const name = fresh('count');
    const opts = (holder: string) => ({ name, holder, ttlMs: 10_000, clock });
    const steps: [string, () => Promise<unknown>][] = [
      ['claim', () => tryLead(store, opts('a'))],
      ['renew', () => tryLead(store, opts('a'))],
      ['refusal', () => tryLead(store, opts('b'))],
      ['getLeader', () => getLeader(store, name, { clock })],
      ['release', () => release(store, { name, holder: 'a', clock })],
      ['claim after release', () => tryLead(store, opts('b'))],
    ];
    for (const [what, step] of steps) {
      const before = await requestsTo(name);
      await step();
      expect(await requestsTo(name), what).toBe(before + 1);
    }
  });

  it('the object’s clock judges expiry: callers a day ahead or behind change nothing', async () => {
    const store = relayStore(worker());
    const name = fresh('clock');
    const ahead = new ManualClock(Date.now() + 86_400_000);
    const behind = new ManualClock(Date.now() - 86_400_000);
    const a = await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock: behind });
    expect(a.isLeader).toBe(true);
    // The lease was stamped by the object: it runs out ~10 s from the object's now, not the caller's.
    expect(Math.abs(a.expiresAt - (Date.now() + 10_000))).toBeLessThan(2_000);
    expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: ahead })).toMatchObject({ isLeader: false, leader: 'a' });
    expect(await getLeader(store, name, { clock: ahead })).toMatchObject({ holder: 'a', token: a.token });
    await expire(name);
    expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: behind })).toMatchObject({ isLeader: true, token: a.token + 1 });
  });

  it('an object that never answers fails closed within the timeout (claim, then its read-back)', async () => {
    const store = relayStore(worker(), 300);
    const started = performance.now();
    await expect(tryLead(store, { name: fresh('hang'), holder: 'a', ttlMs: 10_000 })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses an unusable namespace or option with INVALID_STORE', () => {
    for (const options of [undefined, {}, { namespace: {} }, { namespace: { idFromName: () => 1, get: () => ({}) }, timeoutMs: 0 }]) {
      expect(() => new DurableObjectStore(options as never)).toThrow(expect.objectContaining({ code: 'INVALID_STORE' }));
    }
    expect(
      () => new DurableObjectStore({ namespace: { idFromName: () => 1, get: () => ({ fetch: async () => new Response() }) }, locationHint: 'not a hint' }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_STORE' }));
  });
});

describe('fault simulation (durable-object in workerd)', () => {
  it('durable-object (fused path)', async () => {
    await runSimulations('durable-object', relayStore(worker()), { path: 'fused', mustInject: [...REQUIRED_FAULTS, 'readBackFailed'] });
  }, 60_000);
  it('durable-object (generic path)', async () => {
    await runSimulations('durable-object-generic', genericOnly(relayStore(worker())), { path: 'generic' });
  }, 60_000);
});
