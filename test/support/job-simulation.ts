/**
 * The fault simulation of the layers above `tryLead()` (issue 18): `runExclusive` jobs, `Elector` handlers and
 * `tryLead` results, whose owners block the event loop for longer than the lease and then read the leasehold
 * signal, and release their lease through another door than the one they lead through (a second store instance
 * on the same client and table, the raw store under a wrapper, or another wrapper: `withLogger`, `instrument`,
 * `withFaults`).
 *
 * Every contender leads through its own wrapper over the fault layer of test/support/fault-simulation.ts (lost
 * answers, refused and throttled writes, latency, failing and slow reads, held writes delivered late, silent
 * requests), on one lease name, on clocks skewed within the bound. Whoever acts first reads its signal
 * (`signal.aborted`, as the README tells a job to), and records the act with the validity the library reports
 * then. The checker (pure: {@link checkActs}) asks three things:
 * - `act-after-validity`: an act whose signal read "go" when the library's own validity had already ended (a
 *   signal that lags its validity, the hole a synchronous block exposes);
 * - `act-after-release`: an act in a term after this holder released the lease, through whichever door;
 * - `overlap`: two holders each entitled to act at one instant (each act entitles its holder until the validity
 *   reported then, cut short by a release of its own).
 *
 * Replay: as in the tryLead simulation, a seed fixes each contender's fault plans, blocks and releases; the
 * interleaving varies with real time.
 */
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { Elector } from '../../src/elector.js';
import { isLeaseholdError } from '../../src/errors.js';
import { runExclusive } from '../../src/jobs.js';
import { type LeadResult, release, tryLead } from '../../src/lead.js';
import { withLogger } from '../../src/logger/index.js';
import { instrument } from '../../src/otel/index.js';
import type { Store } from '../../src/store.js';
import { withFaults } from '../../src/testing/faults.js';
import {
  contenderStreams,
  drawPlan,
  FAULT_KINDS,
  type FaultKind,
  type FaultSource,
  faultLayer,
  SIMULATION_DEFAULTS,
  type SimulationConfig,
  type Violation,
} from './fault-simulation.js';

/** The doors a store is reached through: the store itself, a second instance, or one of the wrappers. */
export type Door = 'store' | 'second-instance' | 'withLogger' | 'instrument' | 'withFaults';
export const DOORS: readonly Door[] = ['store', 'second-instance', 'withLogger', 'instrument', 'withFaults'];

/** What a contender runs: `runExclusive` jobs, an `Elector` and its handler, or `tryLead` with its result's signal. */
export type Layer = 'job' | 'elector' | 'tryLead';

export interface JobSimulationConfig extends Omit<SimulationConfig, 'contenders' | 'faultPhaseMs' | 'renewBelow' | 'pCrash'> {
  /** Contenders per layer (job, elector, tryLead), in this order. */
  perLayer: number;
  /** How long the run lasts, ms (faults on throughout); then everyone stops. */
  durationMs: number;
  /** Per-act probability that the owner blocks the event loop synchronously for one to 1.25 leases first. */
  pBlock: number;
  /** At most this many blocks per layer per run: every block stalls the whole process, every contender of every seed. */
  maxBlocksPerLayer: number;
  /** Per-act probability that the owner releases its lease through another door right after the act. */
  pReleaseElsewhere: number;
}

/** Five-per-layer would crowd one lease: two of each, a 300 ms lease, faults a little rarer than the tryLead run's. */
export const JOB_SIMULATION_DEFAULTS: Omit<JobSimulationConfig, 'seed'> = {
  ...SIMULATION_DEFAULTS,
  pLoseAnswer: 0.08,
  pFailBefore: 0.05,
  pThrottle: 0.03,
  pLatencySpike: 0.05,
  pReadError: 0.08,
  pReadLatency: 0.05,
  pHold: 0.04,
  pSilent: 0.02,
  perLayer: 2,
  durationMs: 3_000,
  pBlock: 0.15,
  maxBlocksPerLayer: 1,
  pReleaseElsewhere: 0.25,
};

/** One act: its holder and term, when it happened, and the validity the library reported then (ms since the run began). */
export interface Act {
  holder: string;
  layer: Layer;
  token: number;
  /** When this term began for its owner (the job's start, the `elected` event, the answer's arrival). */
  termStart: number;
  at: number;
  validUntil: number;
}

/** A release as sent (ms since the run began), and the door it went through. */
export interface SentRelease {
  holder: string;
  at: number;
  door: Door;
}

export interface JobSimulationReport {
  seed: number;
  acts: number;
  actsByLayer: Record<Layer, number>;
  /** Synchronous blocks longer than the lease, and those after which the validity had ended (the signal must read aborted). */
  blocks: number;
  blocksByLayer: Record<Layer, number>;
  blocksPastValidity: number;
  /** Signals read aborted right after a block (with no timer run in between). */
  abortedAfterBlock: number;
  /** Releases through another door than the one the holder leads through, by door. */
  releasesElsewhere: Partial<Record<Door, number>>;
  /** Checks made after such a release in the same term, and how many read "stop" (all of them must). */
  checksAfterRelease: number;
  stoppedAfterRelease: number;
  terms: number;
  faults: Record<FaultKind, number>;
  storeErrors: number;
  violations: Violation[];
}

const MARGIN_MS = 1;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Blocks the event loop: no timer, no I/O callback runs meanwhile (a CPU-heavy step, a sync parse, a long GC). */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

/** Pure check of the acts against the releases (see the module comment). */
export function checkActs(acts: readonly Act[], releases: readonly SentRelease[]): Violation[] {
  const violations: Violation[] = [];
  const releasedAt = (a: Act) => releases.find((r) => r.holder === a.holder && r.at > a.termStart && r.at < a.at);
  for (const a of acts) {
    if (a.validUntil <= a.at) {
      violations.push({
        kind: 'act-after-validity',
        detail: `${a.holder} (${a.layer}, token ${a.token}) acted at ${a.at.toFixed(1)}: its signal read "go", but the validity it reported had ended at ${a.validUntil.toFixed(1)}`,
      });
    }
    const r = releasedAt(a);
    if (r) {
      violations.push({
        kind: 'act-after-release',
        detail: `${a.holder} (${a.layer}, token ${a.token}) acted at ${a.at.toFixed(1)} in the term it released at ${r.at.toFixed(1)} through ${r.door}`,
      });
    }
  }
  // Each act entitles its holder until the validity it reported, cut short by a release it sent meanwhile.
  const entitled = acts
    .filter((a) => a.validUntil > a.at)
    .map((a) => {
      const cut = releases.filter((r) => r.holder === a.holder && r.at >= a.at && r.at < a.validUntil).map((r) => r.at);
      return { ...a, end: Math.min(a.validUntil, ...cut) };
    })
    .sort((x, y) => x.at - y.at);
  for (let i = 0; i < entitled.length; i++) {
    const cur = entitled[i];
    if (!cur) continue;
    for (let j = i + 1; j < entitled.length; j++) {
      const next = entitled[j];
      if (!next || next.at >= cur.end - MARGIN_MS) break;
      if (next.holder !== cur.holder) {
        violations.push({
          kind: 'overlap',
          detail: `${next.holder} (${next.layer}, token ${next.token}) acted at ${next.at.toFixed(1)} while ${cur.holder} (${cur.layer}, token ${cur.token}) was entitled to ${cur.end.toFixed(1)}`,
        });
      }
    }
  }
  return violations;
}

/** The engine under test: its store, and a second instance of it on the same client and table (if it has one). */
export interface JobSimulationTarget {
  store: Store;
  secondInstance?: () => Store;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs one seeded job-layer simulation on `name`. */
export async function simulateJobs(target: JobSimulationTarget, name: string, cfg: JobSimulationConfig): Promise<JobSimulationReport> {
  const layers: Layer[] = ['job', 'elector', 'tryLead'];
  const report: JobSimulationReport = {
    seed: cfg.seed,
    acts: 0,
    actsByLayer: { job: 0, elector: 0, tryLead: 0 },
    blocks: 0,
    blocksByLayer: { job: 0, elector: 0, tryLead: 0 },
    blocksPastValidity: 0,
    abortedAfterBlock: 0,
    releasesElsewhere: {},
    checksAfterRelease: 0,
    stoppedAfterRelease: 0,
    terms: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    storeErrors: 0,
    violations: [],
  };
  const t0 = performance.now();
  const realNow = () => performance.now() - t0;
  let running = true;
  let faultsOn = true;
  const acts: Act[] = [];
  const releases: SentRelease[] = [];
  const deliveries: Promise<unknown>[] = [];
  const doors: Door[] = DOORS.filter((d) => d !== 'second-instance' || target.secondInstance);
  // A door onto `store`: the store itself, a new second instance (on the same client and table), or a wrapper of it.
  const through = (door: Door, store: Store): Store => {
    switch (door) {
      case 'store':
        return store;
      case 'second-instance':
        return (target.secondInstance as () => Store)();
      case 'withLogger':
        return withLogger(store, silentLogger);
      case 'instrument':
        return instrument(store);
      case 'withFaults':
        return withFaults(store);
    }
  };

  async function contender(index: number): Promise<void> {
    const layer = layers[Math.floor(index / cfg.perLayer)] as Layer;
    const streams = contenderStreams(cfg.seed, index);
    const offset = (streams.clock() - 0.5) * cfg.maxClockSkewMs;
    const clock: Clock = { ...systemClock, now: () => Date.now() + offset };
    const holder = `${layer}${index}`;
    const source: FaultSource = {
      next: () => drawPlan(streams.requests, { ...cfg, contenders: 0, faultPhaseMs: 0, pCrash: 0 }),
      active: () => faultsOn,
      sleep: (ms) => sleep(ms),
      count: (kind) => {
        report.faults[kind]++;
      },
      deliverLater: (ms, send) => {
        deliveries.push(
          sleep(ms)
            .then(send)
            .catch(() => {}),
        );
      },
    };
    // It leads through one door (over the faults); it releases through another, fault-free.
    const leadDoor = doors[index % doors.length] as Door;
    const faulty = (store: Store) => faultLayer(store, source, true, () => {}, cfg.ttlMs);
    const leadStore = leadDoor === 'second-instance' ? faulty(through('second-instance', target.store)) : through(leadDoor, faulty(target.store));
    const otherDoors = doors.filter((d) => d !== leadDoor);
    // Its releases take the other doors in turn, starting from one its index picks: every door is used.
    let releasesSent = index;
    const params = { name, holder, ttlMs: cfg.ttlMs, maxClockSkewMs: cfg.maxClockSkewMs, clock };

    /** Acts as the owner of `lead` would: perhaps blocks first, reads the signal, acts, perhaps releases elsewhere. Returns false once told to stop. */
    async function step(
      lead: LeadResult,
      signal: AbortSignal,
      termStart: number,
      released: { at: number } | null,
    ): Promise<{ go: boolean; released: { at: number } | null }> {
      const [blocks, length, rel] = [streams.act(), streams.act(), streams.release()];
      if (blocks < cfg.pBlock && report.blocksByLayer[layer] < cfg.maxBlocksPerLayer) {
        report.blocks++;
        report.blocksByLayer[layer]++;
        const before = lead.remainingMs();
        blockFor(cfg.ttlMs * (1 + length / 4));
        if (before <= cfg.ttlMs * (1 + length / 4)) report.blocksPastValidity++;
        if (signal.aborted) report.abortedAfterBlock++;
      }
      // The README's rule: check the signal right before the side effect.
      if (released) report.checksAfterRelease++;
      if (signal.aborted) {
        if (released) report.stoppedAfterRelease++;
        return { go: false, released };
      }
      const at = realNow();
      acts.push({ holder, layer, token: lead.token, termStart, at, validUntil: at + lead.remainingMs() });
      report.acts++;
      report.actsByLayer[layer]++;
      if (!released && rel < cfg.pReleaseElsewhere) {
        const door = otherDoors[releasesSent++ % otherDoors.length] as Door;
        const sentAt = realNow();
        releases.push({ holder, at: sentAt, door });
        report.releasesElsewhere[door] = (report.releasesElsewhere[door] ?? 0) + 1;
        try {
          await release(through(door, target.store), { name, holder, clock });
        } catch {
          report.storeErrors++;
        }
        return { go: true, released: { at: sentAt } };
      }
      return { go: true, released };
    }

    if (layer === 'job') {
      while (running) {
        try {
          await runExclusive(leadStore, params, async (ctx) => {
            report.terms++;
            const termStart = realNow();
            let released: { at: number } | null = null;
            try {
              for (let i = 0; i < 4; i++) {
                const s = await step(ctx.lead, ctx.signal, termStart, released);
                released = s.released;
                if (!s.go) return;
                await sleep((cfg.ttlMs / 8) * streams.poll());
              }
            } finally {
              // runExclusive releases once the job returns: the job's entitlement ends here.
              releases.push({ holder, at: realNow(), door: 'store' });
            }
          });
        } catch (error) {
          if (!isLeaseholdError(error)) report.violations.push({ kind: 'unexpected-error', detail: String(error) });
          report.storeErrors++;
        }
        await sleep(cfg.pollMs * (0.5 + streams.poll()));
      }
    } else if (layer === 'elector') {
      const elector = new Elector(leadStore, { ...params, keepAlive: false, renewEveryMs: cfg.ttlMs / 4, retryEveryMs: cfg.pollMs });
      const work: Promise<void>[] = [];
      elector.on((event) => {
        if (event.type !== 'elected') return;
        report.terms++;
        const lead = event.lead;
        const termStart = realNow();
        work.push(
          (async () => {
            // The handler itself may block before anything else (a synchronous start-up step).
            let released: { at: number } | null = null;
            while (running) {
              const s = await step(lead, lead.signal, termStart, released);
              released = s.released;
              if (!s.go) return;
              await sleep((cfg.ttlMs / 8) * streams.poll());
            }
          })(),
        );
      });
      elector.start();
      while (running) await sleep(50);
      // stop() releases: the handler's entitlement ends when it is called.
      releases.push({ holder, at: realNow(), door: 'store' });
      await elector.stop();
      await Promise.all(work);
    } else {
      while (running) {
        let lead: LeadResult;
        try {
          lead = await tryLead(leadStore, params);
        } catch (error) {
          if (!isLeaseholdError(error, 'STORE_UNAVAILABLE')) report.violations.push({ kind: 'unexpected-error', detail: String(error) });
          report.storeErrors++;
          await sleep(cfg.pollMs * streams.poll());
          continue;
        }
        if (lead.isLeader && lead.remainingMs() > 0) {
          if (!lead.fromMemory) report.terms++;
          const termStart = realNow();
          let released: { at: number } | null = null;
          for (let i = 0; i < 3; i++) {
            const s = await step(lead, lead.signal, termStart, released);
            released = s.released;
            if (!s.go) break;
            await sleep((cfg.ttlMs / 8) * streams.poll());
          }
        } else {
          await sleep(cfg.pollMs * (0.5 + streams.poll()));
        }
      }
    }
  }

  const runners = Array.from({ length: cfg.perLayer * layers.length }, (_, i) => contender(i));
  await sleep(cfg.durationMs);
  faultsOn = false;
  running = false;
  await Promise.all(runners);
  await Promise.all(deliveries);
  report.violations.push(...checkActs(acts, releases));
  return report;
}
