/**
 * Load on real engines, bounded in count and time: 10 000 names claimed at once in waves, then many
 * contenders on one name, with nothing lost: every lease readable and consistent afterwards.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { getLeader, tryLead } from '../src/lead.js';
import type { Store } from '../src/store.js';
import { DynamoDBStore } from '../src/stores/dynamodb.js';
import { MemoryStore } from '../src/stores/memory.js';
import { PostgresStore } from '../src/stores/postgres.js';
import { localClient } from './setup/dynamodb.js';
import { recordFigures } from './support/safety-figures.js';

const NAMES = Number(process.env.LOAD_NAMES ?? 10_000);
const CONCURRENCY = 64;
const CONTENDERS = 100;

async function inWaves<T>(count: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await run(i);
      }
    }),
  );
  return out;
}

async function load(engine: string, store: Store): Promise<void> {
  const clock = new ManualClock(Date.now());
  const prefix = `load-${Date.now().toString(36)}`;
  const started = performance.now();
  const leads = await inWaves(NAMES, (i) => tryLead(store, { name: `${prefix}-${i}`, holder: `h${i % 97}`, ttlMs: 600_000, clock }));
  const claimMs = performance.now() - started;
  expect(leads.filter((l) => l.isLeader)).toHaveLength(NAMES);
  // Many contenders on one name at once: exactly one leads, everyone agrees who.
  const one = await Promise.all(
    Array.from({ length: CONTENDERS }, (_, i) => tryLead(store, { name: `${prefix}-hot`, holder: `c${i}`, ttlMs: 600_000, clock })),
  );
  expect(one.filter((l) => l.isLeader)).toHaveLength(1);
  expect(new Set(one.map((l) => l.leader)).size).toBe(1);
  // Nothing lost: every lease reads back with the holder and token its claim reported.
  const seen = await inWaves(NAMES, (i) => getLeader(store, `${prefix}-${i}`, { clock }));
  const mismatches = seen.filter((s, i) => s?.holder !== `h${i % 97}` || s.token !== leads[i]?.token).length;
  expect(mismatches).toBe(0);
  const totalMs = performance.now() - started;
  recordFigures(engine, 'load', { names: NAMES, contenders: CONTENDERS, claimMs: Math.round(claimMs), totalMs: Math.round(totalMs), mismatches });
}

describe(`load: ${NAMES} names and ${CONTENDERS} contenders`, () => {
  it('memory', async () => {
    await load('memory', new MemoryStore());
  });

  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 16 });
  const table = `leases_load_${process.pid}`;
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });
  it('postgres', async () => {
    const store = new PostgresStore({ pool, table, prepare: true });
    await store.migrate();
    await load('postgres', store);
  }, 120_000);

  it('dynamodb local', async () => {
    const store = new DynamoDBStore({ client: localClient(inject('dynamodbEndpoint')), table: `leases-load-${process.pid}` });
    await store.createTable();
    await load('dynamodb', store);
  }, 240_000);
});
