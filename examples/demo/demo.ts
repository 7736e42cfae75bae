/**
 * `npm run demo`: several workers contend for one lease on a real Postgres engine. By default that engine
 * is PGlite (Postgres compiled to WebAssembly, in-process: no server to install); `--database-url URL`
 * runs the same demo against your own PostgreSQL.
 *
 * The timeline shows who leads, the fencing token and the time left; then the leader is killed (it stops
 * without releasing, as a crash would) and another takes over; then a graceful release hands over at once.
 * It ends with the measured failover time beside its bound (ttl + skew + poll).
 */
import { parseArgs } from 'node:util';
import { Elector, type ElectorEvent, type LeadResult } from 'leasehold';
import { type PostgresQueryable, PostgresStore } from 'leasehold/postgres';

const USAGE = `usage: npm run demo -- [--database-url postgres://...] [--workers 4] [--ttl-ms 3000] [--poll-ms 500]`;

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function intFlag(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`);
  return n;
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      'database-url': { type: 'string' },
      workers: { type: 'string' },
      'ttl-ms': { type: 'string' },
      'poll-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
}
try {
  args = parse();
} catch (error) {
  fail((error as Error).message);
}
if (args.values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const workers = intFlag(args.values.workers, 'workers', 4, 2, 20);
const ttlMs = intFlag(args.values['ttl-ms'], 'ttl-ms', 3_000, 1_000, 60_000);
const pollMs = intFlag(args.values['poll-ms'], 'poll-ms', 500, 50, ttlMs);
const skewMs = 500;
const renewMs = Math.floor(ttlMs / 3);
const name = 'demo-nightly-job';

const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(2).padStart(6);
const say = (line: string) => process.stdout.write(`${elapsed()}s  ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function openEngine(): Promise<{ pool: PostgresQueryable; label: string; close: () => Promise<void> }> {
  const url = args.values['database-url'];
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(url)) fail('--database-url must start with postgres:// or postgresql://');
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url, max: workers + 2 });
    // A database restart must not crash the demo: the pool drops the dead connection and reconnects.
    pool.on('error', (error) => console.error(`idle Postgres connection lost: ${error.message}`));
    return { pool, label: `PostgreSQL at ${new URL(url).host}`, close: () => pool.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite();
  await db.waitReady;
  return { pool: db, label: 'PGlite (embedded Postgres, in-process)', close: () => db.close() };
}

interface Term {
  holder: string;
  token: number;
  from: number;
  until: number;
}

async function main(): Promise<number> {
  say('starting the database…');
  const engine = await openEngine();
  const store = new PostgresStore({ pool: engine.pool, table: 'leasehold_demo' });
  await store.migrate();
  // A clean slate for this run (the demo's own table only).
  await engine.pool.query('DELETE FROM leasehold_demo WHERE name = $1', [name]);
  say(`engine: ${engine.label}`);
  say(`${workers} workers contend for "${name}": ttl ${ttlMs} ms, skew margin ${skewMs} ms, renew every ${renewMs} ms, poll every ${pollMs} ms`);

  const terms: Term[] = [];
  const open = new Map<string, Term>();
  const electors = new Map<string, Elector>();
  const electedAt: { holder: string; at: number; token: number }[] = [];
  let leaderView: LeadResult | undefined;
  let leaderName: string | undefined;
  // A crashed worker says nothing more: its elector is stopped without a release, and its events are not shown.
  const crashed = new Set<string>();
  let crashedUntil = 0;
  let crashedName: string | undefined;

  for (let i = 1; i <= workers; i++) {
    const holder = `worker-${i}`;
    const elector = new Elector(store, { name, holder, ttlMs, maxClockSkewMs: skewMs, renewEveryMs: renewMs, retryEveryMs: pollMs });
    elector.on((e: ElectorEvent) => {
      if (crashed.has(holder)) return;
      const now = performance.now();
      if (e.type === 'elected') {
        say(`${holder} ELECTED   token ${e.lead.token}, may act for ${(e.lead.remainingMs() / 1000).toFixed(2)} s`);
        const term = { holder, token: e.lead.token, from: now, until: now + e.lead.remainingMs() };
        open.set(holder, term);
        terms.push(term);
        electedAt.push({ holder, at: now, token: e.lead.token });
        leaderView = e.lead;
        leaderName = holder;
      } else if (e.type === 'renewed') {
        const term = open.get(holder);
        if (term) term.until = now + e.lead.remainingMs();
        leaderView = e.lead;
      } else if (e.type === 'lost') {
        say(`${holder} lost      (${e.reason})`);
        const term = open.get(holder);
        if (term) term.until = Math.min(term.until, now);
        open.delete(holder);
        if (leaderName === holder) leaderName = undefined;
      } else if (e.type === 'error') {
        say(`${holder} error     ${(e.error as Error).message}`);
      }
    });
    electors.set(holder, elector);
    elector.start();
  }

  const status = setInterval(() => {
    if (leaderName && leaderView)
      say(`           leader ${leaderName}, token ${leaderView.token}, ${(leaderView.remainingMs() / 1000).toFixed(2)} s of validity left`);
    else if (crashedUntil > performance.now())
      say(`           no live leader: the crashed ${crashedName}'s lease runs out in ${((crashedUntil - performance.now()) / 1000).toFixed(2)} s`);
    else say('           no leader');
  }, 1_000);

  await sleep(ttlMs);
  const first = leaderName;
  if (!first) throw new Error('no leader emerged');

  // A crash: the leader stops renewing without releasing. Its lease must run out before anyone takes over.
  say(`CRASH ${first} (simulated: it stops renewing and never releases, so its lease must run out first)`);
  const killedAt = performance.now();
  crashed.add(first);
  // The validity it had when it crashed: nobody may lead before it runs out (the store adds the skew margin).
  crashedUntil = performance.now() + (leaderView?.remainingMs() ?? 0);
  crashedName = first;
  // Its lease stays valid until it runs out: the overlap check keeps that window whole.
  open.delete(first);
  leaderName = undefined;
  await electors.get(first)?.stop({ release: false });
  electors.delete(first);
  while (!leaderName && performance.now() - killedAt < 3 * ttlMs) await sleep(20);
  const failoverMs = performance.now() - killedAt;
  const second = leaderName;
  if (!second) throw new Error('no leader after the crash');
  say(`${second} took over ${(failoverMs / 1000).toFixed(2)} s after the crash`);

  await sleep(Math.max(renewMs * 2, 1_500));
  say(`RELEASE ${second} (graceful shutdown: hands over at once)`);
  const releasedAt = performance.now();
  await electors.get(second)?.stop();
  electors.delete(second);
  while (!leaderName && performance.now() - releasedAt < 3 * ttlMs) await sleep(10);
  const handoverMs = performance.now() - releasedAt;
  say(`${leaderName ?? 'nobody'} took over ${(handoverMs / 1000).toFixed(2)} s after the release`);

  await sleep(1_000);
  clearInterval(status);
  for (const elector of electors.values()) await elector.stop();
  await engine.close();

  // Checks on what was observed: terms never overlap, and the fencing token rose at every change of holder.
  const sorted = [...terms].sort((a, b) => a.from - b.from);
  const overlaps = sorted.filter((t, i) => i > 0 && t.from < (sorted[i - 1]?.until ?? 0)).length;
  const tokensRise = electedAt.every((e, i) => i === 0 || e.token > (electedAt[i - 1]?.token ?? 0));
  const failoverBound = ttlMs + skewMs + pollMs;
  const handoverBound = pollMs + 100;
  const rows = [
    ['failover after a crash', `${failoverMs.toFixed(0)} ms`, `≤ ${failoverBound} ms (ttl + skew + poll)`, failoverMs <= failoverBound],
    ['handover after a release', `${handoverMs.toFixed(0)} ms`, `≤ ${handoverBound} ms (poll + 100 ms)`, handoverMs <= handoverBound],
    ['overlapping leadership windows', String(overlaps), '0', overlaps === 0],
    ['fencing tokens', electedAt.map((e) => e.token).join(' → '), 'strictly rising', tokensRise],
  ] as const;
  process.stdout.write('\nsummary\n');
  for (const [what, measured, bound, ok] of rows) process.stdout.write(`  ${ok ? 'ok  ' : 'FAIL'} ${what.padEnd(32)} ${measured.padEnd(16)} ${bound}\n`);
  return rows.every((r) => r[3]) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`demo failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
