/**
 * Answers from memory for a warm holder (`renewBelow`) on real PostgreSQL: the statements a thousand hot-loop calls
 * by the holder send, with and without it. The rules of the warm answer, on the memory store: test/core/warm.test.ts.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { tryLead } from '../../src/lead.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';

describe('a warm holder on real PostgreSQL', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
  const table = `leases_warm_${process.pid}`;
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  it('1 000 consecutive calls by the holder send 1 statement (renewBelow 0.5), against 1 000 without it', async () => {
    let statements = 0;
    const counted = {
      query: (text: string, values?: unknown[]) => {
        statements++;
        return pool.query(text, values);
      },
    };
    const store = new PostgresStore({ pool: counted, table });
    await store.migrate();
    statements = 0;
    for (let i = 0; i < 1_000; i++) expect((await tryLead(store, { name: 'hot', holder: 'a', ttlMs: 60_000, renewBelow: 0.5 })).isLeader).toBe(true);
    const warm = statements;
    statements = 0;
    for (let i = 0; i < 1_000; i++) await tryLead(store, { name: 'hot', holder: 'a', ttlMs: 60_000 });
    console.info(`[leasehold] postgres, 1 000 hot-loop calls by the holder: ${warm} statement(s) with renewBelow 0.5, ${statements} without`);
    expect(warm).toBe(1);
    expect(statements).toBe(1_000);
  });
});
