/**
 * The PostgreSQL cases: leasehold's calls against the hand-written conditional upsert and against its peers (etcd's
 * read-then-compare-and-swap, advisory locks) on one connection; npm advisory-lock in its own rounds; PgBouncer in
 * transaction pooling when installed; then the hot loop, contention on a pool of 16 and failover.
 */
import { createRequire } from 'node:module';
import pg from 'pg';
import { expectLeader, lead, lib, PostgresStore } from '../harness.js';
import { compare } from '../measure.js';
import { emptyPart, type ReportPart } from '../report.js';
import { SCALE } from '../settings.js';
import { contention } from './contention.js';
import { failover } from './failover.js';
import { hotLoop } from './hot-loop.js';

const { getLeader, release, tryLead } = lib;

// advisory-lock is CommonJS with `exports.default`.
const advisoryLock = (createRequire(import.meta.url)('advisory-lock') as { default: typeof import('advisory-lock').default }).default;

/** Runs the PostgreSQL cases on the server at `url` (and through PgBouncer at `bouncerUrl`, when given). */
export async function postgresCases(url: string, bouncerUrl: string | undefined): Promise<ReportPart> {
  const part = emptyPart();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const T = 'leasehold_bench';
  const I = 'leasehold_bench_inline';
  const F = 'leasehold_bench_floor';
  // Claims from nothing add a row per call: their own table, so the tables of the other cases stay as small as the floor's.
  const N = 'leasehold_bench_new';
  await pool.query(
    `DROP TABLE IF EXISTS ${T}, ${I}, ${F}, ${N}; DROP FUNCTION IF EXISTS ${T}_claim, ${T}_release, ${I}_claim, ${I}_release, ${N}_claim, ${N}_release`,
  );
  await new PostgresStore({ pool, table: T }).migrate();
  await new PostgresStore({ pool, table: N }).migrate();
  await new PostgresStore({ pool, table: I }).migrate();
  await pool.query(`DROP FUNCTION ${I}_claim, ${I}_release`);
  await pool.query(`CREATE TABLE ${F} (name text PRIMARY KEY, holder text, expires_at timestamptz NOT NULL, token bigint NOT NULL, version text)`);
  const store = new PostgresStore({ pool, table: T }); // the default: named (prepared) statements on node-postgres
  const fresh = new PostgresStore({ pool, table: N });
  const unprepared = new PostgresStore({ pool, table: T, prepare: false });
  const inlineUnprepared = new PostgresStore({ pool, table: I, prepare: false });
  for (const s of [store, unprepared, inlineUnprepared]) {
    await lead(s, 'steady', 'leader');
    await expectLeader('Postgres renew', lead(s, 'steady', 'leader'), true);
    await expectLeader('Postgres refused claim', lead(s, 'steady', 'follower'), false);
  }
  await lead(store, 'cycle', 'leader');
  // The floor: the conditional upsert someone would write by hand for a lease, prepared, with the same driver.
  const HAND = `INSERT INTO ${F} AS t (name, holder, expires_at, token, version) VALUES ($1, $2, now() + $3 * interval '1 millisecond', 1, $4)
    ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, version = EXCLUDED.version
    WHERE t.holder = EXCLUDED.holder OR t.expires_at <= now() RETURNING t.token, t.expires_at`;
  const hand = (name: string, holder: string) => pool.query({ name: 'bench_hand', text: HAND, values: [name, holder, 600_000, crypto.randomUUID()] });
  await hand('floor', 'leader');
  // etcd's two steps: read, then compare-and-swap on the version (prepared).
  const twoStep = async (name: string, holder: string) => {
    const { rows } = await pool.query({
      name: 'bench_get',
      text: `SELECT holder, version, expires_at > now() AS live FROM ${F} WHERE name = $1`,
      values: [name],
    });
    const row = rows[0] as { holder: string; version: string; live: boolean } | undefined;
    if (row && row.holder !== holder && row.live) return false;
    const r = await pool.query({
      name: 'bench_cas',
      text: `UPDATE ${F} SET holder = $2, expires_at = now() + $3 * interval '1 millisecond', version = $4 WHERE name = $1 AND version = $5`,
      values: [name, holder, 600_000, crypto.randomUUID(), row?.version ?? ''],
    });
    return r.rowCount === 1;
  };
  const advisoryClient = new pg.Client({ connectionString: url });
  await advisoryClient.connect();
  const mutex = advisoryLock(url)('bench-advisory');
  await mutex.tryLock().then((unlock) => unlock?.());
  const rounds = Math.ceil(1500 * SCALE);
  const rows = await compare('PostgreSQL, one connection', rounds, Math.ceil(rounds / 5), [
    { label: 'floor: hand-written conditional upsert, prepared (pg)', kind: 'floor', run: () => hand('floor', 'leader') },
    {
      label: 'reference: bare counter upsert, prepared',
      kind: 'reference',
      run: () =>
        pool.query({
          name: 'bench_counter',
          text: `INSERT INTO ${F} VALUES ('counter', 'x', now(), 1) ON CONFLICT (name) DO UPDATE SET token = ${F}.token + 1 RETURNING token`,
        }),
    },
    { label: 'tryLead renew (default)', kind: 'leasehold', run: () => lead(store, 'steady', 'leader') },
    { label: 'tryLead refused (default)', kind: 'leasehold', run: () => lead(store, 'steady', 'follower') },
    { label: 'tryLead claim from nothing (default)', kind: 'leasehold', run: (i) => lead(fresh, `fresh-${i}`, 'leader') },
    {
      label: 'release + tryLead (default, 2 calls)',
      kind: 'leasehold',
      run: () => release(store, { name: 'cycle', holder: 'leader' }).then(() => lead(store, 'cycle', 'leader')),
    },
    { label: 'getLeader (default)', kind: 'leasehold', run: () => getLeader(store, 'steady') },
    {
      label: 'tryLead by a warm holder, renewBelow: 0.5 (answered from memory)',
      kind: 'leasehold',
      run: () => tryLead(store, { name: 'warm', holder: 'leader', ttlMs: 600_000, renewBelow: 0.5 }),
    },
    { label: 'tryLead renew, prepare: false (function call)', kind: 'leasehold', run: () => lead(unprepared, 'steady', 'leader') },
    { label: 'tryLead refused, prepare: false (function call)', kind: 'leasehold', run: () => lead(unprepared, 'steady', 'follower') },
    { label: 'tryLead renew, no function, prepare: false', kind: 'leasehold', run: () => lead(inlineUnprepared, 'steady', 'leader') },
    { label: 'peer: etcd-style read, then compare-and-swap', kind: 'peer', run: () => twoStep('floor', 'leader') },
    {
      label: 'peer: pg_try_advisory_lock + unlock',
      kind: 'peer',
      run: async () => {
        await advisoryClient.query({ name: 'bench_try', text: 'SELECT pg_try_advisory_lock($1)', values: [42] });
        await advisoryClient.query({ name: 'bench_unlock', text: 'SELECT pg_advisory_unlock($1)', values: [42] });
      },
    },
  ]);
  // npm advisory-lock opens a connection per lock (and closes it on unlock): its own group, so the backends it
  // starts and ends do not land on the case after it.
  const aRounds = Math.ceil(200 * SCALE);
  const arows = await compare('PostgreSQL, npm advisory-lock (a connection per lock)', aRounds, Math.ceil(aRounds / 5), [
    { label: 'floor: hand-written conditional upsert, prepared (pg)', kind: 'floor', run: () => hand('floor', 'leader') },
    { label: 'peer: npm advisory-lock tryLock + unlock', kind: 'peer', run: () => mutex.tryLock().then((unlock) => unlock?.()) },
  ]);
  await advisoryClient.end();
  part.sections.push({
    title: 'PostgreSQL (loopback, one connection)',
    intro:
      'Floor: the conditional upsert one would write by hand for a lease (`INSERT … ON CONFLICT DO UPDATE … WHERE holder = me OR expired RETURNING`), prepared, on the same `pg` connection; it reports nothing when refused. The bare counter upsert (no condition) is shown for reference. *default* is `new PostgresStore({ pool })` on a `pg.Pool`: the claim as one named (prepared) inline statement, the claim function (named) for a name the store saw refused (the refused case), and for a holder the store saw win last (the renewal case) a named conditional `UPDATE` of the state it won; claims from nothing go to a table of their own, so the others stay as small as the floor’s. *prepare: false* is what a driver other than node-postgres, or PgBouncer < 1.21, gets. *no function, prepare: false* is the fallback where the functions were not installed, and what the default was before. npm `advisory-lock` opens a connection per lock, so it runs in its own rounds (second table).',
    rows,
  });
  part.sections.push({
    title: 'PostgreSQL, npm advisory-lock (its own rounds)',
    intro: 'The same floor, interleaved with npm `advisory-lock` only.',
    rows: arows,
  });
  part.hotRows.push(await hotLoop('PostgreSQL', store, rows[0]?.p50 ?? Number.NaN));

  if (bouncerUrl) {
    const via = new pg.Pool({ connectionString: bouncerUrl, max: 1 });
    const bounced = new PostgresStore({ pool: via, table: T });
    await lead(bounced, 'steady', 'leader');
    const bRounds = Math.ceil(600 * SCALE);
    const brows = await compare('PostgreSQL through PgBouncer (transaction pooling)', bRounds, Math.ceil(bRounds / 5), [
      {
        label: 'floor: hand-written conditional upsert, unnamed (through PgBouncer)',
        kind: 'floor',
        run: () => via.query(HAND, ['floor', 'leader', 600_000, crypto.randomUUID()]),
      },
      { label: 'tryLead renew (default options, fell back to unnamed)', kind: 'leasehold', run: () => lead(bounced, 'steady', 'leader') },
      { label: 'tryLead refused (default options, fell back to unnamed)', kind: 'leasehold', run: () => lead(bounced, 'steady', 'follower') },
    ]);
    await via.end();
    part.sections.push({
      title: 'PostgreSQL through PgBouncer 1.18, transaction pooling (loopback)',
      intro:
        'PgBouncer before 1.21 cannot keep named statements per client: the default store meets that on its first call, falls back to unnamed statements (no call fails; `test/stores/pgbouncer.test.ts`), and calls the claim function unnamed. The floor here is the same hand-written upsert, unnamed, through the same pooler.',
      rows: brows,
    });
  } else part.notes.push('PgBouncer is not installed here (Debian: `apt-get install -y pgbouncer`), so its section is missing.');

  // Contention: one pool of 16 connections, as many workers as contenders.
  const wide = new pg.Pool({ connectionString: url, max: 16 });
  const wstore = new PostgresStore({ pool: wide, table: T });
  const whand = (name: string, holder: string) => wide.query({ name: 'bench_hand', text: HAND, values: [name, holder, 600_000, crypto.randomUUID()] });
  part.contentionRows.push(...(await contention('PostgreSQL (pool of 16 connections)', wstore, whand)));
  await wide.end();

  const fpool = new pg.Pool({ connectionString: url, max: 4 });
  part.failoverRows.push(...(await failover('PostgreSQL', new PostgresStore({ pool: fpool, table: T }), 0)));
  await fpool.end();
  await pool.end();
  await mutex.unlock().catch(() => {});
  return part;
}
