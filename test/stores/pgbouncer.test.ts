/**
 * PostgresStore behind PgBouncer 1.18 in transaction-pooling mode (Debian's; .ci/run installs it): the default
 * store names its statements on node-postgres, the pooler cannot keep them per client, and the store must fall
 * back to unnamed statements without a failed call, then pass the whole conformance suite through the pooler.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { release, tryLead } from '../../src/lead.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { describeStoreConformance } from '../../src/testing/index.js';
import { findPgBouncer, startPgBouncer } from '../support/pgbouncer.js';

const missing = findPgBouncer() ? undefined : 'pgbouncer is not installed (Debian: apt-get install -y pgbouncer; .ci/run does)';
const table = `leases_bouncer_${process.pid}`;
let bouncer: Awaited<ReturnType<typeof startPgBouncer>> | undefined;
let pool: pg.Pool;
const direct = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });

beforeAll(async () => {
  if (missing) return;
  // Two server connections for many client connections: statements named on one are missing on the other.
  bouncer = await startPgBouncer(inject('databaseUrl'), 2);
  pool = new pg.Pool({ connectionString: bouncer.url, max: 8 });
  await new PostgresStore({ pool, table }).migrate();
});
afterAll(async () => {
  await pool?.end();
  await direct.query(`DROP TABLE IF EXISTS ${table}; DROP FUNCTION IF EXISTS ${table}_claim, ${table}_release`);
  await direct.end();
  await bouncer?.stop();
});

const expire = async (name: string) => {
  await direct.query(`UPDATE ${table} SET expires_at = statement_timestamp() - interval '1 millisecond' WHERE name = $1`, [name]);
};

/** Many clients claiming, renewing and releasing at once, so their statements cross server connections. */
async function churn(store: PostgresStore, label: string): Promise<void> {
  const clock = new ManualClock();
  await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const name = `${label}-${i % 4}`;
      for (let k = 0; k < 6; k++) {
        await tryLead(store, { name, holder: `h${i}`, ttlMs: 10_000, clock });
        await release(store, { name, holder: `h${i}`, clock });
      }
    }),
  );
}

describe.skipIf(missing !== undefined)(`PgBouncer (transaction pooling)${missing ? `: skipped, ${missing}` : ''}`, () => {
  it('is the pooler this test means: named statements fail through it (prepare: true has no fallback)', async () => {
    const strict = new PostgresStore({ pool, table, prepare: true });
    await expect(churn(strict, `strict-${Date.now()}`)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      cause: { code: expect.stringMatching(/^(26000|42P05)$/) },
    });
    expect(bouncer?.version).toMatch(/PgBouncer 1\.18/);
  });

  it('the default store falls back to unnamed statements, and no call fails', async () => {
    const store = new PostgresStore({ pool, table });
    await churn(store, `auto-${Date.now()}`);
    expect((store as unknown as { prepared: boolean }).prepared).toBe(false);
  });
});

if (!missing) {
  describeStoreConformance(
    'postgres through PgBouncer (default options)',
    () => ({ store: new PostgresStore({ pool, table }), clock: new ManualClock(), expire }),
    {
      contenders: 8,
      rounds: 5,
      names: 20,
    },
  );
}
