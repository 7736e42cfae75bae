/**
 * `DurableObjectStore` and `LeaseDurableObject` in Cloudflare's real runtime: both run inside workerd (Miniflare,
 * SQLite-backed Durable Object storage), and the conformance suite drives them from here through a relay (one
 * `dispatchFetch` per store call, which makes one request to the lease's object). Races are real: concurrent calls
 * from here are concurrent requests to the object. Then: one request per call, the object's clock judging expiry
 * whatever the callers' clocks say, a silent object failing closed, and the seeded fault simulation.
 */
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import type { LeaseRecord } from '../../src/store.js';
import { DurableObjectStore, LeaseDurableObject } from '../../src/stores/durable-object.js';
import { genericOnly } from '../../src/testing/faults.js';
import { describeStoreConformance } from '../../src/testing/index.js';
import { relayStore, startLeaseWorker } from '../support/lease-miniflare.js';
import { REQUIRED_FAULTS, runSimulations } from '../support/simulations.js';

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
describeStoreConformance('durable-object (workerd)', () => ({ store: relayStore(worker()), clock: new ManualClock(), expire }), { handover: 'releases' });

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

/** A body sent straight to a lease's object through its binding, as any code with the binding can. */
async function raw(name: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await worker().dispatchFetch(`http://worker.test/raw?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const recordOf = async (name: string) => (await raw(name, { op: 'read', name })).body.record as LeaseRecord | null;
const claimBody = (name: string, over: Record<string, unknown> = {}) => ({
  op: 'claim',
  request: { name, holder: 'mallory', ttlMs: 10_000, version: crypto.randomUUID(), data: null, clientNow: Date.now(), maxClockSkewMs: 1_000, ...over },
});
const writeBody = (op: 'create' | 'replace', record: LeaseRecord | null, over: Record<string, unknown>) => ({
  op,
  ...(op === 'replace' ? { expectedVersion: record?.version } : {}),
  write: {
    name: record?.name,
    holder: 'mallory',
    token: (record?.token ?? 0) + 1,
    acquiredAt: null,
    ttlMs: 10_000,
    version: crypto.randomUUID(),
    data: null,
    clientNow: Date.now(),
    ...over,
  },
});

describe('LeaseDurableObject refuses hostile requests sent straight to its binding (400, a typed code, nothing written)', () => {
  it('a claim naming another lease: INVALID_NAME, and the object stays usable (it was STORE_CORRUPT for good)', async () => {
    const store = relayStore(worker());
    const name = fresh('pinned');
    const other = fresh('other');
    expect(await raw(name, claimBody(other))).toMatchObject({ status: 400, body: { code: 'INVALID_NAME' } });
    expect(await recordOf(name)).toBeNull();
    expect(await tryLead(store, { name, holder: 'a', ttlMs: 10_000 })).toMatchObject({ isLeader: true, token: 1 });
    // Once written too, for every operation that names a lease.
    const record = (await recordOf(name)) as LeaseRecord;
    for (const body of [
      claimBody(other),
      { op: 'read', name: other },
      { op: 'release', name: other, holder: 'a', version: crypto.randomUUID() },
      writeBody('replace', record, { name: other, holder: 'a', token: record.token, acquiredAt: record.acquiredAt }),
    ]) {
      expect(await raw(name, body), JSON.stringify(body)).toMatchObject({ status: 400, body: { code: 'INVALID_NAME' } });
    }
    expect(await recordOf(name)).toEqual(record);
    expect(await getLeader(store, name)).toMatchObject({ holder: 'a', token: 1 });
  });

  it('a replace with token 0 (backwards), a kept token for a new holder, or a jump: INVALID_OPTION', async () => {
    const store = relayStore(worker());
    const name = fresh('token');
    await tryLead(store, { name, holder: 'a', ttlMs: 10_000 });
    await expire(name);
    const record = (await recordOf(name)) as LeaseRecord;
    expect(record.token).toBe(1);
    const cases: [string, Record<string, unknown>][] = [
      ['token 0', { token: 0 }],
      ['a new holder keeping the token', { token: 1 }],
      ['a jump to 5', { token: 5 }],
      ['the largest safe integer', { token: Number.MAX_SAFE_INTEGER }],
      ['a token that is not a whole number', { token: 1.5 }],
      ['a new term with a forged acquiredAt', { acquiredAt: 0 }],
      ['a renewal with a forged acquiredAt', { holder: 'a', token: 1, acquiredAt: 0 }],
    ];
    for (const [what, over] of cases) {
      expect(await raw(name, writeBody('replace', record, over)), what).toMatchObject({ status: 400, body: { code: 'INVALID_OPTION' } });
    }
    expect(await recordOf(name)).toEqual(record);
    // The honest takeover still gets the next token.
    expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000 })).toMatchObject({ isLeader: true, token: 2 });
  });

  it('ttlMs 1e15 (31 000 years), and every other bad value, as the core refuses it', async () => {
    const store = relayStore(worker());
    const name = fresh('values');
    const cases: [string, unknown, string][] = [
      ['claim ttlMs 1e15', claimBody(name, { ttlMs: 1e15 }), 'INVALID_TTL'],
      ['claim ttlMs 0', claimBody(name, { ttlMs: 0 }), 'INVALID_TTL'],
      ['claim ttlMs a string', claimBody(name, { ttlMs: '10000' }), 'INVALID_TTL'],
      ['claim ttlMs missing', claimBody(name, { ttlMs: undefined }), 'INVALID_TTL'],
      ['claim ttlMs within the skew', claimBody(name, { ttlMs: 500 }), 'INVALID_TTL'],
      ['claim skew 1e12', claimBody(name, { maxClockSkewMs: 1e12 }), 'INVALID_OPTION'],
      ['claim holder with a space', claimBody(name, { holder: 'a b' }), 'INVALID_HOLDER'],
      ['claim holder missing', claimBody(name, { holder: undefined }), 'INVALID_HOLDER'],
      ['claim holder null', claimBody(name, { holder: null }), 'INVALID_HOLDER'],
      ['claim data of 20 000 characters', claimBody(name, { data: 'x'.repeat(20_000) }), 'INVALID_OPTION'],
      ['claim data an object', claimBody(name, { data: { a: 1 } }), 'INVALID_OPTION'],
      ['claim data with NUL', claimBody(name, { data: 'a\u0000b' }), 'INVALID_OPTION'],
      ['claim version missing', claimBody(name, { version: undefined }), 'INVALID_OPTION'],
      ['claim version a number', claimBody(name, { version: 7 }), 'INVALID_OPTION'],
      ['claim version of 1 000 characters', claimBody(name, { version: 'v'.repeat(1_000) }), 'INVALID_OPTION'],
      ['claim of a slot record', claimBody(`${name}@done`), 'INVALID_NAME'],
      ['claim name with a space', claimBody('has space'), 'INVALID_NAME'],
      ['create ttlMs 1e15', writeBody('create', { name } as LeaseRecord, { ttlMs: 1e15, token: 1 }), 'INVALID_TTL'],
      ['create with token 7', writeBody('create', { name } as LeaseRecord, { token: 7 }), 'INVALID_OPTION'],
      ['create without a holder but a ttl', writeBody('create', { name } as LeaseRecord, { holder: null, token: 1 }), 'INVALID_TTL'],
      ['create with acquiredAt a string', writeBody('create', { name } as LeaseRecord, { token: 1, acquiredAt: 'x' }), 'INVALID_OPTION'],
      ['release holder empty', { op: 'release', name, holder: '', version: 'v' }, 'INVALID_HOLDER'],
      ['release version empty', { op: 'release', name, holder: 'a', version: '' }, 'INVALID_OPTION'],
      ['an unknown operation', { op: 'drop', name }, 'INVALID_OPTION'],
      ['a body that is JSON null', null, 'INVALID_OPTION'],
      ['a body that is an array', [], 'INVALID_OPTION'],
      ['a body that is not JSON', 'op=claim', 'INVALID_OPTION'],
    ];
    for (const [what, body, code] of cases) {
      const answer = await raw(name, body);
      expect(answer, what).toMatchObject({ status: 400, body: { code } });
      expect(String(answer.body.message).length, what).toBeGreaterThan(20);
    }
    expect(await recordOf(name)).toBeNull();
    expect(await tryLead(store, { name, holder: 'a', ttlMs: 10_000 })).toMatchObject({ isLeader: true, token: 1 });
  });

  it('a replace that hands a live lease to another holder changes nothing (answered as a lost race)', async () => {
    const store = relayStore(worker());
    const name = fresh('live');
    await tryLead(store, { name, holder: 'a', ttlMs: 60_000 });
    const record = (await recordOf(name)) as LeaseRecord;
    expect(await raw(name, writeBody('replace', record, {}))).toMatchObject({ status: 200, body: { ok: false, current: record } });
    expect(await recordOf(name)).toEqual(record);
  });

  it('the store rethrows a refusal as a LeaseholdError with its code, not as an outage', async () => {
    const store = relayStore(worker());
    const name = fresh('typed');
    await expect(store.claim?.(claimBody(name, { ttlMs: 1e15 }).request as never)).rejects.toMatchObject({
      name: 'LeaseholdError',
      code: 'INVALID_TTL',
      message: expect.stringMatching(/^durable-object store: LeaseDurableObject refused the request: ttlMs must be/),
    });
    await expect(store.read(`${name}@done@done`)).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(await recordOf(name)).toBeNull();
  });
});

describe('LeaseDurableObject where the runtime does not give the object its name', () => {
  // An object whose state has no id.name: its first write pins its name.
  const object = () => {
    const saved = new Map<string, unknown>();
    return new LeaseDurableObject({
      storage: {
        get: async <T>(key: string) => saved.get(key) as T | undefined,
        put: async <T>(key: string, value: T) => void saved.set(key, value),
      },
    });
  };
  const send = async (o: LeaseDurableObject, body: unknown) => {
    const response = await o.fetch(new Request('https://lease.durable-object/', { method: 'POST', body: JSON.stringify(body) }));
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('the first write pins the name; a request for another name is then INVALID_NAME', async () => {
    const o = object();
    expect(await send(o, claimBody('pinned-here', { holder: 'a' }))).toMatchObject({ status: 200, body: { record: { name: 'pinned-here', token: 1 } } });
    expect(await send(o, claimBody('somewhere-else', { holder: 'b' }))).toMatchObject({ status: 400, body: { code: 'INVALID_NAME' } });
    expect(await send(o, { op: 'read', name: 'pinned-here' })).toMatchObject({ status: 200, body: { record: { name: 'pinned-here', holder: 'a' } } });
  });
});

describe('fault simulation (durable-object in workerd)', () => {
  it('durable-object (fused path)', async (ctx) => {
    await runSimulations('durable-object', relayStore(worker()), { path: 'fused', mustInject: [...REQUIRED_FAULTS, 'readBackFailed'], ctx });
  }, 60_000);
  it('durable-object (generic path)', async (ctx) => {
    await runSimulations('durable-object-generic', genericOnly(relayStore(worker())), { path: 'generic', ctx });
  }, 60_000);
});

describe('push wake-ups from the Durable Object (it knows its waiters)', () => {
  const relayCall = (store: ReturnType<typeof relayStore>) => (store as unknown as { call(op: string, args: unknown[]): Promise<unknown> }).call;

  it('a long poll is answered by a release, and otherwise runs out with nothing changed', async () => {
    const store = relayStore(worker());
    const call = relayCall(store);
    const name = fresh('wait');
    await tryLead(store, { name, holder: 'a', ttlMs: 10_000 });
    expect(await call('waitForChange', [name, 200])).toBe(false);
    const began = Date.now();
    let answered: unknown;
    const waiting = call('waitForChange', [name, 20_000]).then((v) => {
      answered = v;
    });
    // Claim and release until the poll is answered: whichever release comes after it reached the object wakes it.
    while (answered === undefined && Date.now() - began < 10_000) {
      await tryLead(store, { name, holder: 'a', ttlMs: 10_000 });
      await release(store, { name, holder: 'a' });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waiting;
    expect(answered).toBe(true);
    // Well before the poll's own 20 s.
    expect(Date.now() - began).toBeLessThan(10_000);
  });

  it('refuses a bad wait with a typed error', async () => {
    const call = relayCall(relayStore(worker()));
    for (const waitMs of [0, -1, 1.5, 30_001, 'soon']) {
      await expect(call('waitForChange', [fresh('bad-wait'), waitMs])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    }
  });

  it('three Electors on the object: a resign wakes the next leader well inside the poll interval', async () => {
    const RETRY = 2_000;
    const base = relayStore(worker());
    const call = relayCall(base);
    // The store's own watch loop, run here against the object through the relay (the signal cannot cross into workerd).
    const watch = (name: string, onChange: () => void) => {
      let stopped = false;
      void (async () => {
        while (!stopped) {
          const changed = await call('waitForChange', [name, 1_000]).catch(() => false);
          if (changed === true && !stopped) onChange();
        }
      })();
      return () => {
        stopped = true;
      };
    };
    const store = Object.assign(base, { watch });
    const name = fresh('do-resign');
    const { Elector } = await import('../../src/elector.js');
    const electors = ['a', 'b', 'c'].map(
      (holder) => new Elector(store, { name, holder, ttlMs: 6_000, maxClockSkewMs: 500, retryEveryMs: RETRY, keepAlive: false }),
    );
    const elected: { holder: string; t: number }[] = [];
    electors.forEach((e, i) => {
      e.on((ev) => {
        if (ev.type === 'elected') elected.push({ holder: ['a', 'b', 'c'][i] as string, t: Date.now() });
      });
    });
    try {
      for (const e of electors) e.start();
      const until = async (check: () => boolean) => {
        const end = Date.now() + 15_000;
        while (!check()) {
          if (Date.now() > end) throw new Error('timed out');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      await until(() => electors.filter((e) => e.isLeader()).length === 1);
      // Let every follower's first long poll reach the object.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const rounds: number[] = [];
      for (let i = 0; i < 5; i++) {
        const leader = electors.find((e) => e.isLeader());
        const before = elected.length;
        const began = Date.now();
        await leader?.resign({ pauseMs: RETRY * 2 });
        await until(() => elected.length > before);
        rounds.push((elected[elected.length - 1]?.t ?? Number.NaN) - began);
        expect(electors.filter((e) => e.isLeader()).length).toBe(1);
        // The resigner comes back, and every follower's long poll is in place again.
        await new Promise((resolve) => setTimeout(resolve, RETRY * 2 + 1_200));
      }
      const median = [...rounds].sort((x, y) => x - y)[2] as number;
      console.log(`[handover] durable object: resign → next leader ${rounds.join(', ')} ms (median ${median}; poll every ${RETRY} ms)`);
      expect(median).toBeLessThan(RETRY / 4);
    } finally {
      await Promise.all(electors.map((e) => e.stop()));
    }
  }, 90_000);
});
