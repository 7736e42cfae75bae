/**
 * `npm run bench:handover` (also the last step of `npm run bench`): how long a fleet of three Elector processes on
 * a throwaway PostgreSQL takes from a leader's `resign()` to the next leader's `elected`, and from `handover(name)` to
 * the named successor's, with push wake-ups (LISTEN/NOTIFY) and with polling only (`listen: false`). Both ends are
 * read on this machine's wall clock, in different processes. Writes the "Handover" section of BENCHMARKS.md (after
 * the rest, which `npm run bench` rewrites first). BENCH_ROUNDS scales the rounds.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { PostgresStore } from '../src/stores/postgres/index.js';
import { Fleet, stats } from '../test/support/elector-fleet.js';
import { startThrowawayPostgres } from '../test/support/engines.js';

const SCALE = Number(process.env.BENCH_ROUNDS ?? 1);
const ROUNDS = Math.max(5, Math.round(20 * SCALE));
const TTL = 6_000;
const SKEW = 500;
const RETRY = 2_000;
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const loadBefore = loadavg()[0] ?? 0;
const engine = await startThrowawayPostgres();
const pool = new pg.Pool({ connectionString: engine.url, max: 2 });
const table = 'leases_bench_handover';
await new PostgresStore({ pool, table }).migrate();

interface Row {
  what: string;
  mode: 'push' | 'poll';
  median: number;
  p99: number;
  max: number;
  n: number;
}
const rows: Row[] = [];
let fleets = 0;

async function measure(mode: 'push' | 'poll'): Promise<void> {
  const fleet = new Fleet({
    url: engine.url,
    table,
    name: `bench-${fleets++}`,
    holders: ['a', 'b', 'c'],
    ttlMs: TTL,
    skewMs: SKEW,
    retryEveryMs: RETRY,
    listen: mode === 'push' ? 'pool' : 'off',
  });
  await fleet.start();
  try {
    const resign: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // The resigner stands aside twice the poll interval (the default), so that with polling alone another process
      // (which polls within one interval) leads next; the next round begins once all three contend again.
      resign.push((await fleet.resignRound(RETRY * 2)).ms);
      await sleep(RETRY * 2 + 50);
    }
    rows.push({ what: 'resign → next leader', mode, ...stats(resign) });
    say(`  ${mode}: resign → next leader median ${stats(resign).median} ms`);
    const handover: number[] = [];
    const holders = ['a', 'b', 'c'];
    for (let i = 0; i < ROUNDS; i++) {
      const leader = await fleet.leader();
      const successor = holders.filter((h) => h !== leader)[i % 2] as string;
      const round = await fleet.handoverRound(successor, RETRY * 2);
      if (round.to !== successor) throw new Error(`bench: ${successor} was named, ${round.to} led next`);
      handover.push(round.ms);
    }
    rows.push({ what: 'handover → named successor', mode, ...stats(handover) });
    say(`  ${mode}: handover → named successor median ${stats(handover).median} ms`);
    const { overlaps } = fleet.overlaps();
    if (overlaps.length > 0) throw new Error(`bench: terms overlapped: ${overlaps.join('; ')}`);
  } finally {
    await fleet.stop();
  }
}

/**
 * The floor, in this process: one NOTIFY from one connection heard on another that LISTENs, then one conditional
 * upsert on the listening side (what a woken follower's claim costs), with raw pg clients. Median of `ROUNDS`.
 */
async function floor(): Promise<number> {
  const listener = new pg.Client({ connectionString: engine.url });
  const sender = new pg.Client({ connectionString: engine.url });
  await listener.connect();
  await sender.connect();
  try {
    await listener.query('CREATE TABLE IF NOT EXISTS floor_claim (name text PRIMARY KEY, holder text, n int)');
    await listener.query('LISTEN floor_channel');
    const samples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const heard = new Promise<void>((resolve) => listener.once('notification', () => resolve()));
      const began = performance.now();
      await sender.query("SELECT pg_notify('floor_channel', 'x')");
      await heard;
      await listener.query(
        "INSERT INTO floor_claim VALUES ('x', $1, 1) ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, n = floor_claim.n + 1 RETURNING n",
        [`h${i}`],
      );
      samples.push(performance.now() - began);
    }
    return stats(samples.map((v) => Math.round(v * 100) / 100)).median;
  } finally {
    await listener.end();
    await sender.end();
  }
}

let floorMs = Number.NaN;
try {
  say(`handover bench: ${ROUNDS} rounds each, three Elector processes, ttl ${TTL} ms, poll every ${RETRY} ms`);
  floorMs = await floor();
  say(`  floor (NOTIFY heard + one upsert, raw pg, one process): median ${floorMs} ms`);
  await measure('push');
  await measure('poll');
} finally {
  await pool.end();
  engine.stop();
}

const loadAfter = loadavg()[0] ?? 0;
const push = (what: string) => rows.find((r) => r.what === what && r.mode === 'push');
const poll = (what: string) => rows.find((r) => r.what === what && r.mode === 'poll');
const ratio = (what: string) => {
  const a = poll(what)?.median;
  const b = push(what)?.median;
  return a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(0)}×` : 'n/a';
};
const section = `## Handover

Generated by \`npm run bench:handover\` (the last step of \`npm run bench\`), ${new Date().toISOString().slice(0, 10)}: three Elector
processes (each its own Node process and \`pg.Pool\`, sources through tsx) on a throwaway PostgreSQL on loopback,
ttl ${TTL} ms, followers poll every ${RETRY} ms. A round runs from the leader's call (\`resign()\` or \`handover(name)\`)
to the next leader's \`elected\` event, both read on this machine's wall clock; ${ROUNDS} rounds per row.
Push: the store's default (\`listen: 'auto'\`: the release or handover NOTIFYs in its own statement, followers
LISTEN on one pooled connection each). Poll: \`listen: false\`, the only mechanism on DynamoDB and Firestore.
${cpus().length} cores; load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (the machine is shared).

The floor, measured in the same run: one NOTIFY heard on a raw \`pg\` connection that LISTENs, then one conditional
upsert on it (the least a woken follower's claim costs), in one process: median ${floorMs} ms.

| round | mode | median | p99 | max | median ÷ floor |
|---|---|---:|---:|---:|---:|
${rows.map((r) => `| ${r.what} | ${r.mode} | ${r.median} ms | ${r.p99} ms | ${r.max} ms | ${(r.median / floorMs).toFixed(1)} |`).join('\n')}

Push beats poll by ${ratio('resign → next leader')} on resign and ${ratio('handover → named successor')} on handover (medians).
The poll rows are spread over the poll interval (a follower's next poll comes at a random point of it); the push
rows are one NOTIFY plus one claim. The named successor led next in every handover round of both modes, and no two
terms overlapped (checked from the processes' own reports).
`;

const file = new URL('../BENCHMARKS.md', import.meta.url);
const current = readFileSync(file, 'utf8');
const start = current.indexOf('## Handover\n');
const kept = start >= 0 ? current.slice(0, start).trimEnd() : current.trimEnd();
writeFileSync(file, `${kept}\n\n${section}`);
say(section);
