/**
 * A seeded fault simulation of the safety contract (the rules of the README's "Safety, in plain words"), run against real engines.
 *
 * Contenders on one lease name call tryLead() in real time, on clocks skewed within the configured bound,
 * through a fault layer that loses answers after the write applied, fails writes before they apply,
 * throttles, adds latency spikes, and fails or slows reads (so the read-back that resolves a lost answer can
 * fail too, and the library must then fail closed); the network holds some writes and delivers them after the
 * caller gave up, later than a whole lease (late writes, README safety: "Lost answers and late writes"), and some requests are never
 * answered at all (a silent endpoint: every call must still settle within its bound); some leaders pause for longer than the lease (a GC
 * pause, a frozen Lambda) and some contenders crash. Every claim of leadership is recorded with its validity
 * window in real time, from the answer's arrival to the end of validity the library reported, and checked:
 * - `overlap`: no two holders' windows overlap;
 * - `token`: the fencing token rises at every change of holder;
 * - `term`: a holder whose own lease had surely lapsed (or that released it) starts a new term with a larger
 *   token, and a holder whose lease was surely still live renews it with the same token;
 * - `act-after-validity` / `validity`: no holder acts after its validity, and no validity the library reports
 *   outlasts the test's own bound (first send + ttl - skew);
 * - `liveness`: once faults stop, a leader emerges within {@link LIVENESS_BOUND};
 * - `unbounded`: no call stays pending past its documented bound (a claim: its validity window; a release:
 *   the store's timeout), silent endpoints included.
 *
 * Replay. Each contender draws from its own generators, derived from (seed, contender index, purpose): the
 * n-th request of contender i meets the same faults, its n-th loop the same crash decision, its n-th act the
 * same pause, and its clock the same offset, whatever the other contenders do. What a seed cannot fix is
 * the interleaving: contenders run in real time against a real engine, so how their requests interleave
 * (and so how many requests each makes, and who wins which race) varies from run to run. A failing seed
 * replays the same fault schedule, not necessarily the same history: rerun it a few times.
 */
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { identityOf } from '../../src/identity.js';
import { release, tryLead } from '../../src/lead.js';
import type { Store, StoreCallOptions } from '../../src/store.js';

/** Simulation parameters. */
export interface SimulationConfig {
  seed: number;
  /** Lease length, ms (short: this runs in real time). */
  ttlMs: number;
  maxClockSkewMs: number;
  /** Follower poll interval, ms: a follower sleeps 0.5-1.5 of it between attempts. */
  pollMs: number;
  contenders: number;
  /** How long faults are injected, ms; then a calm phase, free of faults, checks liveness. */
  faultPhaseMs: number;
  /** Per-write fault probabilities. */
  pLoseAnswer: number;
  pFailBefore: number;
  pThrottle: number;
  pLatencySpike: number;
  /** Per-read fault probabilities: the read fails, or its answer is slow. */
  pReadError: number;
  pReadLatency: number;
  /**
   * Per-write probability that the network holds the write: the caller gives up at once, and the write reaches
   * the engine later, after one to two leases, with the arguments it was sent with.
   */
  pHold: number;
  /** Per-request probability that the request is never answered (a silent endpoint). */
  pSilent: number;
  /** Per-act probability that a leader pauses for longer than the lease. */
  pPause: number;
  /** Per-loop probability that a contender (not the first) crashes: it stops without releasing and later restarts. */
  pCrash: number;
  /**
   * `renewBelow` for the even-numbered contenders (answers from memory while more than this share of the validity
   * window is left); the odd-numbered ones always write. Omitted: every call writes.
   */
  renewBelow?: number;
}

/** The default schedule: five contenders, a 300 ms lease, 2.5 s of faults. */
export const SIMULATION_DEFAULTS: Omit<SimulationConfig, 'seed'> = {
  ttlMs: 300,
  maxClockSkewMs: 60,
  pollMs: 60,
  contenders: 5,
  faultPhaseMs: 2_500,
  pLoseAnswer: 0.15,
  pFailBefore: 0.1,
  pThrottle: 0.05,
  pLatencySpike: 0.1,
  pReadError: 0.15,
  pReadLatency: 0.1,
  pHold: 0.06,
  pSilent: 0.04,
  pPause: 0.15,
  pCrash: 0.03,
  renewBelow: 0.5,
};

/**
 * On the generic path a follower's poll is a read and only leaders write, so writes are fewer: their faults
 * are made more likely (and reads' less), and every call writes (no answers from memory, which the fused runs
 * cover), so that every kind is still injected many times per run.
 */
export const GENERIC_CONFIG: Omit<SimulationConfig, 'seed'> = {
  ...SIMULATION_DEFAULTS,
  renewBelow: undefined,
  pHold: 0.12,
  pLoseAnswer: 0.3,
  pFailBefore: 0.2,
  pThrottle: 0.15,
  pLatencySpike: 0.2,
  pReadError: 0.1,
  pReadLatency: 0.1,
};

/**
 * Faults in the DynamoDB client's HTTP handler: the SDK's own retries back off from 500 ms on throttling, so
 * the lease is long enough to let them finish; each request on the wire (retries included) draws a plan.
 */
export const HTTP_HANDLER_CONFIG: Omit<SimulationConfig, 'seed'> = {
  ...SIMULATION_DEFAULTS,
  ttlMs: 1_000,
  maxClockSkewMs: 100,
  pollMs: 100,
  faultPhaseMs: 3_000,
  pLoseAnswer: 0.2,
  pThrottle: 0.12,
  pLatencySpike: 0.15,
  pCrash: 0.06,
};

/**
 * The Firestore stores refuse leases under 3 s (about one write per second per document): the default schedule
 * scaled to a 3 s lease, with a longer fault phase, and pauses and crashes made likelier so that each seed still
 * sees changes of holder within it (a leader that keeps running renews, and takes its lease back after a release);
 * a modest poll, since Google's emulator is one JVM that every contender of every seed shares.
 */
export const FIRESTORE_CONFIG: Omit<SimulationConfig, 'seed'> = {
  ...SIMULATION_DEFAULTS,
  ttlMs: 3_000,
  maxClockSkewMs: 300,
  pollMs: 300,
  faultPhaseMs: 9_000,
  pPause: 0.3,
  pCrash: 0.08,
};

/**
 * The generic path on Firestore: {@link GENERIC_CONFIG}'s fault mix on {@link FIRESTORE_CONFIG}'s timing, with write
 * faults likelier still: with 3 s leases only a few dozen writes happen per run, and every kind must be injected.
 */
export const FIRESTORE_GENERIC_CONFIG: Omit<SimulationConfig, 'seed'> = {
  ...GENERIC_CONFIG,
  pLoseAnswer: 0.35,
  pFailBefore: 0.25,
  pLatencySpike: 0.4,
  pHold: 0.2,
  ttlMs: FIRESTORE_CONFIG.ttlMs,
  maxClockSkewMs: FIRESTORE_CONFIG.maxClockSkewMs,
  pollMs: FIRESTORE_CONFIG.pollMs,
  faultPhaseMs: FIRESTORE_CONFIG.faultPhaseMs,
  pPause: FIRESTORE_CONFIG.pPause,
  pCrash: FIRESTORE_CONFIG.pCrash,
};

/**
 * Liveness: once faults stop, a lease held then (perhaps by a paused or crashed holder, or renewed by a held write
 * the network lets go at that moment) runs out within ttl (plus the skew on client clocks) of that write's arrival,
 * and a follower's next poll, at most 1.5 poll later, takes it. The rest is what the engine and the machine take in
 * this very run: the slowest call of the calm phase, twice (the last write before expiry, and the claim), and the
 * worst lateness of a timer in the calm phase (a busy 2-core machine), plus 50 ms. A fixed allowance flaked on a
 * busy machine (Firestore's emulator answering in hundreds of ms); a measured one follows the engine.
 */
export const LIVENESS_BOUND = 'ttl + skew + 1.5 × poll + 2 × the slowest call after faults stopped + the worst timer lateness then + 50 ms';
/** The bound's fixed part: what it would be on an engine that answered at once on an idle machine. */
export function livenessBoundMs(
  cfg: Pick<SimulationConfig, 'ttlMs' | 'maxClockSkewMs' | 'pollMs'>,
  measured = { slowestCallMs: 0, timerLatenessMs: 0 },
): number {
  return cfg.ttlMs + cfg.maxClockSkewMs + cfg.pollMs * 1.5 + 2 * measured.slowestCallMs + measured.timerLatenessMs + 50;
}

/** Kinds of injected fault, counted per run. */
export type FaultKind =
  | 'loseAnswer'
  | 'failBefore'
  | 'throttle'
  | 'latencySpike'
  | 'readError'
  | 'readLatency'
  | 'readBackFailed'
  | 'heldWrite'
  | 'heldWriteDelivered'
  | 'silent'
  | 'pause'
  | 'crash';
export const FAULT_KINDS: readonly FaultKind[] = [
  'loseAnswer',
  'failBefore',
  'throttle',
  'latencySpike',
  'readError',
  'readLatency',
  'readBackFailed',
  'heldWrite',
  'heldWriteDelivered',
  'silent',
  'pause',
  'crash',
];

/** Kinds of violation of the contract the checker reports. */
export type ViolationKind =
  | 'overlap'
  | 'token'
  | 'term'
  | 'act-after-validity'
  | 'act-after-release'
  | 'validity'
  | 'liveness'
  | 'unbounded'
  | 'unexpected-error';

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

/** Figures and violations of one run. */
export interface SimulationReport {
  seed: number;
  calls: number;
  leaderships: number;
  changesOfHolder: number;
  /** Leaderships whose answer arrived after their validity had run out (empty windows, never acted on). */
  staleLeaderships: number;
  /** Answers from memory to a warm holder (no request sent); each checked to lie within the window it was won with. */
  warmAnswers: number;
  /** Windows of the same holder that started a new term (a larger token) after its lease lapsed or was released. */
  newTermsOfSameHolder: number;
  /** Windows of the same holder that renewed a lease surely still live (same token). */
  renewals: number;
  acts: number;
  faults: Record<FaultKind, number>;
  storeErrors: number;
  /** The longest any call stayed pending, and its bound, ms. */
  longestCallMs: number;
  livenessMs: number | null;
  /** The liveness bound of this run, from what the engine and the machine measurably took after faults stopped. */
  livenessBoundMs: number;
  /** What went into it: the slowest call after faults stopped, and the worst lateness of a timer then, ms. */
  calmSlowestCallMs: number;
  calmTimerLatenessMs: number;
  violations: Violation[];
  /** Per contender, the fault plan of each request it made, in order (compact codes); not written to figures. */
  plans: string[][];
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

/** murmur3's finaliser: every input bit flips about half the output bits. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A 32-bit seed for one generator, from the run's seed, a contender's index and a purpose. Each part is
 * hashed before it is combined, so neighbouring seeds and indices give unrelated streams.
 */
export function deriveSeed(seed: number, index: number, purpose: number): number {
  const h = fmix32(fmix32(seed + 0x9e3779b9) ^ fmix32(Math.imul(index + 1, 0x27d4eb2f)));
  return fmix32(h ^ fmix32(Math.imul(purpose + 1, 0x165667b1)));
}

/** One contender's generators: one per purpose, so a decision of one kind never shifts the draws of another. */
export function contenderStreams(seed: number, index: number) {
  const stream = (purpose: number) => prng(deriveSeed(seed, index, purpose));
  return { clock: stream(1), requests: stream(2), crash: stream(3), act: stream(4), release: stream(5), poll: stream(6) };
}

/** The faults one request meets. Drawn with a fixed number of draws per request, read or write alike. */
export interface RequestPlan {
  /** For a write: fails before it applies (an error, or throttling), or not. */
  write: 'fail-before' | 'throttle' | null;
  /** For a write: a latency spike, ms before the request and after its answer (the answer itself is slow). */
  spike: { beforeMs: number; afterMs: number } | null;
  /** For a write: the write applies, then its answer is lost. */
  loseAnswer: boolean;
  /** For a read: it fails. */
  readError: boolean;
  /** For a read: its answer is slow by this many ms. */
  readDelayMs: number | null;
  /** For a write: the network holds it this many ms (the caller gives up at once), then delivers it. */
  holdMs: number | null;
  /** The request is never answered. */
  silent: boolean;
}

export function drawPlan(random: () => number, cfg: SimulationConfig): RequestPlan {
  const [a, b, c, d, e, f, g] = [random(), random(), random(), random(), random(), random(), random()];
  return {
    write: a < cfg.pFailBefore ? 'fail-before' : a < cfg.pFailBefore + cfg.pThrottle ? 'throttle' : null,
    spike: b < cfg.pLatencySpike ? { beforeMs: cfg.ttlMs * 0.3 * c, afterMs: cfg.ttlMs * 0.6 * d } : null,
    loseAnswer: e < cfg.pLoseAnswer,
    readError: a < cfg.pReadError,
    readDelayMs: b < cfg.pReadLatency ? cfg.ttlMs * 0.5 * c : null,
    // Held longer than a whole lease: by delivery the caller has given up, and often begun a newer term.
    holdMs: f < cfg.pHold ? cfg.ttlMs * (1 + d) : null,
    silent: g < cfg.pSilent,
  };
}

function planCode(p: RequestPlan): string {
  return (
    `${p.write === 'fail-before' ? 'F' : p.write === 'throttle' ? 'T' : ''}${p.spike ? 'S' : ''}${p.loseAnswer ? 'L' : ''}${p.readError ? 'E' : ''}${p.readDelayMs !== null ? 'D' : ''}${p.holdMs !== null ? 'H' : ''}${p.silent ? 'Z' : ''}` ||
    '.'
  );
}

/**
 * What a fault layer needs from the simulation: the contender's next request plan, whether faults are still
 * on, a sleep that ends early when they stop (so the calm phase is free of injected delays), and counters.
 */
export interface FaultSource {
  next(): RequestPlan;
  active(): boolean;
  sleep(ms: number): Promise<void>;
  count(kind: FaultKind): void;
  /** Delivers a held request after `ms` of real time (even once faults stopped); the run waits for it before it ends. */
  deliverLater(ms: number, send: () => Promise<unknown>): void;
}

/** A store per contender, built over its fault source (e.g. a client whose HTTP handler injects the faults). */
export type StoreFactory = (faults: FaultSource, contender: number) => Store;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The layer between the core and the store, one per contender. It marks each call's send time, notices a
 * failed read right after a failed write (the read-back that would resolve a lost answer), and, when
 * `inject` is set, injects the faults of the contender's plan.
 */
export function faultLayer(store: Store, source: FaultSource, inject: boolean, onSend: () => void, timeoutMs: number): Store {
  let lastWriteFailed = false;
  async function write<T>(run: (late: boolean) => Promise<T>): Promise<T> {
    onSend();
    try {
      const result = await injectWrite(run);
      lastWriteFailed = false;
      return result;
    } catch (error) {
      lastWriteFailed = true;
      throw error;
    }
  }
  async function injectWrite<T>(run: (late: boolean) => Promise<T>): Promise<T> {
    if (!inject) return run(false);
    const plan = source.next();
    if (!source.active()) return run(false);
    if (plan.silent) {
      source.count('silent');
      return new Promise<T>(() => {});
    }
    if (plan.holdMs !== null) {
      source.count('heldWrite');
      source.deliverLater(plan.holdMs, async () => {
        await run(true);
        source.count('heldWriteDelivered');
      });
      throw new Error('injected: no answer (the network holds the write; it arrives after the caller gave up)');
    }
    if (plan.write === 'fail-before') {
      source.count('failBefore');
      throw new Error('injected: connection refused before the write');
    }
    if (plan.write === 'throttle') {
      source.count('throttle');
      throw Object.assign(new Error('injected: throttled'), { name: 'ThrottlingException' });
    }
    if (plan.spike) {
      source.count('latencySpike');
      await source.sleep(plan.spike.beforeMs);
    }
    const result = await run(false);
    // The answer itself is slow: validity counts from the send, so this only shortens the window.
    if (plan.spike && source.active()) await source.sleep(plan.spike.afterMs);
    if (plan.loseAnswer && source.active()) {
      source.count('loseAnswer');
      throw new Error('injected: answer lost after the write applied');
    }
    return result;
  }
  async function read(name: string, options?: StoreCallOptions) {
    onSend();
    const afterFailedWrite = lastWriteFailed;
    lastWriteFailed = false;
    try {
      return await injectRead(name, options);
    } catch (error) {
      if (afterFailedWrite) source.count('readBackFailed');
      throw error;
    }
  }
  async function injectRead(name: string, options?: StoreCallOptions) {
    if (!inject) return store.read(name, options);
    const plan = source.next();
    if (!source.active()) return store.read(name, options);
    if (plan.silent) {
      source.count('silent');
      return new Promise<never>(() => {});
    }
    if (plan.readError) {
      source.count('readError');
      throw new Error('injected: the read failed');
    }
    const result = await store.read(name, options);
    if (plan.readDelayMs !== null && source.active()) {
      source.count('readLatency');
      await source.sleep(plan.readDelayMs);
    }
    return result;
  }
  // A held write is delivered without the caller's signal: the caller gave up on it long ago.
  const late = <O extends StoreCallOptions>(isLate: boolean, o: O | undefined): O | undefined => (isLate && o ? { ...o, signal: undefined } : o);
  const wrapped: Store = {
    kind: store.kind,
    clockSource: store.clockSource,
    // A wrapper keeps the store's identity (DESIGN "One identity per lease table"): a release through the raw
    // store, a second instance or another wrapper reaches the results got through this one.
    identity: identityOf(store),
    timeoutMs,
    read,
    create: (w, o) => write((l) => store.create(w, late(l, o))),
    replace: (v, w, o) => write((l) => store.replace(v, w, late(l, o))),
  };
  const { claim, releaseHolder } = store;
  if (claim) wrapped.claim = (req, o) => write((l) => claim.call(store, req, late(l, o)));
  if (releaseHolder) wrapped.releaseHolder = (n, h, v, c, o) => write((l) => releaseHolder.call(store, n, h, v, c, late(l, o)));
  return wrapped;
}

/** One leadership as recorded, in ms since the run began. */
export interface Window {
  holder: string;
  token: number;
  /** First request of the call that won it. */
  send: number;
  /** Arrival of its answer. */
  start: number;
  /** End of validity as the library reported it (or the release, whichever came first). */
  end: number;
  /**
   * The latest that end can be: `end` is the answer's arrival plus the validity left when read just after, so it
   * comes out early by whatever ran (or preempted this process) in between; this one adds the time read after the
   * validity instead. A warm answer is checked against it, so a loaded machine does not make the check cry wolf.
   */
  latestEnd?: number;
}

export interface Attempt {
  holder: string;
  /** When the call ended (answer or error): any write it made applied before then. */
  end: number;
}

export interface ReleaseAttempt {
  holder: string;
  at: number;
  outcome: 'released' | 'not-held' | 'unknown';
}

/** The checker's margin for timer granularity and for Date.now() against performance.now(), ms. */
const MARGIN_MS = 5;
/**
 * How far past its bound a call may settle before it counts as unbounded: timer lateness on a loaded 2-core
 * machine running test files side by side (as much again as the bound, at least 250 ms), on top of the event loop's
 * stalls measured during the call. That still tells a call bounded by its validity window from one bounded only by a
 * longer timeout; a call that hangs never settles, and the run then fails on its own time limit.
 */
export const UNBOUNDED_MARGIN_MS = 250;
export function unboundedMarginMs(boundMs: number): number {
  return Math.max(UNBOUNDED_MARGIN_MS, boundMs);
}

/**
 * Checks recorded windows against the contract (see the module comment); pure, so deliberately broken
 * stores and hand-made histories exercise it too. Returns violations and counts.
 */
export function checkWindows(
  windows: readonly Window[],
  attempts: readonly Attempt[],
  releases: readonly ReleaseAttempt[],
  cfg: Pick<SimulationConfig, 'ttlMs' | 'maxClockSkewMs'>,
  clockSource: Store['clockSource'],
): { violations: Violation[]; changesOfHolder: number; newTermsOfSameHolder: number; renewals: number } {
  const violations: Violation[] = [];
  let changesOfHolder = 0;
  let newTermsOfSameHolder = 0;
  let renewals = 0;
  // A leadership whose answer arrived after its validity ran out carries no authority (remainingMs() is 0, so
  // the holder never acts on it), and its token may be older than a window that started meanwhile.
  const sorted = windows.filter((w) => w.end > w.start).sort((a, b) => a.start - b.start);
  let maxToken = Number.NEGATIVE_INFINITY;
  // On client clocks a holder judges its own lease live until expiresAt + skew on its own clock.
  const ownGrace = clockSource === 'client' ? cfg.maxClockSkewMs : 0;
  for (let i = 0; i < sorted.length; i++) {
    const cur = sorted[i] as Window;
    const prev = sorted[i - 1];
    for (const w of sorted.slice(0, i)) {
      if (w.holder !== cur.holder && cur.start < w.end) {
        violations.push({
          kind: 'overlap',
          detail: `${cur.holder} (token ${cur.token}) from ${cur.start.toFixed(1)} while ${w.holder} (token ${w.token}) valid to ${w.end.toFixed(1)}`,
        });
      }
    }
    if (prev === undefined) {
      maxToken = cur.token;
      continue;
    }
    if (prev.holder !== cur.holder) {
      changesOfHolder++;
      if (cur.token <= maxToken) violations.push({ kind: 'token', detail: `token did not rise: ${prev.holder} ${prev.token} → ${cur.holder} ${cur.token}` });
    } else {
      // The same holder again. Its lease had surely lapsed if this call was sent a full lease (plus, on client
      // clocks, the skew it grants itself) after the end of its last call that could have written; it was
      // surely still live if this answer came within a lease of the previous window's send. In between,
      // either a renewal or a new term is right.
      const between = releases.filter((r) => r.holder === cur.holder && r.at > prev.start && r.at < cur.send);
      const lastWrite = Math.max(...attempts.filter((a) => a.holder === cur.holder && a.end < cur.send).map((a) => a.end), prev.start);
      const lapsed = cur.send > lastWrite + cfg.ttlMs + ownGrace + MARGIN_MS;
      const released = between.some((r) => r.outcome === 'released');
      const surelyLive = cur.start < prev.send + cfg.ttlMs - MARGIN_MS && between.length === 0;
      if (lapsed || released) {
        newTermsOfSameHolder++;
        if (cur.token <= maxToken) {
          violations.push({
            kind: 'term',
            detail: `${cur.holder} started a new term (${released ? 'after releasing' : `sent ${(cur.send - lastWrite).toFixed(0)} ms after its last write could apply`}) with token ${cur.token}, not above ${maxToken}`,
          });
        }
      } else if (surelyLive) {
        renewals++;
        if (cur.token !== prev.token) {
          violations.push({ kind: 'term', detail: `${cur.holder} renewed a live lease but its token changed: ${prev.token} → ${cur.token}` });
        }
      } else if (cur.token < prev.token) {
        violations.push({ kind: 'token', detail: `${cur.holder}'s token fell: ${prev.token} → ${cur.token}` });
      }
    }
    maxToken = Math.max(maxToken, cur.token);
  }
  return { violations, changesOfHolder, newTermsOfSameHolder, renewals };
}

/**
 * Runs one seeded simulation on `name` and returns its figures and any violations of the contract.
 * `target` is a store (faults are injected between the core and it) or a factory that builds one store per
 * contender over the contender's fault source (the store's own client injects the faults, e.g. in its HTTP
 * handler).
 */
export async function simulate(target: Store | StoreFactory, name: string, cfg: SimulationConfig): Promise<SimulationReport> {
  const report: SimulationReport = {
    seed: cfg.seed,
    calls: 0,
    leaderships: 0,
    staleLeaderships: 0,
    warmAnswers: 0,
    changesOfHolder: 0,
    newTermsOfSameHolder: 0,
    renewals: 0,
    acts: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    storeErrors: 0,
    longestCallMs: 0,
    livenessMs: null,
    livenessBoundMs: 0,
    calmSlowestCallMs: 0,
    calmTimerLatenessMs: 0,
    violations: [],
    plans: [],
  };
  // Held writes still in the network; the run waits for them before it checks. The network lets everything it
  // holds go when faults stop, so the calm phase starts with them delivered (liveness is judged from there).
  const deliveries: Promise<unknown>[] = [];
  // The store timeout every contender's calls are bounded by (README safety: "Fail closed, and every call settles"): here, one lease.
  const timeoutMs = cfg.ttlMs;
  const checkBound = (holder: string, call: string, startedAt: number, boundMs: number) => {
    const now = realNow();
    const took = now - startedAt;
    report.longestCallMs = Math.max(report.longestCallMs, took);
    if (startedAt >= calmFrom) report.calmSlowestCallMs = Math.max(report.calmSlowestCallMs, took);
    // Timers fire late on a loaded machine: the margin tells a hang from a late timer, and the event loop's stalls
    // measured during the call (a starved process fires the bound's timer late by as much) are added to it.
    const stalled = loopStallDuring(startedAt, now);
    if (took > boundMs + unboundedMarginMs(boundMs) + stalled) {
      report.violations.push({
        kind: 'unbounded',
        detail: `${holder}'s ${call} stayed pending ${took.toFixed(0)} ms, past its bound of ${boundMs} ms (+ ${unboundedMarginMs(boundMs)} ms margin + ${stalled.toFixed(0)} ms the event loop stalled meanwhile)`,
      });
    }
  };
  const t0 = performance.now();
  const realNow = () => performance.now() - t0;
  // The event loop's stalls, measured by a 10 ms ticker: [when a late tick fired, how late it was].
  const stalls: [number, number][] = [];
  let lastTick = 0;
  const ticker = setInterval(() => {
    const now = realNow();
    const late = now - lastTick - 10;
    if (late > 5) stalls.push([now, late]);
    lastTick = now;
  }, 10);
  /** How long the event loop stalled within [from, to], ms (the late ticks' lateness, summed). */
  const loopStallDuring = (from: number, to: number) => {
    let total = 0;
    for (const [at, late] of stalls) if (at >= from && at - late <= to + 10) total += late;
    return total;
  };
  // A sleep that measures how late its timer fired, once faults stopped (the liveness bound takes the worst).
  const pollSleep = async (ms: number) => {
    const from = realNow();
    await sleep(ms);
    if (from >= calmFrom) report.calmTimerLatenessMs = Math.max(report.calmTimerLatenessMs, realNow() - from - ms);
  };
  let faultsOn = true;
  let endCalm: () => void = () => {};
  const calm = new Promise<void>((resolve) => {
    endCalm = resolve;
  });
  // Injected delays (latency spikes, pauses, crashed downtime) end when faults stop: the calm phase is free of faults.
  const faultSleep = (ms: number) => Promise.race([sleep(ms), calm]);
  const windows: Window[] = [];
  const attempts: Attempt[] = [];
  const releases: ReleaseAttempt[] = [];
  let calmFrom = Number.POSITIVE_INFINITY;
  let firstLeaderInCalm: number | null = null;
  let clockSource: Store['clockSource'] = 'store';

  async function contender(index: number): Promise<void> {
    const streams = contenderStreams(cfg.seed, index);
    const plans: string[] = [];
    report.plans[index] = plans;
    // Each contender's wall clock is off by up to half the bound either way: any two differ by at most the bound.
    const offset = (streams.clock() - 0.5) * cfg.maxClockSkewMs;
    const clock: Clock = { ...systemClock, now: () => Date.now() + offset };
    let incarnation = 0;
    let holder = `c${index}.${incarnation}`;
    const source: FaultSource = {
      next: () => {
        const plan = drawPlan(streams.requests, cfg);
        plans.push(planCode(plan));
        return plan;
      },
      active: () => faultsOn,
      sleep: faultSleep,
      count: (kind) => {
        report.faults[kind]++;
      },
      deliverLater: (ms, send) => {
        const sender = holder;
        // A held write that lands is a write of its holder's: the checker's term rule counts it as one.
        deliveries.push(
          faultSleep(ms)
            .then(async () => {
              const from = realNow();
              try {
                await send();
              } finally {
                if (from >= calmFrom) report.calmSlowestCallMs = Math.max(report.calmSlowestCallMs, realNow() - from);
              }
            })
            .catch(() => {})
            .finally(() => attempts.push({ holder: sender, end: realNow() })),
        );
      },
    };
    const inner = typeof target === 'function' ? target(source, index) : target;
    clockSource = inner.clockSource;
    // The first request of each call marks its real send time: validity may not outlast send + ttl - skew.
    let firstSend = Number.POSITIVE_INFINITY;
    const store = faultLayer(
      inner,
      source,
      typeof target !== 'function',
      () => {
        firstSend = Math.min(firstSend, realNow());
      },
      timeoutMs,
    );
    // After faults stop, contenders go on for a lease and three polls; on a slow engine, until a leader emerged (at most three times as long).
    const calmSpan = cfg.ttlMs + cfg.maxClockSkewMs + cfg.pollMs * 3;
    while (realNow() < calmFrom + calmSpan || (firstLeaderInCalm === null && realNow() < calmFrom + 3 * calmSpan)) {
      const [crashes, downtime] = [streams.crash(), streams.crash()];
      // Faults are re-checked at the moment each one would start, never from a flag sampled earlier.
      if (index > 0 && faultsOn && crashes < cfg.pCrash) {
        report.faults.crash++;
        await faultSleep(cfg.ttlMs * (0.5 + downtime)); // crashed: no release; restarts as a new incarnation
        holder = `c${index}.${++incarnation}`;
        continue;
      }
      firstSend = Number.POSITIVE_INFINITY;
      report.calls++;
      let lead: Awaited<ReturnType<typeof tryLead>>;
      const callStarted = realNow();
      try {
        const warm = cfg.renewBelow !== undefined && index % 2 === 0 ? { renewBelow: cfg.renewBelow } : {};
        lead = await tryLead(store, { name, holder, ttlMs: cfg.ttlMs, maxClockSkewMs: cfg.maxClockSkewMs, clock, ...warm });
        checkBound(holder, 'tryLead', callStarted, Math.min(cfg.ttlMs - cfg.maxClockSkewMs, timeoutMs));
      } catch (error) {
        checkBound(holder, 'tryLead', callStarted, Math.min(cfg.ttlMs - cfg.maxClockSkewMs, timeoutMs));
        attempts.push({ holder, end: realNow() });
        if (!isLeaseholdError(error, 'STORE_UNAVAILABLE')) report.violations.push({ kind: 'unexpected-error', detail: String(error) });
        report.storeErrors++;
        await pollSleep(cfg.pollMs * streams.poll());
        continue;
      }
      const arrived = realNow();
      if (lead.fromMemory) {
        // No request: the window is the one this holder won earlier, and may not reach past it.
        report.warmAnswers++;
        const remaining = lead.remainingMs();
        const won = windows.filter((w) => w.holder === holder).at(-1);
        if (!won || remaining <= 0 || arrived + remaining > (won.latestEnd ?? won.end) + MARGIN_MS) {
          report.violations.push({
            kind: 'validity',
            detail: `${holder} was answered from memory with validity to ${(arrived + remaining).toFixed(1)}, beyond the window it won (${won ? `to ${won.end.toFixed(1)}` : 'none'})`,
          });
        }
      } else attempts.push({ holder, end: arrived });
      if (lead.isLeader) {
        // An answer that arrives after validity ran out is leadership with an empty window: nothing to act on.
        const remaining = lead.remainingMs();
        const end = arrived + remaining;
        const latestEnd = realNow() + remaining;
        const ownBound = lead.fromMemory ? Number.POSITIVE_INFINITY : firstSend + cfg.ttlMs - cfg.maxClockSkewMs;
        if (remaining > 0 && end > ownBound + 0.5) {
          report.violations.push({
            kind: 'validity',
            detail: `${holder} reported validity to ${end.toFixed(1)} beyond send + ttl - skew = ${ownBound.toFixed(1)} (first send ${firstSend.toFixed(1)}, arrived ${arrived.toFixed(1)})`,
          });
        }
        if (!lead.fromMemory) windows.push({ holder, token: lead.token, send: firstSend, start: arrived, end, latestEnd });
        report.leaderships++;
        if (remaining <= 0) report.staleLeaderships++;
        if (arrived >= calmFrom && remaining > 0 && firstLeaderInCalm === null) firstLeaderInCalm = arrived;
        // Act as leader a few times, pausing sometimes for longer than the lease, and checking before each act.
        for (let step = 0; step < 3; step++) {
          const [pauses, length, gap] = [streams.act(), streams.act(), streams.act()];
          if (faultsOn && pauses < cfg.pPause) {
            report.faults.pause++;
            await faultSleep(cfg.ttlMs * (1 + length));
          } else {
            await sleep((cfg.ttlMs / 10) * gap);
          }
          if (!lead.stillLeader()) break;
          const at = realNow();
          report.acts++;
          if (at > end)
            report.violations.push({ kind: 'act-after-validity', detail: `${holder} acted at ${at.toFixed(1)} after its validity ended at ${end.toFixed(1)}` });
          const other = windows.find((w) => w.holder !== holder && w.start <= at && at < w.end);
          if (other) {
            report.violations.push({
              kind: 'overlap',
              detail: `${holder} (token ${lead.token}) acted at ${at.toFixed(1)} inside ${other.holder}'s window (token ${other.token})`,
            });
          }
        }
        if (streams.release() < 0.2) {
          // Releasing ends this holder's leadership when the release is sent, whatever its answer.
          const releasedAt = realNow();
          for (const w of windows) {
            if (w.holder !== holder) continue;
            w.end = Math.min(w.end, releasedAt);
            w.latestEnd = Math.min(w.latestEnd ?? w.end, releasedAt);
          }
          try {
            const released = await release(store, { name, holder, clock });
            releases.push({ holder, at: releasedAt, outcome: released ? 'released' : 'not-held' });
          } catch {
            releases.push({ holder, at: releasedAt, outcome: 'unknown' });
            report.storeErrors++;
          }
          checkBound(holder, 'release', releasedAt, timeoutMs);
        }
      } else {
        await pollSleep(cfg.pollMs * (0.5 + streams.poll()));
      }
    }
  }

  const runners = Array.from({ length: cfg.contenders }, (_, i) => contender(i));
  await sleep(cfg.faultPhaseMs);
  faultsOn = false;
  calmFrom = realNow();
  endCalm();
  try {
    await Promise.all(runners);
    await Promise.all(deliveries);
  } finally {
    clearInterval(ticker);
  }

  const bound = livenessBoundMs(cfg, { slowestCallMs: report.calmSlowestCallMs, timerLatenessMs: report.calmTimerLatenessMs });
  report.livenessBoundMs = bound;
  const derivation = `ttl ${cfg.ttlMs} + skew ${cfg.maxClockSkewMs} + 1.5 × poll ${cfg.pollMs} + 2 × slowest call after faults stopped ${report.calmSlowestCallMs.toFixed(0)} + worst timer lateness then ${report.calmTimerLatenessMs.toFixed(0)} + 50`;
  if (firstLeaderInCalm === null) {
    report.violations.push({
      kind: 'liveness',
      detail: `no leader with a usable window emerged after faults stopped (bound ${bound.toFixed(0)} ms = ${derivation})`,
    });
  } else {
    report.livenessMs = firstLeaderInCalm - calmFrom;
    if (report.livenessMs > bound) {
      report.violations.push({
        kind: 'liveness',
        detail: `first leader ${report.livenessMs.toFixed(0)} ms after faults stopped, bound ${bound.toFixed(0)} ms = ${derivation}`,
      });
    }
  }
  const checked = checkWindows(windows, attempts, releases, cfg, clockSource);
  report.violations.push(...checked.violations);
  report.changesOfHolder = checked.changesOfHolder;
  report.newTermsOfSameHolder = checked.newTermsOfSameHolder;
  report.renewals = checked.renewals;
  return report;
}
