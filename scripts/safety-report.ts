/**
 * `npm run safety`: runs the fault, driver-fault, load and bad-input tests on the real engines, then
 * regenerates SAFETY.md: the safety argument, its assumptions, and what the tests covered, with figures.
 * Every figure and every configuration value in the text comes from this run's recorded figures or from the
 * configuration objects the tests use, not from prose kept by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FAULT_KINDS,
  type FaultKind,
  FIRESTORE_CONFIG,
  FIRESTORE_GENERIC_CONFIG,
  GENERIC_CONFIG,
  HTTP_HANDLER_CONFIG,
  LIVENESS_BOUND,
  livenessBoundMs,
  SIMULATION_DEFAULTS,
  type SimulationConfig,
  type SimulationReport,
  UNBOUNDED_MARGIN_MS,
  type ViolationKind,
} from '../test/support/fault-simulation.js';
import { DOORS, JOB_SIMULATION_DEFAULTS, type JobSimulationReport } from '../test/support/job-simulation.js';
import type { LoadFigures } from '../test/support/safety-figures.js';
import { type SupervisionFigures, supervisionSection } from '../test/support/supervision-figures.js';

const files = [
  'test/system/faults.test.ts',
  'test/system/job-faults.test.ts',
  'test/stores/pg-faults.test.ts',
  'test/stores/dynamodb.test.ts',
  'test/stores/redis.test.ts',
  'test/system/paths-agree.test.ts',
  'test/system/load.test.ts',
  'test/system/bad-input.test.ts',
  'test/cli/cli-supervision.test.ts',
];
rmSync('.tmp/safety', { recursive: true, force: true });
process.stdout.write(`running ${files.join(', ')} on the real engines…\n`);
const started = Date.now();
const run = spawnSync('npx', ['vitest', 'run', ...files, '--reporter=default', '--reporter=json', '--outputFile.json=.tmp/safety-vitest.json'], {
  stdio: 'inherit',
  env: { ...process.env, NODE_NO_WARNINGS: '1' },
});
if (run.status !== 0) {
  process.stderr.write('safety tests failed: SAFETY.md not regenerated\n');
  process.exit(1);
}
const wallS = Math.round((Date.now() - started) / 1000);

type Config = Omit<SimulationConfig, 'seed'>;
type Figures<T> = { engine: string; kind: string; figures: T };
type Report = Omit<SimulationReport, 'plans'>;
const read = <T>(kind: string): Figures<T>[] =>
  existsSync('.tmp/safety')
    ? readdirSync('.tmp/safety')
        .filter((f) => f.startsWith(`${kind}-`))
        .sort()
        .map((f) => JSON.parse(readFileSync(join('.tmp/safety', f), 'utf8')) as Figures<T>)
    : [];
const vitest = JSON.parse(readFileSync('.tmp/safety-vitest.json', 'utf8')) as {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { name: string; assertionResults: { status: string; title: string; ancestorTitles: string[] }[] }[];
};
const perFile = vitest.testResults.map((r) => {
  const file = r.name.slice(r.name.indexOf('test/'));
  const passed = r.assertionResults.filter((a) => a.status === 'passed').length;
  return `| \`${file}\` | ${passed} | ${r.assertionResults.length - passed} |`;
});
const casesIn = (file: string, suite?: RegExp) =>
  vitest.testResults
    .filter((r) => r.name.endsWith(file))
    .flatMap((r) => r.assertionResults)
    .filter((a) => a.status === 'passed' && (suite === undefined || a.ancestorTitles.some((t) => suite.test(t)))).length;

const pct = (p: number) => `${Math.round(p * 100)} %`;
const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

/** The job layer's simulation (test/system/job-faults.test.ts): one row per engine, from its recorded reports. */
function jobSection(): string {
  const runs = read<{ config: typeof JOB_SIMULATION_DEFAULTS; reports: JobSimulationReport[] }>('job-simulation');
  if (runs.length === 0) return '';
  const c = JOB_SIMULATION_DEFAULTS;
  const rows = runs.map(({ engine, figures: { reports } }) => {
    const n = (f: (r: JobSimulationReport) => number) => sum(reports, f);
    const doors = DOORS.map((d) => n((r) => r.releasesElsewhere[d] ?? 0));
    return `| ${engine} | ${reports.length} | ${n((r) => r.terms)} | ${n((r) => r.actsByLayer.job)} / ${n((r) => r.actsByLayer.elector)} / ${n((r) => r.actsByLayer.tryLead)} | ${n((r) => r.blocksByLayer.job)} / ${n((r) => r.blocksByLayer.elector)} / ${n((r) => r.blocksByLayer.tryLead)} | ${n((r) => r.abortedAfterBlock)} of ${n((r) => r.blocksPastValidity)} | ${doors.join(' / ')} | ${n((r) => r.stoppedAfterRelease)} of ${n((r) => r.checksAfterRelease)} | ${n((r) => r.storeErrors)} | ${n((r) => r.violations.length)} |`;
  });
  const all = runs.flatMap((r) => r.figures.reports);
  return `### The job layer under faults (\`test/system/job-faults.test.ts\`, \`test/support/job-simulation.ts\`)

Per engine and seed, ${c.perLayer} \`runExclusive\` jobs, ${c.perLayer} \`Elector\`s (acting from their \`elected\` handler) and
${c.perLayer} \`tryLead\` callers contend for one lease (ttl ${c.ttlMs} ms, skew ${c.maxClockSkewMs} ms) for ${c.durationMs} ms, each through its
own door (the store, a second instance on the same client and table, \`withLogger\`, \`instrument\` or \`withFaults\`)
over the same fault layer as above (lost answers, refused and throttled writes, latency, failing and slow reads, held
writes, silent requests; rarer than in the \`tryLead\` runs). Before each act an owner may block the event loop
synchronously for one to 1.25 leases (a CPU-heavy step, a sync parse, a long GC: ${pct(c.pBlock)} of acts, at most
${c.maxBlocksPerLayer} per layer and seed, since every block stalls the whole process), then reads its signal
(\`signal.aborted\`, as the README tells a job to) and acts only if it reads "go". After an act it may release its
lease through another door (${pct(c.pReleaseElsewhere)} of acts, taking the other doors in turn). Checked: no act whose
signal read "go" after the validity the library reported had ended (\`act-after-validity\`), no act in a term its
holder had released through any door (\`act-after-release\`), and no two holders entitled to act at one instant
(\`overlap\`). Every layer must have blocked past its validity, and every door must have released, over a set of
seeds (up to three sets run until they have).

| engine | seeds | terms | acts: job / elector / tryLead | blocks > lease: job / elector / tryLead | signal read aborted right after a block past validity | releases elsewhere: ${DOORS.join(' / ')} | checks after such a release that read "stop" | store errors | violations |
| --- | ---: | ---: | --- | --- | --- | --- | --- | ---: | ---: |
${rows.join('\n')}

In all, ${all.length} seeded runs, ${sum(all, (r) => r.blocks)} blocks longer than the lease, ${sum(all, (r) => Object.values(r.releasesElsewhere).reduce((a, b) => a + (b ?? 0), 0))} releases through another door, ${sum(all, (r) => r.violations.length)} violations.

`;
}

/** The configuration, in words, from the object the tests pass to the simulation. */
function describeConfig(c: Config): string {
  return (
    `${c.contenders} contenders, ttl ${c.ttlMs} ms, skew bound ${c.maxClockSkewMs} ms, poll ${c.pollMs} ms, ${c.faultPhaseMs / 1000} s of faults; ` +
    `per write: lost answer ${pct(c.pLoseAnswer)}, failed before it applied ${pct(c.pFailBefore)}, throttled ${pct(c.pThrottle)}, latency spike ${pct(c.pLatencySpike)}; ` +
    `per read: error ${pct(c.pReadError)}, slow ${pct(c.pReadLatency)}; per write: held by the network and delivered after one to two leases ${pct(c.pHold)}; ` +
    `per request: never answered ${pct(c.pSilent)}; per act of a leader: pause longer than the lease ${pct(c.pPause)}; ` +
    `per loop of a contender: crash ${pct(c.pCrash)}; ${c.renewBelow === undefined ? 'every call writes' : `even-numbered contenders answered from memory while more than ${pct(c.renewBelow)} of their validity is left (renewBelow)`}; liveness bound ${livenessBoundMs(c)} ms plus what the run measured`
  );
}

// Seeded simulations.
type SimFigures = { path: string; layer: string; config: Config; reports: Report[] };
const sims = read<SimFigures>('simulation');
const faults = (rs: Report[], k: FaultKind) => sum(rs, (r) => r.faults[k]);
const simRows = sims.map(({ engine, figures: { path, layer, config: c, reports: rs } }) => {
  const slowest = rs.filter((r) => r.livenessMs !== null).sort((a, b) => (b.livenessMs ?? 0) - (a.livenessMs ?? 0))[0];
  return [
    engine,
    path,
    layer,
    rs.map((r) => r.seed).join(', '),
    `${c.ttlMs} / ${c.maxClockSkewMs} / ${c.pollMs}`,
    sum(rs, (r) => r.calls),
    `${sum(rs, (r) => r.leaderships)} (${sum(rs, (r) => r.staleLeaderships)}; ${sum(rs, (r) => r.warmAnswers ?? 0)} from memory)`,
    sum(rs, (r) => r.changesOfHolder),
    `${sum(rs, (r) => r.renewals)} / ${sum(rs, (r) => r.newTermsOfSameHolder)}`,
    sum(rs, (r) => r.acts),
    `${faults(rs, 'loseAnswer')} / ${faults(rs, 'failBefore')} / ${faults(rs, 'throttle')} / ${faults(rs, 'latencySpike')}`,
    `${faults(rs, 'readError')} / ${faults(rs, 'readLatency')} / ${faults(rs, 'readBackFailed')}`,
    `${faults(rs, 'heldWrite')} / ${faults(rs, 'heldWriteDelivered')}`,
    faults(rs, 'silent'),
    `${Math.max(...rs.map((r) => r.longestCallMs ?? 0)).toFixed(0)} (${Math.min(c.ttlMs - c.maxClockSkewMs, c.ttlMs)} / ${c.ttlMs})`,
    `${faults(rs, 'pause')} / ${faults(rs, 'crash')}`,
    slowest ? `${(slowest.livenessMs ?? 0).toFixed(0)} (${(slowest.livenessBoundMs ?? livenessBoundMs(c)).toFixed(0)})` : '–',
    sum(rs, (r) => r.violations.length),
  ];
});
const allSims = sims.flatMap((s) => s.figures.reports);
const seedsRun = [...new Set(allSims.map((r) => r.seed))].sort((a, b) => a - b);
const totalFaults = sum(FAULT_KINDS as FaultKind[], (k) => faults(allSims, k));

// Deliberately broken stores.
const brokenClauses: Record<string, { engine: string; breaks: string; caughtBy: ViolationKind }> = {
  'broken-early-takeover': {
    engine: 'memory, generic path',
    breaks: 'reports every lease as ending 200 ms early, so contenders take over live leases',
    caughtBy: 'overlap',
  },
  'broken-token': {
    engine: 'PostgreSQL, generic path',
    breaks: 'writes the token it read on every compare-and-swap, so a takeover keeps the old token',
    caughtBy: 'token',
  },
  'broken-late-renewal': {
    engine: 'memory (client clock), generic path',
    breaks:
      'pins a renewal to the holder, not the version: a held renewal delivered late moves a newer lease’s expiry back (DynamoDB’s renewal before the fix)',
    caughtBy: 'overlap',
  },
  'broken-never-expires': {
    engine: 'memory, generic path',
    breaks: 'reports every held lease as live forever, so a holder back from a pause renews a lapsed lease',
    caughtBy: 'term',
  },
};
type CaughtFigures = { store: string; counts: Partial<Record<ViolationKind, number>>; reports: { seed: number }[] };
const brokenRows = read<CaughtFigures>('caught').map(({ engine, figures: f }) => {
  const clause = brokenClauses[engine];
  const counts = Object.entries(f.counts)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  return `| ${engine} | ${clause?.engine ?? '?'} | ${clause?.breaks ?? '?'} | \`${clause?.caughtBy ?? '?'}\` (${f.counts[clause?.caughtBy ?? 'overlap'] ?? 0}) | ${counts} | ${f.reports.map((r) => r.seed).join(', ')} |`;
});

// Real-driver faults.
const drivers = read<{ injected: Record<string, number>; dropped?: { forwarded: number; of: number }[]; connections?: number; seeds?: number[] }>(
  'driver-faults',
).map(({ engine, figures: f }) => {
  const injected = Object.entries(f.injected)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const extra = f.dropped?.length
    ? `; each cut forwarded ${Math.min(...f.dropped.map((d) => d.forwarded))}–${Math.max(...f.dropped.map((d) => d.forwarded))} bytes of a ${Math.min(...f.dropped.map((d) => d.of))}–${Math.max(...f.dropped.map((d) => d.of))}-byte statement first; ${f.connections} connections`
    : f.seeds
      ? `; seeds ${f.seeds.join(', ')}`
      : '';
  return `| ${engine} | ${injected}${extra} |`;
});

// Load.
const load0 = read<LoadFigures>('load')[0]?.figures;
const loads = read<LoadFigures>('load').map(
  ({ engine, figures: f }) =>
    `| ${engine} | ${f.names} + 1 | ${f.contenders} | ${f.rounds} | ${f.writes} | ${f.reads} | ${f.roundMs.join(' / ')} | ${f.verifyMs} | ${f.totalMs} | ${f.boundMs} | ${f.mismatches} |`,
);

const d = SIMULATION_DEFAULTS;
const md = `# Safety

What leasehold promises, why it holds, what it assumes, and what the tests showed. The figures below are
regenerated by \`npm run safety\` (last run ${new Date().toISOString().slice(0, 10)}, ${wallS} s); the contract itself is in the README ("Safety, in plain words").

## The argument, in plain words

1. **Validity is counted from before the request left.** A caller samples its monotonic and wall clocks
   before it sends anything, and may act until \`start + ttlMs - maxClockSkewMs\`, on whichever clock runs
   out first. The store stamps the lease's expiry *after* the request arrives: with the database's clock
   (Postgres \`statement_timestamp()\`, Firestore's commit time) that expiry is at least \`start + ttlMs\` in real time; with callers'
   clocks (DynamoDB) it is \`start + ttlMs\` on the holder's clock, and a contender waits until its own clock
   passes \`expiresAt + maxClockSkewMs\`. Either way nobody else can take the lease before the holder's
   validity ended. A slow answer only shortens the holder's window; it never lengthens it.
2. **One conditional write decides.** Create-if-absent, and compare-and-swap on a version unique to each
   write (or the fused single statement that expresses the same rule), are linearizable on one primary, so
   of any set of contenders at most one write wins a given state of the record.
3. **Tokens only rise.** A takeover writes \`token + 1\` conditioned on the version it read; a renewal (the
   holder's own lease, still live) keeps the token; a holder whose own lease lapsed starts a new term with
   \`token + 1\`; a release keeps the record and its token. DynamoDB's new records start at the claim's epoch
   milliseconds, so even a record deleted by a TTL comes back larger.
4. **Lost answers are resolved by reading back.** Each attempt writes its own version; after a timeout or a
   dropped connection the caller reads the record: its version there means it won, anything else means it
   did not. If the read fails too, it throws: not leader (and its next call renews the lease it may have won).
5. **Late writes are harmless.** A request may reach the database after its caller gave up on it. Where the
   database stamps expiry with its own clock when the write executes (Postgres \`statement_timestamp()\`, Firestore's
   commit time, a Durable Object's and \`MemoryStore\`'s clock), a late renewal can only lengthen a lease: it
   never moves an expiry backwards, and the caller that gave up never counted on it. DynamoDB stamps expiry from
   the caller's clock at the send, so there a renewal is pinned to the exact state it extends (\`version\`) and
   may only lengthen the lease (\`expiresAt <=\` its new expiry), and a takeover's condition (expired before
   the send) cannot meet a term begun after it. Every store pins a release to the state its holder last saw,
   so a release delivered after a renewal changes nothing. The simulation below holds writes for one to two
   leases and delivers them late; with DynamoDB's old, unpinned renewal condition it reports overlaps, with
   the pinned one none.
6. **Fail closed, and every call settles.** Any store error leaves the caller not leader; the Elector stops
   leading no later than its validity runs out when renewals fail. Every call is bounded: a claim by its
   validity window or the store's \`timeoutMs\`, whichever is shorter (read-back included), a release or a
   read by \`timeoutMs\`; past it the call fails closed, even against an endpoint that never answers.

## Assumptions

- **Clocks run at the same rate** over one lease (drift is milliseconds per hour on NTP-disciplined hosts).
- **DynamoDB only:** callers' wall clocks agree within \`maxClockSkewMs\` (default 1 s). Lambda and EC2 sync
  to the Amazon Time Sync Service, typically within a millisecond.
- **One linearizable home** for the lease table: no DynamoDB global table with multi-region eventual
  consistency, no writable Postgres replica ([README, safety: One linearizable home](README.md#safety-one-home)).
- **Leases outlast pauses only through the fencing token.** A process paused after it checked
  \`stillLeader()\` can still finish a write it already started; pass \`lead.token\` to the systems you write
  to and have them refuse older tokens.

## What the tests covered

### Seeded fault simulations (\`test/system/faults.test.ts\`, \`test/support/fault-simulation.ts\`)

Contenders on one lease call \`tryLead()\` in real time on clocks skewed within the bound, through a fault
layer, then a calm phase checks liveness. The schedules, from the configuration objects in
\`test/support/fault-simulation.ts\`:

- default (\`SIMULATION_DEFAULTS\`): ${describeConfig(d)};
- generic path (\`GENERIC_CONFIG\`; read, then create or compare-and-swap): followers only read, so write
  faults are likelier: ${describeConfig(GENERIC_CONFIG)};
- faults in the DynamoDB SDK's HTTP handler (\`HTTP_HANDLER_CONFIG\`; a client per contender, the SDK's own
  retries running, fused and generic contenders on one lease): the lease is longer so that the SDK's
  throttling backoff (from 500 ms) can finish: ${describeConfig(HTTP_HANDLER_CONFIG)};
- Firestore, both stores on Google's emulator (\`FIRESTORE_CONFIG\`, \`FIRESTORE_GENERIC_CONFIG\` for the generic
  path's fault mix): the stores refuse leases under 3 s, so the schedule is scaled to a 3 s lease, with pauses and
  crashes likelier so that holders change within the fault phase: ${describeConfig(FIRESTORE_CONFIG)}; on the
  generic path: ${describeConfig(FIRESTORE_GENERIC_CONFIG)}.

Checked on every run: no overlapping validity windows of different holders (\`overlap\`); the token rising at
every change of holder (\`token\`); a holder whose own lease had surely lapsed, or that released it, starting
a new term with a larger token, and a holder whose lease was surely still live renewing it with the same token
(\`term\`; between the two, either is right); no act after validity, and no validity beyond the test's own
bound from the first request's send (\`act-after-validity\`, \`validity\`); and a leader with a usable window
emerging after faults stop within ${LIVENESS_BOUND} (\`liveness\`); and no call pending past its bound, the
validity window for a claim and the store timeout (here one lease) for a release, plus as much again (at least ${UNBOUNDED_MARGIN_MS} ms) and the event loop's stalls measured during the call
for timer lateness on a loaded machine (a call bounded only by a longer timeout is still caught; one that hangs fails the run) (\`unbounded\`). Held writes are delivered with the arguments they were sent with, after one to two
leases or when faults stop, whichever comes first. A leadership whose answer arrived after
its validity ran out (counted in brackets) carries no authority and is not checked for overlap. Faults are
re-checked when each would start, and injected delays end when the fault phase ends, so the calm phase is
free of faults. Every engine's runs must inject every kind of fault at least once (and, where every call
writes, a read-back failing after a failed write), and must check renewals and changes of holder.

| engine | path | faults in | seeds | ttl / skew / poll (ms) | calls | leaderships (stale; from memory) | changes of holder | renewals / new terms of a holder | acts checked | writes: lost answer / failed before / throttled / latency spike | reads: error / slow / read-back failed | writes held / delivered late | requests never answered | longest call, ms (bound: claim / release) | pauses > ttl / crashes | slowest leader after faults stopped (bound), ms | violations |
| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | --- | --- | ---: | ---: |
${simRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

In all, ${allSims.length} seeded runs injected ${totalFaults} faults with ${sum(allSims, (r) => r.violations.length)} violations.

**Replaying a seed.** Every run prints its seeds. \`FAULT_SEED=<n> npx vitest run test/system/faults.test.ts -t '<test>'\`
runs one seed; \`FAULT_BASE_SEED=<n> FAULT_RUNS=<k>\` runs seeds n … n+k-1 (by default four, from the time, the same
for every engine in one run: this run's were ${seedsRun.join(', ')}). Each contender draws from its own generators,
derived from (seed, contender, purpose), with a fixed number of draws per request, per loop and per act: the
n-th request of contender i meets the same faults, and its n-th act the same pause, whatever the others do
(a test runs one seed three times and compares the schedules request by request). What a seed does not fix
is the interleaving: contenders run in real time against real engines, so how their requests interleave, and
so how many each makes and who wins which race, varies from run to run. A replayed seed repeats its fault
schedule, not its history; rerun it a few times.

### Deliberately broken stores (the checker must catch each by its own check)

| store | engine | what it breaks | must be caught by (violations) | all violations | seeds |
| --- | --- | --- | --- | --- | --- |
${brokenRows.join('\n')}

${jobSection()}### Real-driver faults

- PostgreSQL through a loopback TCP proxy (\`test/stores/pg-faults.test.ts\`, \`test/support/tcp-proxy.ts\`): answers lost
  after the server executed the statement, and statements cut mid-flight after part of their bytes reached
  the server, on claim, renewal, refused claim, takeover, the read-back after a lost answer, and release; on
  the fused path with and without prepared statements, and on the generic path's read, create and
  compare-and-swap. The proxy finds the end of each answer (ReadyForQuery) by following message lengths
  across chunks, and never faults a connection's handshake.
- DynamoDB Local through a fault-injecting HTTP handler in the SDK: the seeded simulation above
  (\`dynamodb-http-handler\`), and \`test/stores/dynamodb.test.ts\`: lost answers after the write applied, the SDK's
  retry meeting its own earlier success as a failed condition, throttling within and past the retry budget, a
  renewal \`UpdateItem\` held by the network and delivered after its holder's new term (refused: the stored
  item is unchanged, and no contender can take over before the holder's validity ends), and a release held
  the same way and delivered after a renewal (refused).
- Silent endpoints: a loopback server that accepts connections and never answers, in front of \`pg\` (no
  \`connectionTimeoutMillis\`) and of the DynamoDB client (\`test/stores/pg-faults.test.ts\`, \`test/stores/dynamodb.test.ts\`):
  \`tryLead()\` fails closed at its bound (the store's \`timeoutMs\`, or the validity window when shorter),
  \`release()\` and \`getLeader()\` at \`timeoutMs\`, each measured within a few ms of it. Every store's
  conformance suite adds a silent store on an injected clock (nothing settles before its bound, everything
  at it), a renewal held and delivered after a new term, and a release held and delivered after a renewal.

| driver | faults injected |
| --- | --- |
${drivers.join('\n')}

### Load (\`test/system/load.test.ts\`)

${
  load0
    ? `${load0.names} names and one hot name contended by ${load0.contenders} callers, side by side, over ${load0.rounds} rounds:
claim everything; renew ${load0.renewed} names and release ${load0.released}; claim the released names and take over
${load0.expired} expired ones (the hot name's holder releases and everyone contends again).`
    : ''
} Afterwards every lease is read
back through \`getLeader()\` and must show the holder and token its history implies (same token and a later
expiry after a renewal, token + 1 after a release or an expiry), within the wall-time bound.

| engine | names | contenders on the hot name | rounds | write calls | reads | rounds (ms) | verify (ms) | total (ms) | bound (ms) | leases lost or inconsistent |
| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |
${loads.join('\n')}

${supervisionSection(read<SupervisionFigures>('supervision').map((f) => f.figures))}### Bad input (\`test/system/bad-input.test.ts\`, ${casesIn('bad-input.test.ts')} cases)

Names with whitespace, control characters, NUL, right-to-left overrides, non-ASCII, 10 000 characters and SQL
metacharacters (\`'\`, \`;\`, \`--\`, \`/* */\`); bad holders; data with NUL, lone or reversed surrogates, or over
16 384 characters; ttl and skew extremes (0, negative, NaN, ±Infinity, too large, strings, bigint); options of
the wrong shape; table and schema names carrying SQL: every one gets a typed error code, no statement reaches
the database, and the table is unchanged afterwards. Valid input full of SQL metacharacters (holders such as
\`a';--"x\` and a whole \`DROP TABLE\` statement, names with \`--\`) and unusual Unicode in \`data\` (quotes,
backslashes, emoji, combining marks, separators, the empty string, the longest allowed) round-trips exactly
through PostgreSQL on both paths, and both tables are intact afterwards. The demo's bad CLI flags exit 2 with
a message before connecting: a counting proxy in front of a real database sees no connection, and no demo
table appears.

### Test cases in this run

| file | passed | not passed |
| --- | ---: | ---: |
${perFile.join('\n')}
| **total** | **${vitest.numPassedTests}** | **${vitest.numFailedTests + vitest.numPendingTests}** |

Firestore's figures come from Google's own emulator (the Cloud SDK's \`cloud_firestore_emulator\`), started by the
test setup; where it is not installed its rows are missing and its runs are reported as skipped with the reason.
`;
writeFileSync('SAFETY.md', md);
process.stdout.write('\nwrote SAFETY.md\n');
