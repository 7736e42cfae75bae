import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { type PostgresQueryable, PostgresStore, postgresSchema } from '../../src/stores/postgres/index.js';
import { describeStoreConformance } from '../../src/testing/index.js';
import { freePort } from '../support/engines.js';

const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 20 });
const table = `leases_test_${process.pid}`;
// The default: named statements (pool is node-postgres); the functions are installed for unnamed ones.
const store = new PostgresStore({ pool, table });
// A table whose functions were never installed (or were dropped): the store sends the inline statements.
const inlineTable = `leases_inline_${process.pid}`;

const dropTables = () =>
  pool.query(
    `DROP TABLE IF EXISTS ${table}, ${inlineTable}; DROP FUNCTION IF EXISTS ${table}_claim, ${table}_release, ${inlineTable}_claim, ${inlineTable}_release`,
  );
beforeAll(async () => {
  await dropTables();
  await store.migrate();
  await new PostgresStore({ pool, table: inlineTable }).migrate();
  await pool.query(`DROP FUNCTION ${inlineTable}_claim, ${inlineTable}_release`);
});
afterAll(async () => {
  await dropTables();
  await pool.end();
});

/** Ages a lease on the server's clock: the store judges expiry by Postgres time, which tests cannot move. */
const expireIn = (t: string) => async (name: string) => {
  await pool.query(`UPDATE ${t} SET expires_at = statement_timestamp() - interval '1 millisecond' WHERE name = $1`, [name]);
};
const expire = expireIn(table);

describeStoreConformance('postgres (default: named inline statements)', () => ({ store, clock: new ManualClock(), expire }), { contenders: 16, rounds: 20 });
describeStoreConformance(
  'postgres (prepare: false, function calls)',
  () => ({ store: new PostgresStore({ pool, table, prepare: false }), clock: new ManualClock(), expire }),
  { contenders: 16, rounds: 10 },
);
describeStoreConformance(
  'postgres (no functions: inline statements, prepared)',
  () => ({ store: new PostgresStore({ pool, table: inlineTable }), clock: new ManualClock(), expire: expireIn(inlineTable) }),
  { contenders: 16, rounds: 10 },
);
describeStoreConformance(
  'postgres (no functions: inline statements, prepare: false)',
  () => ({ store: new PostgresStore({ pool, table: inlineTable, prepare: false }), clock: new ManualClock(), expire: expireIn(inlineTable) }),
  { contenders: 8, rounds: 5 },
);

/**
 * Counts the statements (round trips: one query() each, extended protocol so one statement per call). With
 * `asPg`, it looks like node-postgres (a `Client` member), so the default store names its statements.
 */
function counting(asPg = false): { queryable: PostgresQueryable; count: () => number; texts: string[]; named: () => number } {
  const texts: string[] = [];
  let named = 0;
  const query = (text: string | { name: string; text: string; values: unknown[] }, values?: unknown[]) => {
    if (typeof text === 'object') {
      named++;
      texts.push(text.text);
      return pool.query(text);
    }
    texts.push(text);
    return pool.query(text, values);
  };
  return {
    queryable: (asPg ? { query, Client: pg.Client } : { query }) as PostgresQueryable,
    count: () => texts.length,
    texts,
    named: () => named,
  };
}

describe('postgres store', () => {
  const clock = new ManualClock();
  const opts = (name: string, holder: string) => ({ name, holder, ttlMs: 10_000, clock });

  for (const [mode, t, asPg, expectNamed] of [
    ['prepared (the default on node-postgres: the claim function and the renewal, named)', table, true, true],
    ['function calls, unprepared (the default on other drivers)', table, false, false],
    ['inline statements (no functions), prepared', inlineTable, true, true],
    ['inline statements (no functions), unprepared', inlineTable, false, false],
  ] as const) {
    it(`answers every tryLead() case and release() with exactly one statement: ${mode}`, async () => {
      const c = counting(asPg);
      const counted = new PostgresStore({ pool: c.queryable, table: t });
      const name = `stmt-${Date.now()}-${t.length}-${asPg}`;
      const expireHere = expireIn(t);
      if (t === inlineTable) {
        // The first claim that calls the claim function learns that the functions are absent (one refused statement,
        // before anything ran); every call after is one statement. Unnamed, that is the first claim; named, the first
        // claim on a name this store saw refused by a live lease.
        expect(await getLeader(counted, `${name}-warm`)).toBeNull();
        await tryLead(counted, opts(`${name}-warm`, 'a'));
        if (asPg) {
          await tryLead(counted, opts(`${name}-warm`, 'b'));
          await tryLead(counted, opts(`${name}-warm`, 'b'));
        }
        expect(c.count()).toBe(asPg ? 5 : 3);
        expect(c.texts.filter((text) => /_claim"\(/.test(text))).toHaveLength(1);
      }
      const cases: [string, () => Promise<unknown>, unknown][] = [
        ['claim from nothing', () => tryLead(counted, opts(name, 'a')), { isLeader: true, token: 1 }],
        ['renew', () => tryLead(counted, opts(name, 'a')), { isLeader: true, token: 1 }],
        ['refused claim reporting the holder', () => tryLead(counted, opts(name, 'b')), { isLeader: false, leader: 'a', token: 1 }],
        [
          'takeover of an expired lease',
          async () => {
            await expireHere(name);
            return tryLead(counted, opts(name, 'b'));
          },
          { isLeader: true, token: 2 },
        ],
        [
          'a new term for a holder whose own lease lapsed',
          async () => {
            await expireHere(name);
            return tryLead(counted, opts(name, 'b'));
          },
          { isLeader: true, token: 3 },
        ],
        ['release', () => release(counted, { name, holder: 'b' }), true],
        ['refused release (not the holder)', () => release(counted, { name, holder: 'b' }), false],
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
      expect(c.named() > 0).toBe(expectNamed);
      if (!expectNamed) expect(c.named()).toBe(0);
    });
  }

  for (const [mode, t, asPg] of [
    ['named statements', table, true],
    ['inline statements, unprepared (no functions)', inlineTable, false],
  ] as const) {
    it(`renews a holder it saw win with a plain conditional UPDATE of the state it won (no upsert, no report); one whose lease changed meanwhile gets the claim's answer with one statement more: ${mode}`, async () => {
      const c = counting(asPg);
      const counted = new PostgresStore({ pool: c.queryable, table: t });
      const other = new PostgresStore({ pool, table: t });
      const name = `lean-${Date.now()}-${t.length}`;
      if (t === inlineTable) await tryLead(counted, opts(`${name}-warm`, 'a')); // learns that the functions are absent
      // The claim of a name this store did not see refused: the inline statement with its report.
      const claim = /COALESCE/;
      expect(await tryLead(counted, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      expect(c.texts.at(-1)).toMatch(claim);
      let before = c.count();
      expect(await tryLead(counted, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      expect(c.count() - before).toBe(1);
      expect(c.texts.at(-1)).not.toMatch(/COALESCE|ON CONFLICT|INSERT/);
      expect(c.texts.at(-1)).toMatch(/^UPDATE .* WHERE t\.name = \$1::text AND t\.holder = \$2::text AND t\.version = \$6::text RETURNING/s);
      // The same holder renews through another store: the version this store remembers is stale, so its UPDATE
      // matches nothing and the claim renews (same term), one statement more; the next renewal is lean again.
      expect(await tryLead(other, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      before = c.count();
      expect(await tryLead(counted, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      expect(c.count() - before).toBe(2);
      expect(c.texts.at(-1)).toMatch(claim);
      before = c.count();
      expect(await tryLead(counted, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      expect(c.count() - before).toBe(1);
      expect(c.texts.at(-1)).toMatch(/^UPDATE/);
      // Another process takes the lease over after it ran out; this store still remembers 'a' as the winner.
      await expireIn(t)(name);
      expect(await tryLead(other, opts(name, 'b'))).toMatchObject({ isLeader: true, token: 2 });
      before = c.count();
      const stale = await tryLead(counted, opts(name, 'a'));
      expect(stale).toMatchObject({ isLeader: false, leader: 'b', token: 2 });
      expect(stale.stillLeader()).toBe(false);
      expect(c.count() - before).toBe(2);
      expect(c.texts.at(-1)).toMatch(claim);
      expect(await getLeader(other, name)).toMatchObject({ holder: 'b', token: 2 });
      // No longer taken for the winner: the next claim is one statement again, with the report.
      before = c.count();
      expect(await tryLead(counted, opts(name, 'a'))).toMatchObject({ isLeader: false, leader: 'b', token: 2 });
      expect(c.count() - before).toBe(1);
      // Refused by a live lease before: named, the claim function, whose refusal is one read before any attempt.
      expect(c.texts.at(-1)).toMatch(asPg ? /_claim"\(/ : /COALESCE/);
      // A refused contender on the same store does not make the holder's next renewal cost more.
      expect(await tryLead(counted, opts(`${name}-2`, 'a'))).toMatchObject({ isLeader: true });
      expect(await tryLead(counted, opts(`${name}-2`, 'z'))).toMatchObject({ isLeader: false, leader: 'a' });
      before = c.count();
      expect(await tryLead(counted, opts(`${name}-2`, 'a'))).toMatchObject({ isLeader: true });
      expect(c.count() - before).toBe(1);
      expect(c.texts.at(-1)).not.toMatch(/COALESCE/);
    });
  }

  it('stores of one identity (same pool and table) share what they saw won: renewals through either stay one conditional UPDATE', async () => {
    const c = counting(true);
    const one = new PostgresStore({ pool: c.queryable, table });
    const two = new PostgresStore({ pool: c.queryable, table });
    const name = `shared-${Date.now()}`;
    expect(await tryLead(one, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
    for (const s of [two, one, two]) {
      const before = c.count();
      expect(await tryLead(s, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
      expect(c.count() - before).toBe(1);
      expect(c.texts.at(-1)).toMatch(/^UPDATE/);
    }
  });

  it('the claim function renews a holder it saw win by a conditional update of that state, in one call whatever changed since', async () => {
    const c = counting();
    const counted = new PostgresStore({ pool: c.queryable, table });
    const other = new PostgresStore({ pool, table });
    const name = `fn-lean-${Date.now()}`;
    const one = async (holder: string, expected: object) => {
      const before = c.count();
      expect(await tryLead(counted, opts(name, holder))).toMatchObject(expected);
      expect(c.count() - before).toBe(1);
      expect(c.texts.at(-1)).toMatch(/_claim"\(/);
    };
    await one('a', { isLeader: true, token: 1 });
    await one('a', { isLeader: true, token: 1 }); // the conditional update of the state it won
    // Renewed through another store: the version this store remembers is stale; the function's claim still renews.
    expect(await tryLead(other, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
    await one('a', { isLeader: true, token: 1 });
    // Its own lease lapsed with nobody taking it: a new term (token + 1).
    await expireIn(table)(name);
    await one('a', { isLeader: true, token: 2 });
    // Taken over by another holder after it ran out: refused, and told who holds it.
    await expireIn(table)(name);
    expect(await tryLead(other, opts(name, 'b'))).toMatchObject({ isLeader: true, token: 3 });
    await one('a', { isLeader: false, leader: 'b', token: 3 });
    expect(c.named()).toBe(0);
  });

  for (const [mode, prepare] of [
    ['named inline statement', 'auto'],
    ['function call, unprepared', false],
  ] as const) {
    it(`a refused contender takes no row lock, so it does not queue behind a write holding the lease's row: ${mode}`, async () => {
      const s = new PostgresStore({ pool, table, prepare, timeoutMs: 1_500 });
      const name = `nolock-${Date.now()}-${String(prepare)}`;
      expect(await tryLead(s, { name, holder: 'a', ttlMs: 60_000 })).toMatchObject({ isLeader: true });
      const locker = await pool.connect();
      try {
        // A transaction holds the row lock (as a renewal in flight, or a slow writer, would).
        await locker.query('BEGIN');
        await locker.query(`SELECT 1 FROM ${table} WHERE name = $1 FOR UPDATE`, [name]);
        const started = performance.now();
        const b = await tryLead(s, { name, holder: 'b', ttlMs: 60_000 });
        expect(b).toMatchObject({ isLeader: false, leader: 'a' });
        expect(performance.now() - started).toBeLessThan(1_000);
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
      // The holder itself still renews (under the lock, once it is free).
      expect(await tryLead(s, { name, holder: 'a', ttlMs: 60_000 })).toMatchObject({ isLeader: true });
    });
  }

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
    expect(() => new PostgresStore({ pool: c.queryable, prepare: 1 as never })).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
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
    expect(readFileSync(new URL('../../sql/postgres.sql', import.meta.url), 'utf8')).toBe(postgresSchema());
  });
});

/**
 * `migrate()` at every cold start, many at once (issue 18): each call on its own connection, as 24 Lambda
 * environments starting together would. A fresh schema per test, so each starts from nothing.
 */
describe('postgres store: migrate() run concurrently, and its failures', () => {
  const url = inject('databaseUrl');
  let schemas = 0;
  const freshSchema = async () => {
    const schema = `migrate_${process.pid}_${++schemas}`;
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"`);
    return schema;
  };
  const dropSchema = (schema: string) => pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);

  /** Connects `n` clients first (so their migrations start together), runs migrate() on each, and lists the failures. */
  async function migrateConcurrently(schema: string, n = 24, options: { user?: string } = {}): Promise<string[]> {
    const connectionString = (() => {
      if (!options.user) return url;
      const u = new URL(url);
      u.username = options.user;
      u.password = '';
      return u.toString();
    })();
    const clients = Array.from({ length: n }, () => new pg.Client({ connectionString }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const results = await Promise.allSettled(clients.map((c) => new PostgresStore({ pool: c, schema }).migrate()));
      return results.flatMap((r) => (r.status === 'rejected' ? [`${(r.reason as { code?: string }).code}: ${(r.reason as Error).message}`] : []));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  }

  const leads = async (schema: string) => {
    const s = new PostgresStore({ pool, schema });
    expect(await tryLead(s, { name: 'after-migrate', holder: 'a', ttlMs: 10_000 })).toMatchObject({ isLeader: true, token: 1 });
    expect(await tryLead(new PostgresStore({ pool, schema, prepare: false }), { name: 'after-migrate', holder: 'b', ttlMs: 10_000 })).toMatchObject({
      isLeader: false,
      leader: 'a',
    });
  };

  it('24 migrations at once on an empty schema, each on its own connection, all resolve; then the store works', async () => {
    const schema = await freshSchema();
    try {
      expect(await migrateConcurrently(schema)).toEqual([]);
      await leads(schema);
    } finally {
      await dropSchema(schema);
    }
  });

  it('24 migrations at once on a schema already migrated all resolve; then the store works', async () => {
    const schema = await freshSchema();
    try {
      await new PostgresStore({ pool, schema }).migrate();
      expect(await migrateConcurrently(schema)).toEqual([]);
      await leads(schema);
    } finally {
      await dropSchema(schema);
    }
  });

  it('a table name too long for the functions (table only) migrates concurrently too', async () => {
    const schema = await freshSchema();
    const table = `t${'x'.repeat(60)}`;
    try {
      const clients = Array.from({ length: 12 }, () => new pg.Client({ connectionString: url }));
      await Promise.all(clients.map((c) => c.connect()));
      try {
        await Promise.all(clients.map((c) => new PostgresStore({ pool: c, schema, table }).migrate()));
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
      expect(await tryLead(new PostgresStore({ pool, schema, table }), { name: 'long', holder: 'a', ttlMs: 10_000 })).toMatchObject({ isLeader: true });
    } finally {
      await dropSchema(schema);
    }
  });

  it('against a closed port, rejects at once with STORE_UNAVAILABLE (the driver error as cause), not a raw ECONNREFUSED', async () => {
    const closed = new URL(url);
    closed.port = String(await freePort());
    const unreachable = new pg.Pool({ connectionString: closed.toString(), max: 1 });
    unreachable.on('error', () => {});
    try {
      const started = performance.now();
      const error = await new PostgresStore({ pool: unreachable }).migrate().then(
        () => undefined,
        (e: unknown) => e,
      );
      // A refused loopback connection answers in well under a millisecond; this bound only catches a hang or retries.
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(isLeaseholdError(error, 'STORE_UNAVAILABLE')).toBe(true);
      expect(error).toMatchObject({ message: expect.stringMatching(/^postgres store: .*migrate/), cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
    } finally {
      await unreachable.end();
    }
  });

  it('a role without the right to create says which rights it needs; once an owner migrated, the same call resolves with no DDL', async () => {
    const schema = await freshSchema();
    const role = `leasehold_migrate_${process.pid}`;
    await pool.query(`DROP ROLE IF EXISTS "${role}"; CREATE ROLE "${role}" LOGIN; GRANT USAGE ON SCHEMA "${schema}" TO "${role}"`);
    try {
      const failures = await migrateConcurrently(schema, 4, { user: role });
      expect(failures).toHaveLength(4);
      for (const f of failures) expect(f).toMatch(/^STORE_UNAVAILABLE: postgres store: .*CREATE on schema/);
      await new PostgresStore({ pool, schema }).migrate();
      await pool.query(`GRANT SELECT, INSERT, UPDATE ON "${schema}".leasehold_leases TO "${role}"`);
      // Already installed at this version: nothing to create, so a role with only the table's rights may call it at every start.
      expect(await migrateConcurrently(schema, 4, { user: role })).toEqual([]);
    } finally {
      await dropSchema(schema);
      await pool.query(`DROP ROLE IF EXISTS "${role}"`);
    }
  });

  it('reinstalls a function that is missing or that an older install replaced (its source lacks this version)', async () => {
    const schema = await freshSchema();
    const claimSource = async () =>
      (await pool.query(`SELECT prosrc FROM pg_proc WHERE oid = '"${schema}".leasehold_leases_claim'::regproc`)).rows[0]?.prosrc as string;
    try {
      const s = new PostgresStore({ pool, schema, prepare: false });
      await s.migrate();
      const installed = await claimSource();
      expect(installed).toMatch(/^-- leasehold schema [0-9a-f]{16}:/m);
      // An older leasehold's CREATE OR REPLACE (same signature, no version line), and a dropped release function.
      const { rows } = await pool.query(`SELECT pg_get_functiondef('"${schema}".leasehold_leases_claim'::regproc) AS def`);
      await pool.query(String(rows[0]?.def).replace(/^-- leasehold schema .*\n/m, ''));
      await pool.query(`DROP FUNCTION "${schema}".leasehold_leases_release`);
      expect(await claimSource()).not.toMatch(/leasehold schema/);
      await s.migrate();
      expect(await claimSource()).toBe(installed);
      expect(await tryLead(s, { name: 'reinstalled', holder: 'a', ttlMs: 10_000 })).toMatchObject({ isLeader: true });
      expect(await release(s, { name: 'reinstalled', holder: 'a' })).toBe(true);
    } finally {
      await dropSchema(schema);
    }
  });

  it('a schema that does not exist is STORE_UNAVAILABLE, naming it', async () => {
    await expect(new PostgresStore({ pool, schema: `no_such_schema_${process.pid}` }).migrate()).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining(`schema no_such_schema_${process.pid} does not exist`),
      cause: expect.objectContaining({ code: '3F000' }),
    });
  });

  it('retries a catalog race with a migration that takes no lock (an older leasehold, a migration tool)', async () => {
    const schema = await freshSchema();
    let failed = 0;
    // The first statement meets the error Postgres gives the loser of two concurrent CREATE OR REPLACE FUNCTION.
    const racing: PostgresQueryable = {
      query: (text: string, values?: unknown[]) => {
        if (failed++ === 0) return Promise.reject(Object.assign(new Error('tuple concurrently updated'), { code: 'XX000' }));
        return pool.query(text, values);
      },
    };
    try {
      await new PostgresStore({ pool: racing, schema }).migrate();
      expect(failed).toBeGreaterThan(1);
      await leads(schema);
    } finally {
      await dropSchema(schema);
    }
  });
});
