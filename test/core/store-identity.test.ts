/**
 * DESIGN rule "One identity per lease table": what this process remembers about a lease (the version each holder last
 * saw, the results that may still say leader, a warm holder's answer) is keyed by the store's identity, so that a
 * wrapper (`withLogger`, `instrument`, `withFaults`, `genericOnly`) and the store it wraps, or two instances of a
 * store on one client and table, see each other's releases and takeovers at once.
 *
 * Here, with no engine: the store identities themselves (one per client object and table, for every store), and the
 * case suite (test/support/store-identity-cases.ts) on the memory store. The same suite on real PostgreSQL, a real
 * redis-server, DynamoDB Local and Google's Firestore emulator: test/system/store-identity.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { isLeaseholdError } from '../../src/errors.js';
import { identityOf, storeIdentity } from '../../src/identity.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { type LeaseholdLogger, withLogger } from '../../src/logger/index.js';
import { instrument } from '../../src/otel/index.js';
import { DurableObjectStore } from '../../src/stores/durable-object.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { type FirestoreLike, FirestoreStore } from '../../src/stores/firestore.js';
import { FirestoreRestStore } from '../../src/stores/firestore-rest.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { type PostgresQueryable, PostgresStore } from '../../src/stores/postgres/index.js';
import { RedisStore } from '../../src/stores/redis.js';
import { genericOnly, withFaults } from '../../src/testing/index.js';
import { localClient } from '../support/engines.js';
import { anotherProcess, describeIdentity, handlesOf } from '../support/store-identity-cases.js';

const silent: LeaseholdLogger = { debug() {}, info() {}, warn() {}, error() {} };

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
