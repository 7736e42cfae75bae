/**
 * The bench's report: what each case adds to it (a section of measured rows, table rows, targets, notes), and the one
 * renderer that turns the whole into BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { AB_ROWS } from './ab.js';
import { type ABMeasured, type Measured, ratios } from './measure.js';
import { AB_ROUNDS, AB_WARMUP, elapsed, MAX_LOAD } from './settings.js';

/** A group table: cases interleaved in rounds, each against its floor. */
export interface Section {
  title: string;
  intro: string;
  rows: Measured[];
}

/** A ratio the run is judged on, with its target (the most it may be). */
export interface Target {
  what: string;
  ratio: number;
  target: number;
}

/** What one case adds to the report (each list in the order the case measured it). */
export interface ReportPart {
  /** Group tables (and the latency chart). */
  sections: Section[];
  /** Lines of the Notes section. */
  notes: string[];
  /** Group ratios with targets (the A/B rows' targets come from the rows themselves). */
  targets: Target[];
  /** Rows of the hot-loop table. */
  hotRows: string[];
  /** Rows of the contention table. */
  contentionRows: string[];
  /** Rows of the failover table. */
  failoverRows: string[];
  /** Rows of the bundle-size table. */
  bundleRows: string[];
  /** What an abort signal alone costs a raw DynamoDB request, in this run (for the notes). */
  abortSignalCost?: { r50: number; rcpu: number } | undefined;
}

/** Everything one run measured: the cases' parts, in the order they ran, and the A/B rows. */
export interface Report extends ReportPart {
  /** Each A/B row's measurement, by row id. */
  abResults: Map<string, ABMeasured>;
}

/** A part with nothing in it yet, for a case to fill. */
export function emptyPart(): ReportPart {
  return { sections: [], notes: [], targets: [], hotRows: [], contentionRows: [], failoverRows: [], bundleRows: [] };
}

/** A report with nothing in it yet. */
export function emptyReport(): Report {
  return { ...emptyPart(), abResults: new Map() };
}

/** Adds a case's part to the report, after what the cases before it added. */
export function addPart(report: Report, part: ReportPart): void {
  report.sections.push(...part.sections);
  report.notes.push(...part.notes);
  report.targets.push(...part.targets);
  report.hotRows.push(...part.hotRows);
  report.contentionRows.push(...part.contentionRows);
  report.failoverRows.push(...part.failoverRows);
  report.bundleRows.push(...part.bundleRows);
  if (part.abortSignalCost !== undefined) report.abortSignalCost = part.abortSignalCost;
}

/** What the report says about the run beyond its measurements. */
export interface RunFacts {
  /** The 1-minute load average when measuring began. */
  loadBefore: string;
  /** The PostgreSQL server's version. */
  pgVersion: string;
  /** PgBouncer's version, when it ran. */
  bouncerVersion?: string | undefined;
}

/** A group table: each case's ratios to its floor. */
function table(rows: Measured[]): string {
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
  return [
    '| case | vs | p50 ÷ floor p50 | p99 ÷ floor p99 | requests / call | CPU / call ÷ floor | library CPU ÷ floor CPU |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...ratios(rows).map(
      (r) =>
        `| ${r.label} | ${r.floor === r.label ? '(floor)' : r.floor.replace(/^floor: /, '')} | ${fmt(r.r50)} | ${fmt(r.r99)} | ${r.requests.toFixed(2)} | ${fmt(r.rcpu)} | ${r.floor === r.label ? '' : fmt(r.libCpu)} |`,
    ),
  ].join('\n');
}

/** BENCHMARKS.md for a whole run. */
export function renderReport(report: Report, facts: RunFacts): string {
  const { sections, notes, targets, hotRows, contentionRows, failoverRows, bundleRows, abResults, abortSignalCost } = report;
  const { loadBefore, pgVersion } = facts;
  const pkg = (name: string) => {
    try {
      return `${name} ${(JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version}`;
    } catch {
      return name;
    }
  };
  const versions = ['pg', '@aws-sdk/client-dynamodb', 'aws-sdk', 'dynamodb-lock-client', '@deliveryhero/dynamodb-lock', 'advisory-lock', 'esbuild']
    .map(pkg)
    .join(', ');
  const loadAfter = loadavg()[0]?.toFixed(2) ?? '?';
  const abTargets = AB_ROWS.filter((r) => r.target !== undefined).map((r) => ({
    what: `A/B ${r.id}: ${r.what} ÷ ${r.vs} (p50)`,
    ratio: abResults.get(r.id)?.r50 ?? Number.NaN,
    target: r.target as number,
  }));
  const all = [...abTargets, ...targets];
  const verdict = all.map((t) => `| ${t.what} | ${t.ratio.toFixed(2)} | ≤ ${t.target} | ${t.ratio <= t.target ? 'met' : '**missed**'} |`);
  const missed = all.filter((t) => !(t.ratio <= t.target));
  const missedLine = missed.length
    ? `Missed in this run: ${missed.map((t) => `${t.what} at ${t.ratio.toFixed(2)} (target ${t.target})`).join('; ')}. Why, and what is left, below.`
    : 'Every target was met in this run.';
  const loadNote =
    Number(loadBefore) > Number(MAX_LOAD)
      ? ` This run waited for a load average below ${MAX_LOAD} and did not get one (${loadBefore}): the Postgres A/B rows, whose round trips take tens of µs, moved by about ±0.1 between runs on this shared 2-core machine under such load; rerun one with \`npm run bench -- --ab <row>\` on a quiet machine.`
      : '';
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
  const abTable = [
    '| row | A | B (floor) | p50 A ÷ p50 B | p99 A ÷ p99 B | median of paired rounds A ÷ B | requests / call A, B | target |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...AB_ROWS.map((r) => {
      const m = abResults.get(r.id);
      if (!m) return `| \`${r.id}\` | ${r.what} | ${r.vs} | – | – | – | – | ${r.target ?? ''} |`;
      const t = r.target === undefined ? '' : `≤ ${r.target}${m.r50 <= r.target ? '' : ' **missed**'}`;
      return `| \`${r.id}\` | ${r.what} | ${r.vs} | ${m.r50.toFixed(3)} | ${fmt(m.r99)} | ${m.paired.toFixed(3)} | ${m.a.requests.toFixed(2)}, ${m.b.requests.toFixed(2)} | ${t} |`;
    }),
  ].join('\n');
  const md = `# Benchmarks

Generated by \`npm run bench\` (this file and [bench/latency.svg](bench/latency.svg); \`BENCH_ROUNDS=2\` doubles the samples).
Every figure is a **ratio** to a floor measured in the same run. The targets are judged on **A/B rows**: leasehold and
its floor alone, alternating (A B, then B A, …), ${AB_WARMUP} warm-up rounds then ${AB_ROWS.length ? AB_ROUNDS : 0} measured, one connection (one client);
\`npm run bench -- --ab <row>\` reruns one row. The **group tables** below interleave many cases per round (rotating
order, medians after warm-up rounds), which puts every statement's cache traffic on every case and pulls ratios
toward 1: read them for the comparison between cases, and the A/B rows for what leasehold costs over its floor.
All traffic is on loopback. Absolute times depend on the machine and are not given.

Last run: ${new Date().toISOString().slice(0, 10)}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version};
1-minute load average ${loadBefore} at the start, ${loadAfter} at the end (the machine is shared);
PostgreSQL ${pgVersion} (throwaway cluster, fsync off)${facts.bouncerVersion ? `, ${facts.bouncerVersion}` : ''}; DynamoDB Local (amplify-dynamodb-simulator 2.9.30); ${versions}.
Took ${elapsed()}.

## Targets

| what | ratio | target | |
| --- | ---: | ---: | --- |
${verdict.join('\n')}

## A/B rows: leasehold against one floor

Postgres: one \`pg.Pool\` of one connection for both sides. The floor is the upsert one writes by hand for a lease,
prepared (named): \`INSERT … ON CONFLICT (name) DO UPDATE SET … WHERE holder = me OR expired RETURNING *\`, on a
table of the same shape; *refused* is the same upsert by another holder while the lease is live (no row back).
DynamoDB: one client for both sides. The floor is the least a conditional lease write can be: \`UpdateItem\` setting
holder and expiry, \`attribute_not_exists(holder) OR holder = me OR expired\`, with
\`ReturnValuesOnConditionCheckFailure: ALL_OLD\`; *refused* fails its condition. dynamodb-lock-client runs on its own
(v2) SDK, as its users run it. Rerun one row with \`npm run bench -- --ab <row>\` (\`BENCH_AB_ROUNDS\`,
\`BENCH_AB_WARMUP\` for quick checks).

The targets are judged as an outside harness measures: ${AB_WARMUP} warm-up rounds per row in a fresh process. A
Postgres renewal is short (tens of µs of client work), and V8 optimizes \`tryLead\` only after about a thousand
calls: the \`pg-renew-steady\` row measures the same pair after ${(3000).toLocaleString('en-US').replace(',', ' ')} warm-up rounds, the steady state of a long-lived
process (an Elector renews for hours); a Lambda or a cron run, which calls \`tryLead\` a few times, pays the
cold cost either way.

${abTable}

### How the targets are met, and what is left

${missedLine}${loadNote}

- **The library's own work** is measured alone in *The library alone* below, and as *library CPU* beside each case.
  What brought it down (each measured in this file's history): the call bound's abort signal is made only when a
  store reads it (\`pg\` does not), so a Postgres call costs no \`AbortController\`, listener or abort event; a
  result, and the options handed to a store, are class instances rather than object literals with a getter (V8
  builds those an order of magnitude more slowly); the default write version (\`crypto.randomUUID\`) is not
  re-checked; the per-process maps (versions seen, results that may lead) are updated in place. And the bench
  measures the built package (\`dist/\`), as users import it, not the sources through \`tsx\`.
- **Postgres.** A holder the store saw win renews with a plain conditional \`UPDATE … WHERE name AND holder AND
  version\` of exactly the state it won: no speculative insertion (the upsert's index probe and conflict path), and
  an answer of two numbers (token, server clock) instead of the lease as JSON, since the store knows the rest. A
  claim on a name the store saw refused by a live lease calls the claim function (named on node-postgres), which
  answers a refusal with one read whose plan is cached per connection, before any attempt: the inline statement
  always sets up its insert, even to refuse (other claims keep it: its one upsert is the cheaper way to win).
  With \`prepare: false\` the server parses and plans \`SELECT claim_fn(…)\` on every call (the floor is
  prepared) and runs PL/pgSQL; the warm renewal inside it is the same conditional \`UPDATE\` with the same short
  answer. Named statements avoid the parsing: the default on node-postgres, and PgBouncer 1.21+ keeps them in
  transaction mode (\`max_prepared_statements\`). Measured and dropped: eight result columns instead of one text
  column (per-column parsing in \`pg\`), \`SET search_path\` on the functions (a per-call settings swap), argument
  casts on the function call.
- **DynamoDB.** A request carrying an abort signal costs the SDK something on its own (the *with an abort signal*
  reference row: ×${abortSignalCost?.r50.toFixed(2)} of the floor's p50 and ×${abortSignalCost?.rcpu.toFixed(2)} of its CPU in this run; the SDK's retry
  step and HTTP handler each listen on it): leasehold passes one so that a request past the call's bound stops (tested: a silent
  endpoint's connections are closed at the bound). On the system clock that signal is the one real-time bound of the
  request (no second controller and timer per request). A contender whose store last saw another holder's live
  lease polls with one consistent \`GetItem\` (a read unit; a refused \`UpdateItem\` costs a write unit and the
  SDK's exception path), and claims when the read shows the lease claimable. A renewal, a release pinned to a state
  the store saw, and a claim over its own release (a compare-and-swap on that version) ask for nothing back
  (\`ReturnValues: NONE\`): the state after them is known. Medians on DynamoDB Local move by a few percent between
  runs on a 2-core machine.

${sections.map((s) => `## ${s.title}\n\n${s.intro}\n\n${table(s.rows)}\n`).join('\n')}
*library CPU ÷ floor CPU*: the process CPU a call takes beyond its floor's (the driver's own work), as a fraction of the floor's.

![latency distributions](bench/latency.svg)

## Hot loop: answers from memory for a warm holder

1 000 consecutive \`tryLead()\` calls by the holder on the real clock (ttl 15 s, skew 1 s), with \`renewBelow: 0.5\` and
without; time per call ÷ the floor's p50 above.

| store | requests per 1 000 calls, renewBelow 0.5 | time per call ÷ floor | requests per 1 000 calls, every call writes | time per call ÷ floor |
| --- | ---: | ---: | ---: | ---: |
${hotRows.join('\n')}

Writes per hour of leadership for a holder that calls without pause: with \`renewBelow: r\` it renews every
\`(1 − r) × (ttlMs − maxClockSkewMs)\`; an \`Elector\` renews every \`ttlMs / 3\`.

| ttl / skew | renewBelow 0.5 | Elector (ttl / 3) | a call every 100 ms, every call writes |
| --- | ---: | ---: | ---: |
${[
  [15_000, 1_000],
  [60_000, 1_000],
]
  .map(([ttl, skew]) => {
    const warm = Math.round(3_600_000 / (0.5 * ((ttl as number) - (skew as number))));
    const elector = Math.round(3_600_000 / ((ttl as number) / 3));
    return `| ${(ttl as number) / 1000} s / ${(skew as number) / 1000} s | ${warm} | ${elector} | 36 000 |`;
  })
  .join('\n')}

At list prices (DynamoDB on-demand: $0.625 per million write request units in us-east-1 since November 2024;
Firestore: $0.18 per 100 000 document writes; check your region's), one holder calling every 100 ms for a month
(730 h) writes 26.3 million times without \`renewBelow\`: about $16.4 on DynamoDB and $47.3 on Firestore; with
\`renewBelow: 0.5\` on a 15 s lease, 375 000 writes: about $0.23 and $0.68.

## Contention

Workers call \`tryLead()\` in a loop for a fixed time (each worker a contender with its own holder id); the floor is the
raw conditional write with the same concurrency and names, the two alternating in four slices each. *Leader* is the
share of calls that came back leader.

| store | case | claims/s ÷ floor writes/s | requests / claim | requests/s ÷ floor | leader |
| --- | --- | ---: | ---: | ---: | ---: |
${contentionRows.join('\n')}

## Failover

Two \`Elector\`s on the real clock (ttl 900 ms, skew 100 ms, poll 100 ms); the leader either stops without a word (a
crash) or stops with a release. The time until the other is elected, ÷ its bound (DESIGN.md: *ttl + skew + poll* after a
crash — skew counts on DynamoDB only, which judges expiry by client clocks — and *the next poll* after a release).

| store | how | bound | median ÷ bound | worst ÷ bound |
| --- | --- | --- | ---: | ---: |
${failoverRows.join('\n')}

## Worker bundle size (gzip)

esbuild, minified ESM with Worker conditions, gzip -9: leasehold's core plus one store, then with that store's SDK.

| store | leasehold | with its SDK |
| --- | ---: | ---: |
${bundleRows.join('\n')}
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
  return md;
}
