/**
 * A seeded fault simulation of the safety contract (DESIGN.md), run against real engines.
 *
 * Contenders on one lease name call tryLead() in real time, on clocks skewed within the configured bound,
 * through a fault layer that loses answers after the write applied, fails writes before they apply,
 * throttles, and adds latency spikes; some contenders pause for longer than the lease (a GC pause, a
 * frozen Lambda) and some crash. Every claim of leadership is recorded with its validity window in real
 * time, from the answer's arrival to the end of validity the library reported, and checked:
 * - no two holders' windows overlap;
 * - the fencing token rises at every change of holder;
 * - no holder acts after its validity (each act is checked against the test's own bound: send + ttl - skew);
 * - liveness: once faults stop, a leader emerges within ttl + skew + poll (+ one answer's latency).
 * The schedule comes from a seeded PRNG, so a failing run prints its seed and replays from it.
 */
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { release, tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';

/** Simulation parameters. */
export interface SimulationConfig {
  seed: number;
  /** Lease length, ms (short: this runs in real time). */
  ttlMs: number;
  maxClockSkewMs: number;
  /** Follower poll interval, ms. */
  pollMs: number;
  contenders: number;
  /** How long faults are injected, ms; then a calm phase checks liveness. */
  faultPhaseMs: number;
  /** Per-write fault probabilities. */
  pLoseAnswer: number;
  pFailBefore: number;
  pThrottle: number;
  pLatencySpike: number;
  /** Per-step probability that a leader pauses for longer than the lease. */
  pPause: number;
  /** Per-step probability that a contender crashes (stops without releasing) and later restarts. */
  pCrash: number;
}

/** Figures and violations of one run. */
export interface SimulationReport {
  seed: number;
  calls: number;
  leaderships: number;
  changesOfHolder: number;
  acts: number;
  faults: { loseAnswer: number; failBefore: number; throttle: number; latencySpike: number; pause: number; crash: number };
  storeErrors: number;
  livenessMs: number | null;
  violations: string[];
}

/** mulberry32: small, seedable, good enough to drive a schedule. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fault layer over a real store, driven by the simulation's PRNG. */
function faulty(store: Store, random: () => number, cfg: SimulationConfig, report: SimulationReport, active: () => boolean, onSend: () => void): Store {
  async function write<T>(run: () => Promise<T>): Promise<T> {
    onSend();
    if (!active()) return run();
    const r = random();
    if (r < cfg.pFailBefore) {
      report.faults.failBefore++;
      throw new Error('injected: connection refused before the write');
    }
    if (r < cfg.pFailBefore + cfg.pThrottle) {
      report.faults.throttle++;
      throw Object.assign(new Error('injected: throttled'), { name: 'ThrottlingException' });
    }
    const spike = random() < cfg.pLatencySpike;
    if (spike) {
      report.faults.latencySpike++;
      await sleep(cfg.ttlMs * 0.3 * random());
    }
    const result = await run();
    if (spike) await sleep(cfg.ttlMs * 0.6 * random()); // the answer itself is slow: validity counts from the send
    if (random() < cfg.pLoseAnswer) {
      report.faults.loseAnswer++;
      throw new Error('injected: answer lost after the write applied');
    }
    return result;
  }
  const wrapped: Store = {
    kind: store.kind,
    clockSource: store.clockSource,
    read: (name) => {
      onSend();
      return store.read(name);
    },
    create: (w) => write(() => store.create(w)),
    replace: (v, w) => write(() => store.replace(v, w)),
  };
  const { claim, releaseHolder } = store;
  if (claim) wrapped.claim = (req) => write(() => claim.call(store, req));
  if (releaseHolder) wrapped.releaseHolder = (n, h, v, c) => write(() => releaseHolder.call(store, n, h, v, c));
  return wrapped;
}

interface Window {
  holder: string;
  token: number;
  start: number;
  end: number;
}

/** Runs one seeded simulation on `name` and returns its figures and any violations of the contract. */
export async function simulate(store: Store, name: string, cfg: SimulationConfig): Promise<SimulationReport> {
  const random = prng(cfg.seed);
  const report: SimulationReport = {
    seed: cfg.seed,
    calls: 0,
    leaderships: 0,
    changesOfHolder: 0,
    acts: 0,
    faults: { loseAnswer: 0, failBefore: 0, throttle: 0, latencySpike: 0, pause: 0, crash: 0 },
    storeErrors: 0,
    livenessMs: null,
    violations: [],
  };
  const t0 = performance.now();
  const realNow = () => performance.now() - t0;
  let faultsOn = true;
  const windows: Window[] = [];
  const stopAt = cfg.faultPhaseMs;
  let calmFrom = Number.POSITIVE_INFINITY;
  let firstLeaderInCalm: number | null = null;

  async function contender(index: number): Promise<void> {
    // Each contender's wall clock is off by up to half the bound either way: any two differ by at most the bound.
    const offset = (random() - 0.5) * cfg.maxClockSkewMs;
    const clock: Clock = { ...systemClock, now: () => Date.now() + offset };
    // The first request of each call marks its real send time: validity may not outlast send + ttl - skew.
    let firstSend = Number.POSITIVE_INFINITY;
    const faultStore = faulty(
      store,
      random,
      cfg,
      report,
      () => faultsOn,
      () => {
        firstSend = Math.min(firstSend, realNow());
      },
    );
    let incarnation = 0;
    let holder = `c${index}.${incarnation}`;
    while (realNow() < calmFrom + cfg.ttlMs + cfg.maxClockSkewMs + cfg.pollMs * 3) {
      const inFaults = realNow() < stopAt;
      if (index > 0 && inFaults && random() < cfg.pCrash) {
        report.faults.crash++;
        await sleep(cfg.ttlMs * (0.5 + random())); // crashed: no release; restarts as a new incarnation
        holder = `c${index}.${++incarnation}`;
        continue;
      }
      firstSend = Number.POSITIVE_INFINITY;
      report.calls++;
      let lead: Awaited<ReturnType<typeof tryLead>>;
      try {
        lead = await tryLead(faultStore, { name, holder, ttlMs: cfg.ttlMs, maxClockSkewMs: cfg.maxClockSkewMs, clock });
      } catch (error) {
        if (!isLeaseholdError(error, 'STORE_UNAVAILABLE')) report.violations.push(`unexpected error: ${String(error)}`);
        report.storeErrors++;
        await sleep(cfg.pollMs * random());
        continue;
      }
      const arrived = realNow();
      if (lead.isLeader) {
        // An answer that arrives after validity ran out is leadership with an empty window: nothing to act on.
        const remaining = lead.remainingMs();
        const end = arrived + remaining;
        const ownBound = firstSend + cfg.ttlMs - cfg.maxClockSkewMs;
        if (remaining > 0 && end > ownBound + 0.5)
          report.violations.push(
            `${holder} reported validity to ${end.toFixed(1)} beyond send + ttl - skew = ${ownBound.toFixed(1)} (library start ${(lead.validUntil - cfg.ttlMs + cfg.maxClockSkewMs - t0).toFixed(1)}, first send ${firstSend.toFixed(1)}, arrived ${arrived.toFixed(1)})`,
          );
        windows.push({ holder, token: lead.token, start: arrived, end });
        report.leaderships++;
        if (arrived >= calmFrom && firstLeaderInCalm === null) firstLeaderInCalm = arrived;
        // Act as leader a few times, pausing sometimes for longer than the lease, and checking before each act.
        for (let step = 0; step < 3; step++) {
          if (inFaults && random() < cfg.pPause) {
            report.faults.pause++;
            await sleep(cfg.ttlMs * (1 + random()));
          } else {
            await sleep((cfg.ttlMs / 10) * random());
          }
          if (!lead.stillLeader()) break;
          const at = realNow();
          report.acts++;
          if (at > end) report.violations.push(`${holder} acted at ${at.toFixed(1)} after its validity ended at ${end.toFixed(1)}`);
          const other = windows.find((w) => w.holder !== holder && w.start <= at && at < w.end);
          if (other) report.violations.push(`${holder} (token ${lead.token}) acted at ${at.toFixed(1)} inside ${other.holder}'s window (token ${other.token})`);
        }
        if (random() < 0.2) {
          // Releasing ends this holder's leadership when the release is sent, whatever its answer.
          const releasedAt = realNow();
          for (const w of windows) if (w.holder === holder) w.end = Math.min(w.end, releasedAt);
          try {
            await release(faultStore, { name, holder, clock });
          } catch {
            report.storeErrors++;
          }
        }
      } else {
        await sleep(cfg.pollMs * (0.5 + random()));
      }
    }
  }

  const runners = Array.from({ length: cfg.contenders }, (_, i) => contender(i));
  await sleep(stopAt);
  faultsOn = false;
  calmFrom = realNow();
  // Liveness is measured from the moment faults stop: a lease held then (perhaps by a paused or crashed holder)
  // runs out within ttl (+ skew on client clocks), and a follower's next poll takes it.
  await Promise.all(runners);

  if (firstLeaderInCalm === null) {
    const anyLaterWindow = windows.some((w) => w.start >= calmFrom);
    if (!anyLaterWindow) report.violations.push('liveness: no leader emerged after faults stopped');
  } else {
    report.livenessMs = (firstLeaderInCalm as number) - calmFrom;
    const bound = cfg.ttlMs + cfg.maxClockSkewMs + cfg.pollMs * 1.5 + 100;
    if ((firstLeaderInCalm as number) - calmFrom > bound) {
      report.violations.push(`liveness: first leader ${((firstLeaderInCalm as number) - calmFrom).toFixed(0)} ms after faults stopped, bound ${bound} ms`);
    }
  }
  // Windows of different holders must not overlap; tokens must rise at each change of holder.
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as Window;
    const cur = sorted[i] as Window;
    if (cur.holder === prev.holder) continue;
    report.changesOfHolder++;
    for (const w of sorted.slice(0, i)) {
      if (w.holder !== cur.holder && cur.start < w.end) {
        report.violations.push(
          `overlap: ${cur.holder} (token ${cur.token}) from ${cur.start.toFixed(1)} while ${w.holder} (token ${w.token}) valid to ${w.end.toFixed(1)}`,
        );
      }
    }
    if (cur.token <= prev.token) report.violations.push(`token did not rise: ${prev.holder} ${prev.token} → ${cur.holder} ${cur.token}`);
  }
  return report;
}
