/**
 * DESIGN rule "One identity per lease table": what this process remembers about a lease (the version each holder last
 * saw, the results that may still say leader, a warm holder's answer) is keyed by the store's identity, so that a
 * wrapper (`withLogger`, `instrument`, `withFaults`, `genericOnly`) and the store it wraps, or two instances of a
 * store on one client and table, see each other's releases and takeovers at once.
 *
 * One case suite (test/support/store-identity-cases.ts), run on every engine: here real PostgreSQL, a real redis-server,
 * DynamoDB Local and Google's Firestore emulator (gRPC and REST; reported as skipped where the emulator is not
 * installed); the memory store in test/core/store-identity.test.ts. Each engine gives the store the
 * results are won through, the other handles on the same lease table in this process, and a store that reaches the
 * same records with its own memory, as another process would (another pool, client or `fetch`).
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { FirestoreStore } from '../../src/stores/firestore.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { RedisStore } from '../../src/stores/redis.js';
import { localClient } from '../support/engines.js';
import { emulatorFirestore, emulatorRestStore } from '../support/firestore-emulator.js';
import { describeIdentity, handlesOf } from '../support/store-identity-cases.js';

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
