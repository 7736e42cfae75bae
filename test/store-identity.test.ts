/**
 * DESIGN rule "One identity per lease table": what this process remembers about a lease (the version each holder last
 * saw, the results that may still say leader, a warm holder's answer) is keyed by the store's identity, so that a
 * wrapper (`withLogger`, `instrument`, `withFaults`, `genericOnly`) and the store it wraps, or two instances of a
 * store on one client and table, see each other's releases and takeovers at once.
 *
 * One case suite, run on every engine: the memory store, real PostgreSQL, a real redis-server, DynamoDB Local and Google's Firestore
 * emulator (gRPC and REST; reported as skipped where the emulator is not installed). Each engine gives the store the
 * results are won through, the other handles on the same lease table in this process, and a store that reaches the
 * same records with its own memory, as another process would (another pool, client or `fetch`).
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { Elector, type ElectorEvent } from '../src/elector.js';
import { isLeaseholdError } from '../src/errors.js';
import { identityOf, storeIdentity } from '../src/identity.js';
import { getLeader, type LeadResult, release, tryLead } from '../src/lead.js';
import { type LeaseholdLogger, withLogger } from '../src/logger/index.js';
import { instrument } from '../src/otel/index.js';
import type { Store } from '../src/store.js';
import { DurableObjectStore } from '../src/stores/durable-object.js';
import { DynamoDBStore } from '../src/stores/dynamodb/index.js';
import { type FirestoreLike, FirestoreStore } from '../src/stores/firestore.js';
import { FirestoreRestStore } from '../src/stores/firestore-rest.js';
import { MemoryStore } from '../src/stores/memory.js';
import { type PostgresQueryable, PostgresStore } from '../src/stores/postgres/index.js';
import { RedisStore } from '../src/stores/redis.js';
import { genericOnly, withFaults } from '../src/testing/index.js';
import { localClient } from './setup/dynamodb.js';
import { emulatorFirestore, emulatorRestStore } from './support/firestore-emulator.js';

const TTL = 15_000;
let counter = 0;
const fresh = (label: string) => `${label}-${process.pid}-${++counter}`;
const silent: LeaseholdLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The other handles on a store's lease table in this process: its wrappers, and a second instance where one applies. */
function handlesOf(store: Store, second?: Store): { label: string; store: Store }[] {
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
function anotherProcess(store: Store): Store {
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

interface Engine {
  /** The store the results are won through. */
  store: Store;
  /** The same lease table through other handles in this process (wrappers, a second instance). */
  handles: { label: string; store: Store }[];
  /** The same records with a memory of their own, as another process reaches them. */
  foreign: Store;
}

/** The cases, for one engine. */
function describeIdentity(label: string, engine: () => Engine): void {
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

describe('storeIdentity and identityOf', () => {
  it('one frozen identity per client object and key', () => {
    const client = {};
    const a = storeIdentity(client, 'table one');
    expect(storeIdentity(client, 'table one')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(storeIdentity(client, 'table two')).not.toBe(a);
    expect(storeIdentity({}, 'table one')).not.toBe(a);
  });

  it('a store without identity is its own; a wrapper has the wrapped store’s, however deep', () => {
    const memory = new MemoryStore();
    expect(identityOf(memory)).toBe(memory);
    expect(identityOf(anotherProcess(memory))).not.toBe(memory);
    expect(identityOf(new MemoryStore())).not.toBe(memory);
    expect(identityOf(withLogger(instrument(withFaults(genericOnly(memory))), silent))).toBe(memory);
  });

  it('a store whose identity is not an object is refused before anything is sent', async () => {
    const memory = new MemoryStore();
    const bad = { ...anotherProcess(memory), identity: 'postgres' as unknown as object };
    await expect(tryLead(bad, { name: 'x', holder: 'a' })).rejects.toSatisfy((e) => isLeaseholdError(e, 'INVALID_STORE'));
    await expect(release(bad, { name: 'x', holder: 'a' })).rejects.toSatisfy((e) => isLeaseholdError(e, 'INVALID_STORE'));
    await expect(getLeader(bad, 'x')).rejects.toSatisfy((e) => isLeaseholdError(e, 'INVALID_STORE'));
  });

  it('postgres: one per pool object and qualified table', () => {
    const pool: PostgresQueryable = { query: () => Promise.reject(new Error('not sent')) };
    const one = new PostgresStore({ pool, table: 'leases' });
    expect(new PostgresStore({ pool, table: 'leases', prepare: false, timeoutMs: 1_000 }).identity).toBe(one.identity);
    expect(new PostgresStore({ pool, table: 'other' }).identity).not.toBe(one.identity);
    expect(new PostgresStore({ pool, table: 'leases', schema: 'jobs' }).identity).not.toBe(one.identity);
    expect(new PostgresStore({ pool: { query: pool.query }, table: 'leases' }).identity).not.toBe(one.identity);
  });

  it('dynamodb: one per client object and item layout', () => {
    const client = localClient('http://127.0.0.1:9');
    try {
      const one = new DynamoDBStore({ client, table: 'leases' });
      expect(new DynamoDBStore({ client, table: 'leases', timeoutMs: 1_000, ttlAttribute: 'ttl' }).identity).toBe(one.identity);
      for (const other of [
        new DynamoDBStore({ client, table: 'leases2' }),
        new DynamoDBStore({ client, table: 'leases', keyPrefix: 'lease#' }),
        new DynamoDBStore({ client, table: 'leases', partitionKey: 'PK' }),
        new DynamoDBStore({ client, table: 'leases', sortKey: { name: 'sk', value: 'lease' } }),
        new DynamoDBStore({ client, table: 'leases', attributes: { holder: 'owner' } }),
        new DynamoDBStore({ client: localClient('http://127.0.0.1:9'), table: 'leases' }),
      ]) {
        expect(other.identity).not.toBe(one.identity);
      }
    } finally {
      client.destroy();
    }
  });

  it('firestore: one per Firestore instance and collection path', () => {
    const firestore: FirestoreLike = {
      collection: () => {
        throw new Error('not sent');
      },
    };
    const one = new FirestoreStore({ firestore, collection: 'leases' });
    expect(new FirestoreStore({ firestore, collection: 'leases', timeoutMs: 1_000 }).identity).toBe(one.identity);
    expect(new FirestoreStore({ firestore, collection: 'tenants/acme/leases' }).identity).not.toBe(one.identity);
    expect(new FirestoreStore({ firestore: { ...firestore }, collection: 'leases' }).identity).not.toBe(one.identity);
  });

  it('firestore-rest: one per collection URL and fetch option (the global fetch is one)', () => {
    const rest = (extra: Partial<ConstructorParameters<typeof FirestoreRestStore>[0]> = {}) =>
      new FirestoreRestStore({ projectId: 'demo-x', getAccessToken: () => 'owner', collection: 'leases', ...extra });
    const one = rest();
    expect(rest({ getAccessToken: () => 'another token', timeoutMs: 1_000 }).identity).toBe(one.identity);
    expect(rest({ collection: 'other' }).identity).not.toBe(one.identity);
    expect(rest({ projectId: 'demo-y' }).identity).not.toBe(one.identity);
    expect(rest({ database: 'second' }).identity).not.toBe(one.identity);
    expect(rest({ baseUrl: 'http://127.0.0.1:8080' }).identity).not.toBe(one.identity);
    const proxy: typeof fetch = (input, init) => fetch(input, init);
    expect(rest({ fetch: proxy }).identity).not.toBe(one.identity);
    expect(rest({ fetch: proxy }).identity).toBe(rest({ fetch: proxy }).identity);
  });

  it('redis: one per client object and key prefix', () => {
    const client = { sendCommand: () => Promise.reject(new Error('not sent')) };
    const one = new RedisStore({ client });
    expect(new RedisStore({ client, keyPrefix: 'leasehold:', timeoutMs: 1_000 }).identity).toBe(one.identity);
    expect(new RedisStore({ client, keyPrefix: 'other:' }).identity).not.toBe(one.identity);
    expect(new RedisStore({ client: { ...client } }).identity).not.toBe(one.identity);
  });

  it('durable-object: one per namespace binding, whatever the location hint', () => {
    const namespace = {
      idFromName: (name: string) => name,
      get: () => {
        throw new Error('not sent');
      },
    };
    const one = new DurableObjectStore({ namespace });
    expect(new DurableObjectStore({ namespace, locationHint: 'weur' }).identity).toBe(one.identity);
    expect(new DurableObjectStore({ namespace: { ...namespace } }).identity).not.toBe(one.identity);
  });
});

// The memory store: each instance is its own data, so only its wrappers share its identity.
describeIdentity('memory', () => {
  const store = new MemoryStore();
  return { store, handles: handlesOf(store), foreign: anotherProcess(store) };
});

// PostgreSQL: a second store on the same pool and table; another process is a store on another pool.
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
const foreignPool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
const pgTable = `identity_test_${process.pid}`;
const pgStore = new PostgresStore({ pool, table: pgTable });
beforeAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${pgTable}`);
  await pgStore.migrate();
});
afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${pgTable}; DROP FUNCTION IF EXISTS ${pgTable}_claim, ${pgTable}_release`);
  await Promise.all([pool.end(), foreignPool.end()]);
});
describeIdentity('postgres', () => ({
  store: pgStore,
  handles: handlesOf(pgStore, new PostgresStore({ pool, table: pgTable, prepare: false })),
  foreign: new PostgresStore({ pool: foreignPool, table: pgTable }),
}));

// DynamoDB Local: a second store on the same client and table; another process is a store on another client.
const endpoint = inject('dynamodbEndpoint');
const client = localClient(endpoint);
const foreignClient = localClient(endpoint);
const ddbTable = `identity_test_${process.pid}`;
const ddbStore = new DynamoDBStore({ client, table: ddbTable });
beforeAll(() => ddbStore.createTable());
afterAll(() => {
  client.destroy();
  foreignClient.destroy();
});
describeIdentity('dynamodb', () => ({
  store: ddbStore,
  handles: handlesOf(ddbStore, new DynamoDBStore({ client, table: ddbTable })),
  foreign: new DynamoDBStore({ client: foreignClient, table: ddbTable }),
}));

// Redis: a second store on the same client and key prefix; another process is a store on another client.
const redisUrl = inject('redisUrl');
const redisClient = new Redis(redisUrl);
const foreignRedis = new Redis(redisUrl);
const redisPrefix = `identity-${process.pid}:`;
const redisStore = new RedisStore({ client: redisClient, keyPrefix: redisPrefix });
afterAll(async () => {
  const keys = await redisClient.keys(`{${redisPrefix}*`);
  if (keys.length > 0) await redisClient.del(...keys);
  redisClient.disconnect();
  foreignRedis.disconnect();
});
describeIdentity('redis', () => ({
  store: redisStore,
  handles: handlesOf(redisStore, new RedisStore({ client: redisClient, keyPrefix: redisPrefix, timeoutMs: 1_000 })),
  foreign: new RedisStore({ client: foreignRedis, keyPrefix: redisPrefix }),
}));

// Google's Firestore emulator, through the official client and through REST.
const googleHost = inject('firestoreEmulatorHost');
const googleSkip = inject('firestoreEmulatorSkip');
if (googleHost) {
  const firestore = emulatorFirestore(googleHost);
  const foreignFirestore = emulatorFirestore(googleHost);
  afterAll(() => Promise.all([firestore.terminate(), foreignFirestore.terminate()]));
  const collection = `identity_${process.pid}`;
  const grpcStore = new FirestoreStore({ firestore, collection });
  describeIdentity("firestore (Google's emulator, gRPC)", () => ({
    store: grpcStore,
    handles: handlesOf(grpcStore, new FirestoreStore({ firestore, collection })),
    foreign: new FirestoreStore({ firestore: foreignFirestore, collection }),
  }));
  const restCollection = `identity_rest_${process.pid}`;
  const restStore = emulatorRestStore(googleHost, { collection: restCollection });
  describeIdentity("firestore-rest (Google's emulator)", () => ({
    store: restStore,
    // Both send with the global fetch; another process's store is given its own.
    handles: handlesOf(restStore, emulatorRestStore(googleHost, { collection: restCollection })),
    foreign: emulatorRestStore(googleHost, { collection: restCollection, fetch: (input, init) => fetch(input, init) }),
  }));
} else {
  describe("firestore (Google's emulator): one identity per lease table", () => {
    it('the identity cases against Google’s engine, gRPC and REST', (ctx) => {
      ctx.skip(`not run: ${googleSkip}`);
    });
  });
}
