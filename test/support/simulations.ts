/**
 * Shared driver for the fault simulations: seeds (replayable), the default schedule, the checks, a
 * fault-injecting HTTP handler for the DynamoDB client, and deliberately broken stores.
 *
 * Seeds come from the environment:
 * - `FAULT_SEED=<n>` runs that one seed (replays its fault schedule);
 * - `FAULT_BASE_SEED=<n>` and `FAULT_RUNS=<k>` run seeds n … n+k-1 (default: k = 4 from a base taken from the
 *   time once per test file, so every engine in one run meets the same schedules, and the printed base
 *   replays them all).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect, type TestContext } from 'vitest';
import { tryLead } from '../../src/lead.js';
import type { LeaseRecord, Store } from '../../src/store.js';
import {
  FAULT_KINDS,
  type FaultKind,
  type FaultSource,
  FIRESTORE_CONFIG,
  FIRESTORE_GENERIC_CONFIG,
  GENERIC_CONFIG,
  HTTP_HANDLER_CONFIG,
  SIMULATION_DEFAULTS,
  type SimulationConfig,
  type SimulationReport,
  type StoreFactory,
  simulate,
  type ViolationKind,
} from './fault-simulation.js';
import { recordFigures } from './safety-figures.js';

export const BASE = SIMULATION_DEFAULTS;
export { FIRESTORE_CONFIG, FIRESTORE_GENERIC_CONFIG, GENERIC_CONFIG, HTTP_HANDLER_CONFIG };

/** Fault kinds every run must inject (a read-back failing too is counted, and required where writes are many). */
export const REQUIRED_FAULTS: readonly FaultKind[] = [
  'loseAnswer',
  'failBefore',
  'throttle',
  'latencySpike',
  'readError',
  'readLatency',
  'heldWrite',
  'heldWriteDelivered',
  'silent',
  'pause',
  'crash',
];

function envInteger(variable: string): number | undefined {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${variable} must be a non-negative integer; got ${JSON.stringify(raw)}`);
  return n;
}

const DEFAULT_BASE_SEED = Date.now() % 1_000_000;

/** The seeds of this run: FAULT_SEED, or FAULT_RUNS (default 4) seeds from FAULT_BASE_SEED (default: from the time). */
export function seeds(): number[] {
  const one = envInteger('FAULT_SEED');
  if (one !== undefined) return [one];
  const base = envInteger('FAULT_BASE_SEED') ?? DEFAULT_BASE_SEED;
  return Array.from({ length: envInteger('FAULT_RUNS') ?? 4 }, (_, i) => base + i);
}

/**
 * How to replay one seed of the running test. The test's name comes from its own context: under
 * `describe.concurrent`, the global `expect.getState()` names whichever test started last.
 */
export function replayHint(seed: number, ctx: TestContext | undefined): string {
  const test = ctx ? ctx.task.name : (expect.getState().currentTestName?.split(' > ').pop() ?? '');
  const file = ctx?.task.file?.name ?? expect.getState().testPath?.slice(expect.getState().testPath?.indexOf('test/')) ?? 'test/system/faults.test.ts';
  return `FAULT_SEED=${seed} npx vitest run ${file} -t ${JSON.stringify(test)}`;
}

/** Figures without the per-request plans (kept in memory for the replay check, too long for the report). */
export function figuresOf(reports: SimulationReport[]): Omit<SimulationReport, 'plans'>[] {
  return reports.map(({ plans: _plans, ...figures }) => figures);
}

export interface RunOptions {
  /** Which path of the store runs: its fused one-round-trip claim, the generic read → create/compare-and-swap, or both (contenders alternate). */
  path: 'fused' | 'generic' | 'mixed';
  /** Where the faults are injected. */
  layer?: 'store' | 'http-handler';
  config?: Omit<SimulationConfig, 'seed'>;
  /** Fault kinds that must have been injected at least once over this engine's runs (default: {@link REQUIRED_FAULTS}). */
  mustInject?: readonly FaultKind[];
  /**
   * The running test's context: its `expect` and its name (for the replay hint). Needed under `describe.concurrent`,
   * where the global `expect` state belongs to whichever test started last.
   */
  ctx?: TestContext;
}

/**
 * Runs the seeds in parallel on distinct names, fails with each failing seed and how to replay it, and
 * checks that every kind of fault was actually injected.
 */
export async function runSimulations(engine: string, target: Store | StoreFactory, options: RunOptions): Promise<SimulationReport[]> {
  const config = options.config ?? (options.path === 'generic' ? GENERIC_CONFIG : BASE);
  const layer = options.layer ?? 'store';
  const required = options.mustInject ?? REQUIRED_FAULTS;
  const reports: SimulationReport[] = [];
  const runSeeds: number[] = [];
  const sum = (f: (r: SimulationReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const injectedSoFar = () => Object.fromEntries(FAULT_KINDS.map((k) => [k, reports.reduce((a, r) => a + r.faults[k], 0)]));
  // What a set of seeds has not exercised yet: a fault kind never injected, no renewal or no change of holder checked.
  const gaps = () => {
    const injected = injectedSoFar();
    return [
      ...required.filter((k) => (injected[k] ?? 0) === 0).map((k) => `no ${k} injected`),
      ...(sum((r) => r.renewals) === 0 ? ['no renewal checked'] : []),
      ...(sum((r) => r.changesOfHolder) === 0 ? ['no change of holder checked'] : []),
    ];
  };
  // Coverage is a property of a set of seeds, and a starved machine makes fewer calls per run; and an engine starved
  // of CPU can answer slower than a 300 ms lease's window, so that no answer is usable and no leader can emerge. While
  // a set leaves a gap or no leader after faults stopped (and no safety violation), up to two more sets run, with new
  // seeds and, after a set whose slowest calls took a large part of the validity window, a lease scaled to what the
  // engine took (the reason printed). Liveness is judged on the last set; safety and coverage on all. A replayed seed
  // (FAULT_SEED) runs once, as configured.
  let cfg = config;
  let lastSet: SimulationReport[] = [];
  for (let set = 0; set < 3; set++) {
    const setSeeds = seeds().map((seed) => seed + set * 1_000);
    runSeeds.push(...setSeeds);
    lastSet = await Promise.all(setSeeds.map((seed) => simulate(target, `sim-${engine}-${seed}-${Date.now()}`, { ...cfg, seed })));
    reports.push(...lastSet);
    const safetyViolated = reports.some((r) => r.violations.some((v) => v.kind !== 'liveness'));
    const leaderless = lastSet.filter((r) => r.violations.some((v) => v.kind === 'liveness'));
    if (setSeeds.length === 1 || safetyViolated || set === 2 || (gaps().length === 0 && leaderless.length === 0)) break;
    const slowest = Math.max(...lastSet.map((r) => Math.max(r.longestCallMs, r.calmSlowestCallMs)));
    const errorRate =
      lastSet.reduce((a, r) => a + r.storeErrors, 0) /
      Math.max(
        1,
        lastSet.reduce((a, r) => a + r.calls, 0),
      );
    const scale = slowest > (cfg.ttlMs - cfg.maxClockSkewMs) / 2 ? 2 : 1;
    console.info(
      `[faults] ${engine}: seeds ${runSeeds.join(', ')} left ${[...gaps(), ...(leaderless.length ? [`no leader after faults stopped in ${leaderless.length} seed(s)`] : [])].join(', ')}; ` +
        `slowest call ${slowest.toFixed(0)} ms of a ${cfg.ttlMs - cfg.maxClockSkewMs} ms window, ${Math.round(errorRate * 100)} % of calls failed; ` +
        `running another set of seeds${scale > 1 ? `, with the lease, skew and poll × ${scale} (the engine answers too slowly for this lease here)` : ''}`,
    );
    if (scale > 1) {
      cfg = { ...cfg, ttlMs: cfg.ttlMs * scale, maxClockSkewMs: cfg.maxClockSkewMs * scale, pollMs: cfg.pollMs * scale, faultPhaseMs: cfg.faultPhaseMs * 1.5 };
    }
  }
  recordFigures(engine, 'simulation', { path: options.path, layer, config: cfg, reports: figuresOf(reports) });
  const injected = injectedSoFar();
  console.info(
    `[faults] ${engine} (${options.path} path, faults in the ${layer} layer): seeds ${runSeeds.join(', ')}; ` +
      `calls ${sum((r) => r.calls)}, leaderships ${sum((r) => r.leaderships)} (${sum((r) => r.changesOfHolder)} changes of holder, ` +
      `${sum((r) => r.renewals)} renewals, ${sum((r) => r.newTermsOfSameHolder)} new terms of the same holder), store errors ${sum((r) => r.storeErrors)}; ` +
      `injected ${JSON.stringify(injected)}. Replay one seed with FAULT_SEED=<seed>, these seeds with FAULT_BASE_SEED=${runSeeds[0]} FAULT_RUNS=${seeds().length}${runSeeds.length > seeds().length ? ' (the further sets: base + 1000, base + 2000)' : ''}.`,
  );
  const check = options.ctx?.expect ?? expect;
  // Safety and liveness are reported apart: a late leader on a starved machine is not two leaders.
  const failures = (which: (kind: ViolationKind) => boolean, among = reports) =>
    among
      .filter((r) => r.violations.some((v) => which(v.kind)))
      .map(
        (r) =>
          `seed ${r.seed} (replay its fault schedule: ${replayHint(r.seed, options.ctx)}; interleavings vary with real timing, so rerun it a few times):\n  ${r.violations
            .filter((v) => which(v.kind))
            .slice(0, 5)
            .map((v) => `${v.kind}: ${v.detail}`)
            .join('\n  ')}`,
      );
  check(
    failures((k) => k !== 'liveness'),
    'safety violations',
  ).toEqual([]);
  check(
    failures((k) => k === 'liveness', lastSet),
    'liveness (a leader after faults stopped, within a bound measured in this run): not a safety violation',
  ).toEqual([]);
  for (const r of lastSet) check(r.leaderships, `seed ${r.seed}: someone led`).toBeGreaterThan(0);
  // Replaying one seed (FAULT_SEED) is about its violations, not coverage.
  if (runSeeds.length > 1) {
    check(gaps(), `coverage over seeds ${runSeeds.join(', ')} (fault kinds injected, renewals and changes of holder checked)`).toEqual([]);
  }
  return reports;
}

/**
 * Warms an engine up before a simulation: `callers` loops of `tryLead` on names of their own for `ms`. Cold, DynamoDB
 * Local's JVM answers slower than a 300 ms lease, and a first run would mostly time out.
 */
export async function warmUp(store: Store, callers: number, ms = 1_500): Promise<void> {
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      while (performance.now() < until) await tryLead(store, { name: `warm-up-${i}`, holder: 'warm', ttlMs: 60_000 });
    }),
  );
}

/** Violations of each kind over a set of runs. */
export function violationCounts(reports: SimulationReport[]): Partial<Record<ViolationKind, number>> {
  const counts: Partial<Record<ViolationKind, number>> = {};
  for (const r of reports) for (const v of r.violations) counts[v.kind] = (counts[v.kind] ?? 0) + 1;
  return counts;
}

type Handler = {
  handle(
    request: { headers: Record<string, string> },
    options?: { abortSignal?: { aborted: boolean } },
  ): Promise<{ response: { body?: { destroy?: () => void } } }>;
};

const abortError = () => Object.assign(new Error('Request aborted'), { name: 'AbortError' });

/**
 * Wraps a DynamoDB client's HTTP handler so that each request on the wire (the SDK's own retries included)
 * meets the next fault of the contender's plan: a write throttled or refused before it is sent, slowed by a
 * latency spike, or applied by the engine and then its answer lost (the SDK retries it, and the retry meets
 * its own write as a failed condition); a read failed with a server error or slowed.
 */
export function injectHandlerFaults(client: DynamoDBClient, faults: FaultSource): DynamoDBClient {
  const handler = client.config.requestHandler as unknown as Handler;
  const original = handler.handle.bind(handler);
  handler.handle = async (request, handlerOptions) => {
    const signal = handlerOptions?.abortSignal;
    if (signal?.aborted) throw abortError();
    const operation = (request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const plan = faults.next();
    if (!faults.active()) return original(request, handlerOptions);
    if (plan.silent) {
      // A silent endpoint: the request is never answered; only the SDK's abort (the library's bound) ends it.
      faults.count('silent');
      return new Promise<never>((_, reject) => {
        const s = signal as (AbortSignal & { aborted: boolean }) | undefined;
        s?.addEventListener?.('abort', () => reject(abortError()), { once: true });
      });
    }
    if (operation === 'GetItem') {
      if (plan.readError) {
        faults.count('readError');
        throw Object.assign(new Error('injected: internal server error'), {
          name: 'InternalServerError',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        });
      }
      const out = await original(request, handlerOptions);
      if (plan.readDelayMs !== null && faults.active()) {
        faults.count('readLatency');
        await faults.sleep(plan.readDelayMs);
      }
      return out;
    }
    if (plan.write === 'throttle') {
      faults.count('throttle');
      throw Object.assign(new Error('The level of configured provisioned throughput for the table was exceeded.'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (plan.write === 'fail-before') {
      faults.count('failBefore');
      throw Object.assign(new Error('connect ECONNREFUSED (injected before the request was sent)'), { code: 'ECONNREFUSED' });
    }
    if (plan.holdMs !== null) {
      // The network holds the request; the SDK's attempt times out (it may retry: a new request on the wire).
      // The held bytes reach DynamoDB later, exactly as they were sent.
      faults.count('heldWrite');
      faults.deliverLater(plan.holdMs, async () => {
        const out = await original(request);
        out.response.body?.destroy?.();
        faults.count('heldWriteDelivered');
      });
      throw Object.assign(new Error('Request timed out (injected: the network holds the request)'), { name: 'TimeoutError' });
    }
    if (plan.spike) {
      faults.count('latencySpike');
      await faults.sleep(plan.spike.beforeMs);
      if (signal?.aborted) throw abortError();
    }
    const out = await original(request, handlerOptions);
    if (plan.spike && faults.active()) await faults.sleep(plan.spike.afterMs);
    if (plan.loseAnswer && faults.active()) {
      faults.count('loseAnswer');
      out.response.body?.destroy?.();
      throw Object.assign(new Error('socket hang up (injected after the engine applied the request)'), { code: 'ECONNRESET' });
    }
    return out;
  };
  return client;
}

// Deliberately broken stores. Each breaks one clause of the contract on the generic path (read → create /
// compare-and-swap) of an honest store, and the suite asserts that the checker catches it by that clause.

/** Reports every lease as ending `earlyMs` early, so contenders take over live leases: caught as `overlap`. */
export function takesOverEarly(honest: Store, earlyMs: number): Store {
  return {
    kind: 'broken-early-takeover',
    clockSource: honest.clockSource,
    read: async (name) => {
      const r = await honest.read(name);
      return r.record ? { ...r, record: { ...r.record, expiresAt: r.record.expiresAt - earlyMs } } : r;
    },
    create: (w) => honest.create(w),
    replace: (v, w) => honest.replace(v, w),
  };
}

/** Writes the token it last read on every compare-and-swap, so a takeover keeps the old token: caught as `token`. */
export function tokenDoesNotRise(honest: Store): Store {
  const tokens = new Map<string, number>();
  const remember = (record: LeaseRecord | null) => {
    if (record) tokens.set(record.version, record.token);
  };
  return {
    kind: 'broken-token',
    clockSource: honest.clockSource,
    read: async (name) => {
      const r = await honest.read(name);
      remember(r.record);
      return r;
    },
    create: (w) => honest.create(w),
    replace: (v, w) => honest.replace(v, { ...w, token: tokens.get(v) ?? w.token }),
  };
}

/** Reports every held lease as live forever, so a holder back from a pause renews a lapsed lease: caught as `term`. */
export function neverExpires(honest: Store): Store {
  return {
    kind: 'broken-never-expires',
    clockSource: honest.clockSource,
    read: async (name) => {
      const r = await honest.read(name);
      return r.record?.holder ? { ...r, record: { ...r.record, expiresAt: Number.MAX_SAFE_INTEGER } } : r;
    },
    create: (w) => honest.create(w),
    replace: (v, w) => honest.replace(v, w),
  };
}

/**
 * Pins a compare-and-swap to the holder instead of the version: a renewal the network delivers late still applies
 * to its holder's newer lease, stamping an expiry from its old send time (on client clocks, moving it backwards),
 * as DynamoDB's renewal condition did before it was pinned to the version. Caught as `overlap`.
 */
export function renewalPinnedToHolder(honest: Store): Store {
  return {
    kind: 'broken-late-renewal',
    clockSource: honest.clockSource,
    read: (name) => honest.read(name),
    create: (w) => honest.create(w),
    replace: async (v, w) => {
      const current = (await honest.read(w.name)).record;
      if (current && w.holder !== null && current.holder === w.holder && current.version !== v) return honest.replace(current.version, w);
      return honest.replace(v, w);
    },
  };
}
