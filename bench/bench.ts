/**
 * `npm run bench`: what a tryLead() call costs, as ratios against floors measured in the same run.
 *
 * - Postgres: the floor is one round trip on the same pool (`SELECT 1`), and a bare single-statement
 *   upsert (the cheapest conditional write). A tryLead() that sends one statement should cost about that.
 * - CPU: the library's own time per call, on MemoryStore, against a bare async Map read-modify-write.
 *
 * Uses DATABASE_URL when set, otherwise a throwaway PostgreSQL cluster. Writes BENCHMARKS.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import pg from 'pg';
import { getLeader, ManualClock, release, tryLead } from '../src/index.js';
import { MemoryStore } from '../src/stores/memory.js';
import { PostgresStore } from '../src/stores/postgres.js';
import { startThrowawayPostgres } from '../test/setup/postgres.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 400);
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Row {
  group: string;
  what: string;
  p50: number;
  p95: number;
  mean: number;
  ratio: string;
}

async function measure(label: string, iterations: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p95: number; mean: number }> {
  for (let i = 0; i < Math.min(50, iterations); i++) await fn(i); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  say(`  ${label.padEnd(44)} p50 ${at(0.5).toFixed(3)} ms   p95 ${at(0.95).toFixed(3)} ms`);
  return { p50: at(0.5), p95: at(0.95), mean };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  let engine = 'DATABASE_URL';
  let stop = () => {};
  let url = process.env.DATABASE_URL;
  if (!url) {
    say('starting a throwaway PostgreSQL cluster…');
    const started = await startThrowawayPostgres();
    url = started.url;
    stop = started.stop;
    engine = 'throwaway local PostgreSQL (loopback, fsync off)';
  }
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    const store = new PostgresStore({ pool, table: 'leasehold_bench' });
    await pool.query('DROP TABLE IF EXISTS leasehold_bench, leasehold_bench_floor');
    await store.migrate();
    await pool.query('CREATE TABLE leasehold_bench_floor (name text PRIMARY KEY, n bigint NOT NULL)');
    const prepared = new PostgresStore({ pool, table: 'leasehold_bench', prepare: true });
    const clock = new ManualClock();
    const opts = (name: string, holder: string) => ({ name, holder, ttlMs: 60_000, clock });

    say(`\nPostgreSQL (${engine}), ${ITERATIONS} sequential calls each`);
    const floor = await measure('floor: SELECT 1 (one round trip)', ITERATIONS, () => pool.query('SELECT 1'));
    const floorPrepared = await measure('floor: SELECT 1, prepared (named statement)', ITERATIONS, () =>
      pool.query({ name: 'bench_floor', text: 'SELECT $1::int', values: [1] }),
    );
    const upsert = await measure('floor: bare upsert (one conditional write)', ITERATIONS, () =>
      pool.query('INSERT INTO leasehold_bench_floor VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET n = leasehold_bench_floor.n + 1 RETURNING n', ['x']),
    );
    await tryLead(store, opts('steady', 'leader'));
    const cases: [string, (i: number) => Promise<unknown>][] = [
      ['tryLead: renew (leader)', () => tryLead(store, opts('steady', 'leader'))],
      ['tryLead: refused claim (follower)', () => tryLead(store, opts('steady', 'follower'))],
      ['tryLead: claim from nothing', (i) => tryLead(store, opts(`fresh-${i}`, 'leader'))],
      ['getLeader', () => getLeader(store, 'steady')],
      [
        'release + claim (two calls)',
        async () => {
          await release(store, { name: 'steady', holder: 'leader' });
          await tryLead(store, opts('steady', 'leader'));
        },
      ],
      ['tryLead: renew, prepare: true', () => tryLead(prepared, opts('steady', 'leader'))],
      ['tryLead: refused claim, prepare: true', () => tryLead(prepared, opts('steady', 'follower'))],
    ];
    rows.push({ group: 'postgres', what: 'floor: SELECT 1', ...floor, ratio: '1.00' });
    rows.push({ group: 'postgres', what: 'floor: SELECT 1, prepared', ...floorPrepared, ratio: (floorPrepared.p50 / floor.p50).toFixed(2) });
    rows.push({ group: 'postgres', what: 'floor: bare upsert', ...upsert, ratio: (upsert.p50 / floor.p50).toFixed(2) });
    for (const [what, fn] of cases) {
      const m = await measure(what, ITERATIONS, fn);
      rows.push({ group: 'postgres', what, ...m, ratio: (m.p50 / floor.p50).toFixed(2) });
    }

    say(`\nCPU: MemoryStore, ${ITERATIONS * 10} sequential calls each (no I/O: the library's own time)`);
    const memory = new MemoryStore({ clock });
    const map = new Map<string, { holder: string; n: number }>();
    const bare = await measure('floor: async Map read-modify-write', ITERATIONS * 10, async () => {
      await Promise.resolve();
      const r = map.get('x');
      map.set('x', { holder: 'leader', n: (r?.n ?? 0) + 1 });
    });
    const renew = await measure('tryLead on MemoryStore: renew', ITERATIONS * 10, () => tryLead(memory, opts('steady', 'leader')));
    const refused = await measure('tryLead on MemoryStore: refused claim', ITERATIONS * 10, () => tryLead(memory, opts('steady', 'follower')));
    rows.push({ group: 'cpu', what: 'floor: async Map read-modify-write', ...bare, ratio: '1.00' });
    rows.push({ group: 'cpu', what: 'tryLead on MemoryStore: renew', ...renew, ratio: (renew.p50 / bare.p50).toFixed(1) });
    rows.push({ group: 'cpu', what: 'tryLead on MemoryStore: refused claim', ...refused, ratio: (refused.p50 / bare.p50).toFixed(1) });
    await pool.query('DROP TABLE IF EXISTS leasehold_bench, leasehold_bench_floor');

    const table = (group: string, floorLabel: string) =>
      [
        `| call | p50 (ms) | p95 (ms) | p50 ÷ ${floorLabel} |`,
        '| --- | ---: | ---: | ---: |',
        ...rows.filter((r) => r.group === group).map((r) => `| ${r.what} | ${r.p50.toFixed(3)} | ${r.p95.toFixed(3)} | ${r.ratio} |`),
      ].join('\n');
    const md = `# Benchmarks

Regenerate with \`npm run bench\` (writes this file; \`BENCH_ITERATIONS\` sets the sample count, default 400).
Figures are machine-dependent; the ratios, measured against floors in the same run, are what to compare.
Last run: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${ITERATIONS} samples per row.

## PostgreSQL (${engine})

The floor is one round trip on the same pool. Every \`tryLead()\` case sends exactly one statement
(counted in \`test/postgres.test.ts\`), so its ratio to the floor is the cost of the statement itself.
Without \`prepare: true\` most of that cost is planning the statement on every call; with it, the
statement is planned once per connection and a call costs about one prepared round trip.

${table('postgres', 'SELECT 1')}

## Library CPU (MemoryStore, no I/O)

The library's own work per call (validation, the decision, the result object) against a bare async Map
read-modify-write. Microseconds, beside a database round trip measured in milliseconds.

${table('cpu', 'bare Map')}
`;
    writeFileSync('BENCHMARKS.md', md);
    say('\nsummary');
    for (const r of rows) say(`  ${r.group.padEnd(9)} ${r.what.padEnd(40)} p50 ${r.p50.toFixed(3).padStart(8)} ms  ×${r.ratio}`);
    say('wrote BENCHMARKS.md');
  } finally {
    await pool.end();
    stop();
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
