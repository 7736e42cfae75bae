import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { getLeader, release, tryLead } from '../src/lead.js';
import { type PostgresQueryable, PostgresStore, postgresSchema } from '../src/stores/postgres.js';
import { describeStoreConformance } from '../src/testing/index.js';

const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 20 });
const table = `leases_test_${process.pid}`;
const store = new PostgresStore({ pool, table });

beforeAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await store.migrate();
});
afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
});

/** Ages a lease on the server's clock: the store judges expiry by Postgres time, which tests cannot move. */
async function expire(name: string): Promise<void> {
  await pool.query(`UPDATE ${table} SET expires_at = statement_timestamp() - interval '1 millisecond' WHERE name = $1`, [name]);
}

describeStoreConformance('postgres', () => ({ store, clock: new ManualClock(), expire }), { contenders: 16, rounds: 20 });
describeStoreConformance(
  'postgres (prepared statements)',
  () => ({ store: new PostgresStore({ pool, table, prepare: true }), clock: new ManualClock(), expire }),
  {
    contenders: 16,
    rounds: 10,
  },
);

/** Counts the statements (round trips: one query() each, extended protocol so one statement per call). */
function counting(): { queryable: PostgresQueryable; count: () => number; texts: string[] } {
  const texts: string[] = [];
  return {
    queryable: {
      query: (text: string, values?: unknown[]) => {
        texts.push(text);
        return pool.query(text, values);
      },
    },
    count: () => texts.length,
    texts,
  };
}

describe('postgres store', () => {
  const clock = new ManualClock();
  const opts = (name: string, holder: string) => ({ name, holder, ttlMs: 10_000, clock });

  it('answers every tryLead() case and release() with exactly one statement', async () => {
    const c = counting();
    const counted = new PostgresStore({ pool: c.queryable, table });
    const name = `stmt-${Date.now()}`;
    const cases: [string, () => Promise<unknown>, unknown][] = [
      ['claim from nothing', () => tryLead(counted, opts(name, 'a')), { isLeader: true, token: 1 }],
      ['renew', () => tryLead(counted, opts(name, 'a')), { isLeader: true, token: 1 }],
      ['refused claim reporting the holder', () => tryLead(counted, opts(name, 'b')), { isLeader: false, leader: 'a', token: 1 }],
      [
        'takeover of an expired lease',
        async () => {
          await expire(name);
          return tryLead(counted, opts(name, 'b'));
        },
        { isLeader: true, token: 2 },
      ],
      [
        'a new term for a holder whose own lease lapsed',
        async () => {
          await expire(name);
          return tryLead(counted, opts(name, 'b'));
        },
        { isLeader: true, token: 3 },
      ],
      ['release', () => release(counted, { name, holder: 'b' }), true],
      ['claim after release', () => tryLead(counted, opts(name, 'a')), { isLeader: true, token: 4 }],
      ['getLeader', () => getLeader(counted, name), { holder: 'a', token: 4 }],
    ];
    for (const [label, run, expected] of cases) {
      const before = c.count();
      const result = await run();
      expect(result, label).toMatchObject(expected as object);
      expect(c.count() - before, `${label}: statements`).toBe(1);
    }
    for (const text of c.texts) expect(text).not.toMatch(/;\s*\S/);
  });

  it('judges expiry by the server clock: a caller whose clock runs an hour ahead takes nothing early', async () => {
    const name = `skew-${Date.now()}`;
    await tryLead(store, opts(name, 'a'));
    const fastClock = new ManualClock(Date.now() + 3_600_000);
    const b = await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: fastClock });
    expect(b).toMatchObject({ isLeader: false, leader: 'a' });
  });

  it('stamps expiresAt on the server clock, ttl after the statement', async () => {
    const name = `stamp-${Date.now()}`;
    const lead = await tryLead(store, opts(name, 'a'));
    const { rows } = await pool.query('SELECT (extract(epoch from statement_timestamp()) * 1000)::float8 AS now');
    const serverNow = Number(rows[0].now);
    expect(lead.expiresAt).toBeGreaterThan(serverNow + 10_000 - 2_000);
    expect(lead.expiresAt).toBeLessThanOrEqual(serverNow + 10_000);
  });

  it('refuses unsafe table and schema names before any SQL runs', () => {
    const c = counting();
    for (const bad of ['leases; DROP TABLE x', 'a"b', '', '1abc', 'x'.repeat(64), 'lease-table', 42]) {
      expect(() => new PostgresStore({ pool: c.queryable, table: bad as string })).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
      expect(() => new PostgresStore({ pool: c.queryable, schema: bad as string })).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
    }
    expect(() => new PostgresStore({ pool: c.queryable, prepare: 'yes' as never })).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
    expect(() => new PostgresStore({} as never)).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
    expect(c.count()).toBe(0);
  });

  it('quotes the table name, so reserved words and a schema work', async () => {
    await pool.query('CREATE SCHEMA IF NOT EXISTS leasehold_quoting');
    const quoted = new PostgresStore({ pool, schema: 'leasehold_quoting', table: 'select' });
    await quoted.migrate();
    await quoted.migrate();
    expect(await tryLead(quoted, opts('reserved', 'a'))).toMatchObject({ isLeader: true });
    await pool.query('DROP SCHEMA leasehold_quoting CASCADE');
  });

  it('says how to fix a missing table', async () => {
    const missing = new PostgresStore({ pool, table: 'no_such_leases_table' });
    await expect(tryLead(missing, opts('x', 'a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('migrate()') });
  });

  it('ships sql/postgres.sql equal to the schema migrate() applies', () => {
    expect(readFileSync(new URL('../sql/postgres.sql', import.meta.url), 'utf8')).toBe(postgresSchema());
  });
});
