/**
 * The Redis store on a real redis-server (a private one started by test/setup/redis.ts), through both clients it
 * takes: ioredis and node-redis, and on a private three-master Redis Cluster through both clients' cluster modes. The conformance suite (fused and generic paths), the fault simulation (both paths),
 * runExclusive / Elector / Tracker, one round trip per call, the script cache (NOSCRIPT), the fencing token's
 * survival, key layout, bad options, an ambiguous write with a real lost reply, late scripts, and a silent or
 * unreachable server failing closed within the bound.
 */
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector, type ElectorEvent } from '../../src/elector.js';
import { isLeaseholdError } from '../../src/errors.js';
import { identityOf } from '../../src/identity.js';
import { runExclusive } from '../../src/jobs.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { type IoRedisClient, type NodeRedisClient, type RedisClient, RedisStore } from '../../src/stores/redis.js';
import { REDIS_SCRIPT, REDIS_SCRIPT_SHA } from '../../src/stores/redis-script.js';
import { describeStoreConformance, genericOnly, withFaults } from '../../src/testing/index.js';
import { Tracker } from '../../src/tracker/index.js';
import { startPrivateRedisCluster } from '../support/engines.js';
import { startSilentServer, timedCall } from '../support/silent-server.js';
import { REQUIRED_FAULTS, runSimulations } from '../support/simulations.js';
import { redisAnswerScanner, startTcpProxy } from '../support/tcp-proxy.js';

const url = inject('redisUrl');
const io = new Redis(url);
const nodeRedis = await createClient({ url }).connect();
// Every key this file writes starts with this prefix (the server may be shared with another test file).
const PREFIX = `lh-test-${process.pid}:`;
const ioStore = new RedisStore({ client: io, keyPrefix: PREFIX });
const nodeStore = new RedisStore({ client: nodeRedis, keyPrefix: PREFIX });
const WITH_READ_BACK = [...REQUIRED_FAULTS, 'readBackFailed'] as const;
const extraClients: Redis[] = [];

afterAll(async () => {
  // Only this file's keys.
  const keys = await io.keys(`{${PREFIX}*`);
  for (let i = 0; i < keys.length; i += 500) await io.del(...keys.slice(i, i + 500));
  for (const c of extraClients) c.disconnect();
  io.disconnect();
  await nodeRedis.quit();
});

let counter = 0;
const fresh = (label: string) => `${label}-${++counter}-${Date.now()}`;

/** Ages lease `name` on the server's clock (expiry is judged by Redis `TIME`, which tests cannot move). */
const expireOn =
  (store: RedisStore) =>
  async (name: string): Promise<void> => {
    await io.eval("local t = redis.call('TIME'); redis.call('HSET', KEYS[1], 'e', t[1] * 1000000 + t[2] - 1000)", 1, store.keyOf(name));
  };

describeStoreConformance('redis (ioredis)', () => ({ store: ioStore, clock: new ManualClock(), expire: expireOn(ioStore) }), { contenders: 16, rounds: 20 });
describeStoreConformance('redis (node-redis)', () => ({ store: nodeStore, clock: new ManualClock(), expire: expireOn(nodeStore) }), {
  contenders: 16,
  rounds: 10,
});

/** A client that counts the requests it sends (each one round trip), and names them. */
function counting(kind: 'ioredis' | 'node-redis'): { client: RedisClient; sent: string[] } {
  const sent: string[] = [];
  if (kind === 'ioredis') {
    const client: IoRedisClient = {
      evalsha: (sha, n, ...args) => {
        sent.push('EVALSHA');
        return io.evalsha(sha, n, ...args);
      },
      eval: (script, n, ...args) => {
        sent.push('EVAL');
        return io.eval(script, n, ...args);
      },
    };
    return { client, sent };
  }
  const client: NodeRedisClient = {
    sendCommand: (args) => {
      sent.push(args[0] as string);
      return nodeRedis.sendCommand(args);
    },
  };
  return { client, sent };
}

describe('redis store', () => {
  const clock = new ManualClock();
  const opts = (name: string, holder: string, extra: object = {}) => ({ name, holder, ttlMs: 10_000, clock, ...extra });

  it("the script's SHA is the server's (SCRIPT LOAD)", async () => {
    expect(await io.script('LOAD', REDIS_SCRIPT)).toBe(REDIS_SCRIPT_SHA);
  });

  for (const kind of ['ioredis', 'node-redis'] as const) {
    it(`answers every tryLead() case, release() and getLeader() with exactly one EVALSHA: ${kind}`, async () => {
      await io.script('LOAD', REDIS_SCRIPT);
      const c = counting(kind);
      const store = new RedisStore({ client: c.client, keyPrefix: PREFIX });
      const name = fresh(`rt-${kind}`);
      const expire = expireOn(store);
      const cases: [string, () => Promise<unknown>, unknown][] = [
        ['claim from nothing', () => tryLead(store, opts(name, 'a')), { isLeader: true, token: 1 }],
        ['renew', () => tryLead(store, opts(name, 'a')), { isLeader: true, token: 1 }],
        ['refused claim reporting the holder', () => tryLead(store, opts(name, 'b')), { isLeader: false, leader: 'a', token: 1 }],
        [
          'takeover of an expired lease',
          async () => {
            await expire(name);
            return tryLead(store, opts(name, 'b'));
          },
          { isLeader: true, token: 2 },
        ],
        [
          'a new term for a holder whose own lease lapsed',
          async () => {
            await expire(name);
            return tryLead(store, opts(name, 'b'));
          },
          { isLeader: true, token: 3 },
        ],
        ['release', () => release(store, { name, holder: 'b', clock }), true],
        ['refused release (not the holder)', () => release(store, { name, holder: 'b', clock }), false],
        ['claim after release', () => tryLead(store, opts(name, 'a', { data: 'payload' })), { isLeader: true, token: 4, data: 'payload' }],
        ['getLeader', () => getLeader(store, name, { clock }), { holder: 'a', token: 4, data: 'payload' }],
      ];
      for (const [label, run, expected] of cases) {
        const before = c.sent.length;
        const result = await run();
        expect(result, label).toMatchObject(expected as object);
        expect(c.sent.slice(before), `${label}: requests`).toEqual(['EVALSHA']);
      }
    });

    it(`after SCRIPT FLUSH, the first call is sent again as EVAL (NOSCRIPT comes before anything ran), then EVALSHA again: ${kind}`, async () => {
      const c = counting(kind);
      const store = new RedisStore({ client: c.client, keyPrefix: PREFIX });
      const name = fresh(`flush-${kind}`);
      expect(await tryLead(store, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      await io.script('FLUSH');
      const before = c.sent.length;
      expect(await tryLead(store, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      expect(c.sent.slice(before)).toEqual(['EVALSHA', 'EVAL']);
      expect(await tryLead(store, opts(name, 'b'))).toMatchObject({ isLeader: false, leader: 'a', token: 1 });
      expect(c.sent.slice(before)).toEqual(['EVALSHA', 'EVAL', 'EVALSHA']);
      // The renewal ran once: the lease's term and token are the same, as on any renewal.
      expect(await io.hget(store.keyOf(name), 't')).toBe('1');
    });
  }

  it('the fencing token survives releases and expiries: the hash has no Redis TTL and is never deleted', async () => {
    const name = fresh('token');
    const key = ioStore.keyOf(name);
    const expire = expireOn(ioStore);
    let token = 0;
    for (let round = 0; round < 5; round++) {
      const lead = await tryLead(ioStore, opts(name, round % 2 ? 'a' : 'b'));
      expect(lead).toMatchObject({ isLeader: true });
      expect(lead.token).toBeGreaterThan(token);
      token = lead.token;
      if (round % 2) expect(await release(ioStore, { name, holder: 'a', clock })).toBe(true);
      else await expire(name);
      expect(await io.pttl(key)).toBe(-1);
      expect(await io.hget(key, 't')).toBe(String(token));
    }
    // b's lapsed lease: nobody else can release it; b can, which clears the holder field and keeps the token.
    expect(await release(ioStore, { name, holder: 'a', clock })).toBe(false);
    expect(await release(ioStore, { name, holder: 'b', clock })).toBe(true);
    const fields = await io.hgetall(key);
    expect(fields).toMatchObject({ t: String(token) });
    expect(fields.h).toBeUndefined();
    expect(await io.pttl(key)).toBe(-1);
    expect(await getLeader(ioStore, name, { clock })).toBeNull();
    expect(await tryLead(nodeStore, opts(name, 'c'))).toMatchObject({ isLeader: true, token: token + 1 });
  });

  it('keys: {prefix+name}, a hash tag that keeps a job and its completed slot (X@done) in one cluster slot; the prefix option', async () => {
    expect(new RedisStore({ client: io }).keyOf('job')).toBe('{leasehold:job}');
    expect(new RedisStore({ client: io }).keyOf('job@done')).toBe('{leasehold:job}@done');
    expect(new RedisStore({ client: io, keyPrefix: 'app/' }).keyOf('a:b')).toBe('{app/a:b}');
    expect(new RedisStore({ client: io, keyPrefix: '' }).keyOf('a')).toBe('{a}');
    const name = fresh('slot');
    await tryLead(ioStore, opts(name, 'a'));
    expect(await io.type(`{${PREFIX}${name}}`)).toBe('hash');
    // runExclusive keeps the completed slot beside its lease: same hash tag.
    const job = fresh('job');
    await expect((await import('../../src/jobs.js')).runExclusive(ioStore, { name: job, slot: 'k1', ttlMs: 10_000, clock }, () => 1)).resolves.toMatchObject({
      ran: true,
      slotRecorded: true,
    });
    expect(await io.exists(`{${PREFIX}${job}}@done`)).toBe(1);
    // Another prefix is another set of leases.
    const other = new RedisStore({ client: io, keyPrefix: `${PREFIX}other:` });
    expect(await tryLead(other, opts(name, 'b'))).toMatchObject({ isLeader: true, token: 1 });
    expect(await getLeader(ioStore, name, { clock })).toMatchObject({ holder: 'a' });
    expect(other.identity).not.toBe(ioStore.identity);
  });

  it('bad options: typed INVALID_STORE errors that say what to fix, before anything is sent', async () => {
    const c = counting('ioredis');
    const bad: [string, unknown, RegExp][] = [
      ['no options', undefined, /pass \{ client \}/],
      ['no client', {}, /ioredis client .* or a node-redis client/],
      ['a URL instead of a client', { client: 'redis://localhost' }, /client must be/],
      ['a client without evalsha or sendCommand', { client: { get() {} } }, /client must be/],
      ['a prefix with a brace', { client: c.client, keyPrefix: 'a{b' }, /keyPrefix .* without spaces, \{ or \}/],
      ['a prefix with a space', { client: c.client, keyPrefix: 'a b' }, /keyPrefix/],
      ['a prefix too long', { client: c.client, keyPrefix: 'x'.repeat(129) }, /keyPrefix/],
      ['a prefix that is not a string', { client: c.client, keyPrefix: 5 }, /keyPrefix/],
      ['a zero timeout', { client: c.client, timeoutMs: 0 }, /timeoutMs/],
    ];
    for (const [label, options, message] of bad) {
      let error: unknown;
      try {
        new RedisStore(options as never);
      } catch (e) {
        error = e;
      }
      expect(isLeaseholdError(error, 'INVALID_STORE'), label).toBe(true);
      expect((error as Error).message, label).toMatch(message);
      expect((error as Error).message, label).toMatch(/^redis store: /);
    }
    // Bad call input (a name Redis would take but leasehold refuses) is refused by the core before a request.
    const store = new RedisStore({ client: c.client, keyPrefix: PREFIX });
    await expect(tryLead(store, { name: 'a{b}', holder: 'a' })).rejects.toSatisfy((e) => isLeaseholdError(e, 'INVALID_NAME'));
    await expect(tryLead(store, { name: 'ok', holder: 'a b' })).rejects.toSatisfy((e) => isLeaseholdError(e, 'INVALID_HOLDER'));
    expect(c.sent).toEqual([]);
  });

  it('a foreign value under a lease key is STORE_UNAVAILABLE (WRONGTYPE, not leader), and a foreign hash shape is STORE_CORRUPT', async () => {
    const name = fresh('foreign');
    await io.set(ioStore.keyOf(name), 'not a hash');
    await expect(tryLead(ioStore, opts(name, 'a'))).rejects.toSatisfy(
      (e) => isLeaseholdError(e, 'STORE_UNAVAILABLE') && /WRONGTYPE/.test((e as Error).message),
    );
    const other = fresh('foreign');
    await io.hset(ioStore.keyOf(other), { v: 'x', t: 'seven', h: 'a', a: '1', e: '2' });
    await expect(getLeader(ioStore, other, { clock })).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_CORRUPT'));
  });

  it('late scripts never shorten or change a newer term: a held renewal, claim, replace and release delivered after a takeover change nothing', async () => {
    const name = fresh('late');
    const faulty = withFaults(ioStore);
    const generic = withFaults(genericOnly(ioStore));
    const first = await tryLead(ioStore, opts(name, 'a'));
    expect(first).toMatchObject({ isLeader: true, token: 1 });
    // Held: a's fused renewal, a's generic renewal (CAS on the version a saw), and a's release pinned to that version.
    faulty.failNextWrite('hold');
    await expect(tryLead(faulty, opts(name, 'a'))).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    generic.failNextWrite('hold');
    await expect(tryLead(generic, opts(name, 'a'))).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    // a's lease runs out on the server's clock; b takes over (a new term), and renews it.
    await expireOn(ioStore)(name);
    const taken = await tryLead(ioStore, opts(name, 'b'));
    expect(taken).toMatchObject({ isLeader: true, token: 2 });
    const before = await io.hgetall(ioStore.keyOf(name));
    await faulty.deliverHeld();
    await generic.deliverHeld();
    const after = await io.hgetall(ioStore.keyOf(name));
    expect(after).toEqual(before);
    expect(taken.stillLeader()).toBe(true);
    // A late renewal of the same term only ever lengthens it: its expiry is stamped by TIME at execution.
    faulty.failNextWrite('hold');
    await expect(tryLead(faulty, opts(name, 'b'))).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    const renewed = await tryLead(ioStore, opts(name, 'b'));
    const expiresBefore = Number(await io.hget(ioStore.keyOf(name), 'e'));
    await faulty.deliverHeld();
    expect(Number(await io.hget(ioStore.keyOf(name), 'e'))).toBeGreaterThanOrEqual(expiresBefore);
    expect(await getLeader(ioStore, name, { clock })).toMatchObject({ holder: 'b', token: renewed.token });
  });

  it('identity: one per client object and key prefix', () => {
    expect(new RedisStore({ client: io, keyPrefix: PREFIX, timeoutMs: 1_000 }).identity).toBe(ioStore.identity);
    expect(identityOf(withFaults(ioStore))).toBe(ioStore.identity);
    expect(new RedisStore({ client: io }).identity).not.toBe(ioStore.identity);
    expect(nodeStore.identity).not.toBe(ioStore.identity);
  });

  it('a release through a second store on the same client and prefix ends the result won through the first at once', async () => {
    const name = fresh('identity');
    const second = new RedisStore({ client: io, keyPrefix: PREFIX });
    const won = await tryLead(ioStore, opts(name, 'a'));
    expect(won.signal.aborted).toBe(false);
    expect(await release(second, { name, holder: 'a', clock })).toBe(true);
    expect(won.stillLeader()).toBe(false);
    expect(won.signal.aborted).toBe(true);
  });
});

describe('redis store: a reply lost after the script ran (a real connection cut by a proxy)', () => {
  for (const kind of ['ioredis', 'node-redis'] as const) {
    it(`the claim's read-back finds its own write: leader, and the lease is not stranded: ${kind}`, async () => {
      const target = new URL(url);
      const proxy = await startTcpProxy(target.hostname, Number(target.port), redisAnswerScanner);
      const proxied = `redis://127.0.0.1:${proxy.port}`;
      // No resend on reconnect, so the lost reply surfaces as an error and the core resolves it by a read-back.
      const client =
        kind === 'ioredis'
          ? new Redis(proxied, { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1 })
          : await createClient({ url: proxied })
              .on('error', () => {})
              .connect();
      const store = new RedisStore({ client: client as RedisClient, keyPrefix: PREFIX });
      try {
        const clock = new ManualClock();
        const name = fresh(`lost-${kind}`);
        expect(await getLeader(store, name, { clock })).toBeNull(); // handshake done, script cached
        proxy.arm('lose-answer');
        const lead = await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock });
        expect(proxy.injected['lose-answer']).toBe(1);
        expect(lead).toMatchObject({ isLeader: true, leader: 'a', token: 1 });
        // The release's reply is lost too: the read-back shows it applied, and b takes the lease at once.
        proxy.arm('lose-answer');
        expect(await release(store, { name, holder: 'a', clock })).toBe(true);
        expect(await tryLead(ioStore, { name, holder: 'b', ttlMs: 10_000, clock })).toMatchObject({ isLeader: true, token: 2 });
      } finally {
        if (client instanceof Redis) client.disconnect();
        else await (client as { disconnect(): Promise<void> }).disconnect();
        await proxy.close();
      }
    });
  }
});

describe('redis store: a silent or unreachable server fails closed within the bound', () => {
  it('a server that accepts connections and never answers: tryLead, release and getLeader settle within their bounds (STORE_UNAVAILABLE)', async () => {
    const silent = await startSilentServer();
    const client = new Redis(`redis://127.0.0.1:${silent.port}`, { lazyConnect: false, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    extraClients.push(client);
    try {
      const store = new RedisStore({ client, timeoutMs: 300 });
      const lead = await timedCall(() => tryLead(store, { name: fresh('silent'), holder: 'a', ttlMs: 60_000 }));
      const short = await timedCall(() => tryLead(new RedisStore({ client }), { name: fresh('silent'), holder: 'a', ttlMs: 600, maxClockSkewMs: 100 }));
      const rel = await timedCall(() => release(store, { name: fresh('silent'), holder: 'a' }));
      const get = await timedCall(() => getLeader(store, fresh('silent')));
      console.info('[leasehold] silent Redis endpoint, ms to fail closed:', {
        tryLead: lead.ms,
        tryLeadShortLease: short.ms,
        release: rel.ms,
        getLeader: get.ms,
      });
      for (const [label, r, bound] of [
        ['tryLead (bounded by timeoutMs 300)', lead, 300],
        ['tryLead (bounded by its 500 ms validity window)', short, 500],
        ['release', rel, 300],
        ['getLeader', get, 300],
      ] as const) {
        expect(r.code, label).toBe('STORE_UNAVAILABLE');
        expect(r.ms, label).toBeGreaterThanOrEqual(bound - 5);
        expect(r.ms, label).toBeLessThan(bound + 400);
      }
    } finally {
      client.disconnect();
      await silent.close();
    }
  });

  it('a closed port (nothing listening): STORE_UNAVAILABLE within the bound, for ioredis (retrying) and node-redis (offline queue)', async () => {
    const closed = await startSilentServer();
    const port = closed.port;
    await closed.close();
    const ioClient = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    ioClient.on('error', () => {});
    extraClients.push(ioClient);
    const nodeClient = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 50 } });
    nodeClient.on('error', () => {});
    const connecting = nodeClient.connect().catch(() => {});
    try {
      for (const [label, client] of [
        ['ioredis', ioClient],
        ['node-redis', nodeClient],
      ] as const) {
        const store = new RedisStore({ client: client as RedisClient, timeoutMs: 250 });
        const r = await timedCall(() => tryLead(store, { name: fresh('closed'), holder: 'a', ttlMs: 10_000 }));
        expect(r.code, label).toBe('STORE_UNAVAILABLE');
        expect(r.ms, label).toBeLessThan(250 + 400);
      }
    } finally {
      ioClient.disconnect();
      await nodeClient.destroy();
      await connecting;
    }
  });
});

describe('redis store: Elector and Tracker on a real server', () => {
  it('Elector: one leader; when it stops (release), the follower is elected with a larger token within its retry interval', async () => {
    const name = fresh('elector');
    const a = new Elector(ioStore, { name, holder: 'a', ttlMs: 3_000, maxClockSkewMs: 200, retryEveryMs: 200, keepAlive: false });
    const b = new Elector(nodeStore, { name, holder: 'b', ttlMs: 3_000, maxClockSkewMs: 200, retryEveryMs: 200, keepAlive: false });
    const events: ElectorEvent[] = [];
    b.on((e) => events.push(e));
    a.start();
    const first = await a.waitForLeadership();
    b.start();
    try {
      // b sees a as leader and stays a follower.
      const deadline = performance.now() + 5_000;
      while (!events.some((e) => e.type === 'leader' && e.leader === 'a') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(b.isLeader()).toBe(false);
      const stoppedAt = performance.now();
      await a.stop();
      const second = await b.waitForLeadership();
      // Within b's retry interval (200 ms, less jitter) plus scheduling: not after a's lease (3 s) ran out.
      expect(performance.now() - stoppedAt).toBeLessThan(2_000);
      expect(second.token).toBe(first.token + 1);
      expect(await getLeader(ioStore, name)).toMatchObject({ holder: 'b', token: second.token });
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('Tracker: two trackers share 6 names, 3 each, each name held by exactly one; a stopped tracker’s names are taken by the other', async () => {
    const group = fresh('trk');
    const names = Array.from({ length: 6 }, (_, i) => `${group}-n${i}`);
    const make = (holder: string, store: Store) =>
      new Tracker(store, { group, names, holder, ttlMs: 3_000, maxClockSkewMs: 200, pollEveryMs: 150, minHoldMs: 0, resignOdds: 1, claimStaggerMs: 1 });
    const t1 = make('t1', ioStore);
    const t2 = make('t2', nodeStore);
    await t1.start();
    await t2.start();
    try {
      const until = async (ok: () => boolean, ms: number) => {
        const deadline = performance.now() + ms;
        while (!ok() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        return ok();
      };
      expect(await until(() => t1.held().length === 3 && t2.held().length === 3, 10_000), `held ${t1.held()} / ${t2.held()}`).toBe(true);
      expect(new Set([...t1.held(), ...t2.held()]).size).toBe(6);
      for (const n of names) {
        const holder = (await getLeader(ioStore, n))?.holder;
        expect(holder === 't1' ? t1.held() : t2.held()).toContain(n);
      }
      await t1.stop();
      expect(await until(() => t2.held().length === 6, 10_000), `t2 held ${t2.held()}`).toBe(true);
    } finally {
      await t1.stop();
      await t2.stop();
    }
  }, 30_000);
});

describe('redis fault simulation', () => {
  it('redis, ioredis (fused path)', async (ctx) => {
    await runSimulations('redis', new RedisStore({ client: io, keyPrefix: PREFIX }), { path: 'fused', mustInject: WITH_READ_BACK, ctx });
  }, 60_000);
  it('redis, ioredis (generic path)', async (ctx) => {
    await runSimulations('redis-generic', genericOnly(new RedisStore({ client: io, keyPrefix: PREFIX })), { path: 'generic', ctx });
  }, 60_000);
  it('redis, node-redis (fused path)', async (ctx) => {
    await runSimulations('redis-node-redis', new RedisStore({ client: nodeRedis, keyPrefix: PREFIX }), { path: 'fused', mustInject: WITH_READ_BACK, ctx });
  }, 60_000);
});

// A private Redis Cluster (three masters): every call routes by the lease's one key, through both clients' cluster modes.
const cluster = await startPrivateRedisCluster();
const firstNode = new URL(cluster.urls[0] as string);
const ioCluster = new Cluster([{ host: firstNode.hostname, port: Number(firstNode.port) }]);
const nodeCluster = await createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) }).connect();
afterAll(async () => {
  ioCluster.disconnect();
  await nodeCluster.quit();
  await cluster.stop();
});
const ioClusterStore = new RedisStore({ client: ioCluster, keyPrefix: PREFIX });
const nodeClusterStore = new RedisStore({ client: nodeCluster, keyPrefix: PREFIX });
const expireOnCluster =
  (store: RedisStore) =>
  async (name: string): Promise<void> => {
    await ioCluster.eval("local t = redis.call('TIME'); redis.call('HSET', KEYS[1], 'e', t[1] * 1000000 + t[2] - 1000)", 1, store.keyOf(name));
  };
describeStoreConformance(
  'redis cluster (ioredis Cluster)',
  () => ({ store: ioClusterStore, clock: new ManualClock(), expire: expireOnCluster(ioClusterStore) }),
  { contenders: 8, rounds: 5, names: 30 },
);
describeStoreConformance(
  'redis cluster (node-redis createCluster)',
  () => ({ store: nodeClusterStore, clock: new ManualClock(), expire: expireOnCluster(nodeClusterStore) }),
  { contenders: 8, rounds: 5, names: 30 },
);

describe('redis store on a Redis Cluster (three masters)', () => {
  it('names spread over every master; a job and its completed slot share one hash slot', async () => {
    const clock = new ManualClock();
    const names = Array.from({ length: 24 }, (_, i) => fresh(`spread-${i}`));
    for (const store of [ioClusterStore, nodeClusterStore]) {
      const holder = store === ioClusterStore ? 'io' : 'node';
      for (const name of names) {
        const first = await tryLead(store, { name: `${name}-${holder}`, holder, ttlMs: 10_000, clock });
        expect(first).toMatchObject({ isLeader: true, token: 1 });
        expect(await release(store, { name: `${name}-${holder}`, holder, clock })).toBe(true);
        expect(await tryLead(store, { name: `${name}-${holder}`, holder: 'x', ttlMs: 10_000, clock })).toMatchObject({ isLeader: true, token: 2 });
      }
    }
    const slots = await Promise.all(names.map((name) => ioCluster.cluster('KEYSLOT', ioClusterStore.keyOf(`${name}-io`)) as Promise<number>));
    const masters = ioCluster.nodes('master');
    expect(masters.length).toBe(3);
    const served = await Promise.all(masters.map(async (m) => Number(await m.dbsize())));
    expect(
      served.every((n) => n > 0),
      `keys per master: ${served}`,
    ).toBe(true);
    expect(new Set(slots).size).toBeGreaterThan(10);
    const job = fresh('cluster-job');
    expect(await runExclusive(ioClusterStore, { name: job, slot: 'k1', ttlMs: 10_000, clock }, () => 1)).toMatchObject({ ran: true, slotRecorded: true });
    expect(await ioCluster.cluster('KEYSLOT', `{${PREFIX}${job}}@done`)).toBe(await ioCluster.cluster('KEYSLOT', `{${PREFIX}${job}}`));
    expect(await ioCluster.exists(`{${PREFIX}${job}}@done`)).toBe(1);
  });
});
