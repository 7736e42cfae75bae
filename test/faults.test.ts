/**
 * The safety contract under faults, on every real engine: seeded simulations (see
 * test/support/fault-simulation.ts). Replay a failing seed with FAULT_SEED=<seed> npx vitest run test/faults.test.ts.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../src/store.js';
import { DynamoDBStore } from '../src/stores/dynamodb.js';
import { MemoryStore } from '../src/stores/memory.js';
import { PostgresStore } from '../src/stores/postgres.js';
import { localClient } from './setup/dynamodb.js';
import { simulate } from './support/fault-simulation.js';
import { recordFigures } from './support/safety-figures.js';
import { BASE, runSimulations, seeds } from './support/simulations.js';

describe('fault simulation', () => {
  it('memory store (store clock)', async () => {
    await runSimulations('memory', new MemoryStore());
  });

  it('memory store (client clock, skewed clocks)', async () => {
    await runSimulations('memory-client-clock', new MemoryStore({ clockSource: 'client' }));
  });

  describe('postgres', () => {
    const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 10 });
    const table = `leases_faults_${process.pid}`;
    beforeAll(async () => {
      await new PostgresStore({ pool, table }).migrate();
    });
    afterAll(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    });
    it('postgres (fused path)', async () => {
      await runSimulations('postgres', new PostgresStore({ pool, table }));
    });
  });

  describe('dynamodb local', () => {
    const store = new DynamoDBStore({ client: localClient(inject('dynamodbEndpoint')), table: `leases-faults-${process.pid}` });
    beforeAll(async () => {
      await store.createTable();
    });
    it('dynamodb (client clocks skewed within the bound)', async () => {
      await runSimulations('dynamodb', store);
    });
  });

  it('catches a deliberately broken store that takes over early', async () => {
    // The store reports every lease as ending 200 ms early, so contenders take over live leases.
    const honest = new MemoryStore();
    const broken: Store = {
      kind: 'broken',
      clockSource: 'store',
      read: async (name) => {
        const r = await honest.read(name);
        return r.record ? { ...r, record: { ...r.record, expiresAt: r.record.expiresAt - 200 } } : r;
      },
      create: (w) => honest.create(w),
      replace: (v, w) => honest.replace(v, w),
    };
    const reports = await Promise.all(seeds().map((seed) => simulate(broken, `broken-${seed}`, { ...BASE, seed, pPause: 0.3 })));
    recordFigures('broken-store', 'caught', reports);
    expect(reports.some((r) => r.violations.some((v) => v.startsWith('overlap') || v.includes('inside')))).toBe(true);
  });
});
