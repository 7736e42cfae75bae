/**
 * `npm run bench`: what leasehold costs beside the floors (one raw request with the same driver) and beside its
 * peers, in one run, interleaved; contention; failover against its bound; Worker bundle sizes. Writes
 * BENCHMARKS.md and bench/latency.svg. Starts its own engines on loopback (a throwaway PostgreSQL, PgBouncer when
 * installed, DynamoDB Local); BENCH_ROUNDS scales the sample counts. Bounded: about three minutes on 2 cores.
 *
 * This file runs the engines and the cases in order; each case (`bench/cases/*.ts`) returns its part of the report,
 * and `bench/report.ts` renders the whole. `--ab <row>` runs one A/B row (`bench/ab.ts`) alone.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { startDynamoDBLocal, startThrowawayPostgres } from '../test/support/engines.js';
import { findPgBouncer, startPgBouncer } from '../test/support/pgbouncer.js';
import { AB_ROWS, type ABRow, dynamodbPairs, postgresPairs, runRows } from './ab.js';
import { bundleSizes } from './cases/bundle-sizes.js';
import { dynamodbCases } from './cases/dynamodb.js';
import { libraryAlone } from './cases/library-alone.js';
import { postgresCases } from './cases/postgres.js';
import { latencyChart } from './chart.js';
import { say } from './harness.js';
import { ratios } from './measure.js';
import { addPart, emptyReport, type Report, renderReport } from './report.js';
import { AB_ROUNDS, AB_WARMUP, abOnly, elapsed, waitForQuiet } from './settings.js';

/** Runs `rows` (all of one engine) against the engine at `at`; their results go into `report.abResults`. */
async function measureRows(report: Report, rows: ABRow[], engine: ABRow['engine'], at: string): Promise<void> {
  const { pairs, close } = engine === 'postgres' ? await postgresPairs(at) : await dynamodbPairs(at);
  for (const [k, v] of await runRows(rows, pairs, AB_ROUNDS, AB_WARMUP)) report.abResults.set(k, v);
  await close();
}

/** Prints the A/B rows' ratios and verdicts. */
function abSummary(report: Report, rows: ABRow[]): void {
  say(`\nA/B summary (${AB_ROUNDS} rounds after ${AB_WARMUP} warm-up rounds; p50 A ÷ p50 B)`);
  for (const row of rows) {
    const m = report.abResults.get(row.id);
    if (!m) continue;
    const verdict = row.target === undefined ? '' : `  (target ≤ ${row.target}: ${m.r50 <= row.target ? 'met' : 'MISSED'})`;
    say(`  ${row.id.padEnd(22)} ×${m.r50.toFixed(3)} p50, ×${m.r99.toFixed(2)} p99, ×${m.paired.toFixed(3)} paired${verdict}`);
  }
}

/** `--ab <row>`: that row alone, on an engine of its own; BENCHMARKS.md is left as it is. */
async function onlyOneRow(id: string): Promise<void> {
  const row = AB_ROWS.find((r) => r.id === id);
  if (!row) throw new Error(`no A/B row ${JSON.stringify(id)}; the rows are: ${AB_ROWS.map((r) => r.id).join(', ')}`);
  const report = emptyReport();
  const load = await waitForQuiet();
  say(`A/B row ${row.id}: ${row.what} ÷ ${row.vs} (load average ${load})`);
  if (row.engine === 'postgres') {
    const server = await startThrowawayPostgres();
    try {
      await measureRows(report, [row], 'postgres', server.url);
    } finally {
      server.stop();
    }
  } else {
    const dynamo = await startDynamoDBLocal();
    try {
      await measureRows(report, [row], 'dynamodb', dynamo.endpoint);
    } finally {
      await dynamo.stop();
    }
  }
  abSummary(report, [row]);
}

async function main(): Promise<void> {
  const one = abOnly();
  if (one !== undefined) return onlyOneRow(one);
  const report = emptyReport();
  const loadBefore = await waitForQuiet();
  say('starting a throwaway PostgreSQL cluster (loopback)…');
  const pgServer = await startThrowawayPostgres();
  let bouncer: Awaited<ReturnType<typeof startPgBouncer>> | undefined;
  let pgVersion = '';
  try {
    if (findPgBouncer()) bouncer = await startPgBouncer(pgServer.url, 4);
    const v = new pg.Client({ connectionString: pgServer.url });
    await v.connect();
    pgVersion = String((await v.query('SHOW server_version')).rows[0]?.server_version ?? '');
    await v.end();
    // The A/B rows first, on a fresh engine, then the group.
    await measureRows(
      report,
      AB_ROWS.filter((r) => r.engine === 'postgres'),
      'postgres',
      pgServer.url,
    );
    addPart(report, await postgresCases(pgServer.url, bouncer?.url));
  } finally {
    await bouncer?.stop();
    pgServer.stop();
  }
  say(`\nstarting DynamoDB Local (the real AWS engine, on Java)… [${elapsed()}]`);
  const dynamo = await startDynamoDBLocal();
  try {
    await measureRows(
      report,
      AB_ROWS.filter((r) => r.engine === 'dynamodb'),
      'dynamodb',
      dynamo.endpoint,
    );
    addPart(report, await dynamodbCases(dynamo.endpoint));
  } finally {
    await dynamo.stop();
  }
  addPart(report, await libraryAlone());
  addPart(report, await bundleSizes());

  const svg = latencyChart(report.sections.map((s) => ({ title: s.title, rows: s.rows })));
  writeFileSync('bench/latency.svg', svg);
  writeFileSync('BENCHMARKS.md', renderReport(report, { loadBefore, pgVersion, bouncerVersion: bouncer?.version }));
  abSummary(report, AB_ROWS);
  await (await import('./redis.js')).benchRedis(); // its own section of BENCHMARKS.md (bench/redis.ts)
  say(`\nsummary [${elapsed()}]`);
  for (const t of report.targets) say(`  ${t.what.padEnd(62)} ×${t.ratio.toFixed(2)}  (target ≤ ${t.target}: ${t.ratio <= t.target ? 'met' : 'MISSED'})`);
  for (const s of report.sections) {
    for (const r of ratios(s.rows))
      if (r.kind === 'peer') say(`  peer ${r.label.replace(/^peer: /, '').padEnd(57)} ×${r.r50.toFixed(2)} of ${r.floor.replace(/^floor: /, '')}`);
  }
  say('wrote BENCHMARKS.md and bench/latency.svg');
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
