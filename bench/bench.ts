/**
 * `npm run bench`: what a tryLead() call costs, as ratios against floors measured in the same run.
 *
 * - Postgres: floors are one round trip on the same pool (`SELECT 1`, plain and prepared) and a bare
 *   single-statement upsert. A tryLead() that sends one statement should cost about that.
 * - DynamoDB Local: the floor is one raw conditional UpdateItem through the same SDK client.
 * - CPU: the library's own time per call, on MemoryStore, against a bare async Map read-modify-write.
 *
 * Cases of a group run interleaved (one call of each per round, in rotating order), so warm-up and drift
 * affect floor and cases alike. Uses DATABASE_URL / DYNAMODB_ENDPOINT when set, otherwise starts
 * throwaway engines. Writes BENCHMARKS.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { getLeader, ManualClock, release, tryLead } from '../src/index.js';
import { DynamoDBStore } from '../src/stores/dynamodb.js';
import { MemoryStore } from '../src/stores/memory.js';
import { PostgresStore } from '../src/stores/postgres.js';
import { localClient, startDynamoDBLocal } from '../test/setup/dynamodb.js';
import { startThrowawayPostgres } from '../test/setup/postgres.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 400);
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Stats {
  p50: number;
  p95: number;
}
interface Row extends Stats {
  what: string;
  ratio: string;
}
type Case = [label: string, run: (i: number) => Promise<unknown>];

/** Runs `cases` interleaved; the first case is the floor every ratio divides by. */
async function compare(title: string, iterations: number, cases: Case[]): Promise<Row[]> {
  say(`\n${title}: ${cases.length} cases × ${iterations} calls, interleaved`);
  const samples = cases.map(() => [] as number[]);
  const warmup = Math.max(50, Math.floor(iterations / 4));
  for (let i = 0; i < warmup + iterations; i++) {
    for (let k = 0; k < cases.length; k++) {
      const c = (i + k) % cases.length;
      const [, run] = cases[c] as Case;
      const start = performance.now();
      await run(i);
      if (i >= warmup) samples[c]?.push(performance.now() - start);
    }
    if (i > warmup && (i - warmup) % Math.ceil(iterations / 4) === 0) say(`  … ${Math.round(((i - warmup) / iterations) * 100)}%`);
  }
  const stats = samples.map((s): Stats => {
    s.sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
    return { p50: at(0.5), p95: at(0.95) };
  });
  const floor = stats[0]?.p50 ?? 1;
  return cases.map(([what], i) => {
    const s = stats[i] as Stats;
    const row = { what, ...s, ratio: (s.p50 / floor).toFixed(2) };
    say(`  ${what.padEnd(44)} p50 ${s.p50.toFixed(3)} ms   p95 ${s.p95.toFixed(3)} ms   ×${row.ratio}`);
    return row;
  });
}

const table = (rows: Row[], floorLabel: string) =>
  [
    `| call | p50 (ms) | p95 (ms) | p50 ÷ ${floorLabel} |`,
    '| --- | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.what} | ${r.p50.toFixed(3)} | ${r.p95.toFixed(3)} | ${r.ratio} |`),
  ].join('\n');

async function main(): Promise<void> {
  const clock = new ManualClock();
  const opts = (name: string, holder: string) => ({ name, holder, ttlMs: 60_000, clock });

  // PostgreSQL
  let pgEngine = 'DATABASE_URL';
  let stopPg = () => {};
  let url = process.env.DATABASE_URL;
  if (!url) {
    say('starting a throwaway PostgreSQL cluster…');
    const started = await startThrowawayPostgres();
    url = started.url;
    stopPg = started.stop;
    pgEngine = 'throwaway local PostgreSQL, loopback, fsync off';
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  let pgRows: Row[];
  try {
    const store = new PostgresStore({ pool, table: 'leasehold_bench' });
    const prepared = new PostgresStore({ pool, table: 'leasehold_bench', prepare: true });
    await pool.query('DROP TABLE IF EXISTS leasehold_bench, leasehold_bench_floor');
    await store.migrate();
    await pool.query('CREATE TABLE leasehold_bench_floor (name text PRIMARY KEY, n bigint NOT NULL)');
    await tryLead(store, opts('steady', 'leader'));
    await tryLead(store, opts('cycle', 'leader'));
    pgRows = await compare(`PostgreSQL (${pgEngine})`, ITERATIONS, [
      ['floor: SELECT 1 (one round trip)', () => pool.query('SELECT 1')],
      ['floor: SELECT 1, prepared', () => pool.query({ name: 'bench_floor', text: 'SELECT $1::int', values: [1] })],
      [
        'floor: bare upsert (one conditional write)',
        () =>
          pool.query('INSERT INTO leasehold_bench_floor VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET n = leasehold_bench_floor.n + 1 RETURNING n', ['x']),
      ],
      ['tryLead: renew (leader)', () => tryLead(store, opts('steady', 'leader'))],
      ['tryLead: refused claim (follower)', () => tryLead(store, opts('steady', 'follower'))],
      ['tryLead: claim from nothing', (i) => tryLead(store, opts(`fresh-${i}`, 'leader'))],
      ['getLeader', () => getLeader(store, 'steady')],
      [
        'release, then claim (two calls)',
        async () => {
          await release(store, { name: 'cycle', holder: 'leader' });
          await tryLead(store, opts('cycle', 'leader'));
        },
      ],
      ['tryLead: renew, prepare: true', () => tryLead(prepared, opts('steady', 'leader'))],
      ['tryLead: refused claim, prepare: true', () => tryLead(prepared, opts('steady', 'follower'))],
    ]);
    await pool.query('DROP TABLE IF EXISTS leasehold_bench, leasehold_bench_floor');
  } finally {
    await pool.end();
    stopPg();
  }

  // DynamoDB Local
  say('\nstarting DynamoDB Local (the real AWS engine, on Java)…');
  const dynamo = process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT, stop: async () => {} } : await startDynamoDBLocal();
  let ddbRows: Row[];
  try {
    const client = localClient(dynamo.endpoint);
    const tableName = `leasehold-bench-${Date.now()}`;
    const ddb = new DynamoDBStore({ client, table: tableName });
    await ddb.createTable();
    await tryLead(ddb, opts('steady', 'leader'));
    const ddbIterations = Math.ceil(ITERATIONS / 2);
    // Leases that ran out an hour ago, one per call of the takeover case (warm-up included).
    const anHourAgo = new ManualClock(clock.now() - 3_600_000);
    for (let i = 0; i < Math.max(50, Math.floor(ddbIterations / 4)) + ddbIterations; i++) {
      await tryLead(ddb, { ...opts(`expired-${i}`, 'previous'), clock: anHourAgo });
    }
    ddbRows = await compare('DynamoDB Local', ddbIterations, [
      [
        'floor: raw conditional UpdateItem (SDK)',
        (i) =>
          client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: { pk: { S: 'floor' } },
              UpdateExpression: 'SET #v = :v',
              ConditionExpression: 'attribute_not_exists(#v) OR #v <> :v',
              ExpressionAttributeNames: { '#v': 'v' },
              ExpressionAttributeValues: { ':v': { N: String(i) } },
            }),
          ),
      ],
      [
        'floor: raw GetItem (SDK, consistent read)',
        () => client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'floor' } }, ConsistentRead: true })),
      ],
      ['tryLead: renew (leader)', () => tryLead(ddb, opts('steady', 'leader'))],
      ['tryLead: refused claim (follower)', () => tryLead(ddb, opts('steady', 'follower'))],
      ['tryLead: claim from nothing', (i) => tryLead(ddb, opts(`fresh-${i}`, 'leader'))],
      // A cold container (a new store, nothing cached) taking over a lease that ran out: still one UpdateItem.
      ['tryLead: takeover of an expired lease, cold', (i) => tryLead(new DynamoDBStore({ client, table: tableName }), opts(`expired-${i}`, 'leader'))],
      ['getLeader', () => getLeader(ddb, 'steady', { clock })],
    ]);
  } finally {
    await dynamo.stop();
  }

  // Library CPU
  const memory = new MemoryStore({ clock });
  const map = new Map<string, { holder: string; n: number }>();
  const cpuRows = await compare('CPU: MemoryStore (no I/O: the library’s own time)', ITERATIONS * 10, [
    [
      'floor: async Map read-modify-write',
      async () => {
        await Promise.resolve();
        const r = map.get('x');
        map.set('x', { holder: 'leader', n: (r?.n ?? 0) + 1 });
      },
    ],
    ['tryLead on MemoryStore: renew', () => tryLead(memory, opts('steady', 'leader'))],
    ['tryLead on MemoryStore: refused claim', () => tryLead(memory, opts('steady', 'follower'))],
  ]);

  const md = `# Benchmarks

Regenerate with \`npm run bench\` (writes this file; \`BENCH_ITERATIONS\` sets the sample count, default 400).
Absolute figures depend on the machine; compare the ratios, each against a floor measured in the same run with
the cases interleaved (one call of each per round), so warm-up and drift hit floor and cases alike.
Last run: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}.

## PostgreSQL (${pgEngine})

The floor is one round trip on the same connection. Every \`tryLead()\` case sends exactly one statement
(counted in \`test/postgres.test.ts\`), so its ratio to the floor is the cost of that statement. Without
\`prepare: true\` most of it is planning the statement on every call; with it, the statement is planned
once per connection and a call costs about one prepared round trip.

${table(pgRows, 'SELECT 1')}

## DynamoDB Local (the real AWS engine, loopback)

The floor is one raw conditional \`UpdateItem\` through the same SDK client: the SDK itself costs about 1.5 ms
of CPU per call on Node 20, so the library is measured against a raw SDK call, not against zero. Renewal,
refusal, a claim from nothing and a takeover (from a cold store, as in a new Lambda container) are one request
each (counted in \`test/dynamodb.test.ts\`).

${table(ddbRows, 'raw UpdateItem')}

## Library CPU (MemoryStore, no I/O)

The library's own work per call (validation, the decision, the result object) against a bare async Map
read-modify-write: a few microseconds, beside a database round trip of a tenth of a millisecond or more.

${table(cpuRows, 'bare Map')}
`;
  writeFileSync('BENCHMARKS.md', md);
  say('\nsummary');
  for (const [group, rows] of [
    ['postgres', pgRows],
    ['dynamodb', ddbRows],
    ['cpu', cpuRows],
  ] as const) {
    for (const r of rows) say(`  ${group.padEnd(9)} ${r.what.padEnd(44)} p50 ${r.p50.toFixed(3).padStart(8)} ms  ×${r.ratio}`);
  }
  say('wrote BENCHMARKS.md');
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
