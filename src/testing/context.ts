/**
 * What every case file of the conformance suite shares: what a store's test file gives the suite (the harness),
 * the suite's options, and the per-test context the cases read (the store under test, a fresh name, the callers'
 * options). The cases live in `*-cases.ts` beside this file; `index.ts` runs them in order.
 * @module
 */
import type { ManualClock } from '../clock.js';
import type { Store } from '../store.js';
import { genericOnly } from './faults.js';

/** What a store's test file gives the suite. */
export interface ConformanceHarness {
  /** A store over a real engine. Names used by the suite are unique per test, so one store may serve all tests. */
  store: Store;
  /** The callers' clock. For a store that reads the same clock (MemoryStore), pass that clock here too. */
  clock: ManualClock;
  /**
   * Makes the live lease `name` expire on the judging clock. Needed for stores that judge expiry by the
   * database's clock (e.g. set `expires_at` to the past); client-clock stores may omit it, and the suite
   * advances `clock` past `expiresAt + maxClockSkewMs` instead.
   */
  expire?: (name: string) => Promise<void>;
  /** Called after each test. */
  cleanup?: () => Promise<void>;
}

/** Options of {@link describeStoreConformance}. */
export interface ConformanceOptions {
  /** Concurrent contenders per round in the race test (default 16). */
  contenders?: number;
  /** Rounds of the race test (default 20). */
  rounds?: number;
  /** Names in the many-names test (default 50). */
  names?: number;
  /**
   * Cases this engine cannot judge, each with the reason that is reported in their place (never skipped
   * silently). `race`: the concurrent-contenders case, e.g. for an emulator without compare-and-swap isolation.
   */
  skip?: { race?: string };
  /**
   * How the store takes a handover (`handOver()`): `'reserves'` (default) writes the successor as holder for the
   * window; `'releases'` is for a store that refuses any change of holder on a live lease (the Durable Object, whose
   * guard against requests sent straight to its binding cannot tell a handover from a takeover): the case then checks
   * that `handOver()` releases the lease instead and answers `false`.
   */
  handover?: 'reserves' | 'releases';
}

/** The lease length every case claims with, in ms. */
export const TTL = 10_000;
/** The skew margin every case claims with, in ms. */
export const SKEW = 1_000;
let counter = 0;

/**
 * One run of the suite (one path) as its cases see it. `h`, `store` and `name` are set by `fresh()` at the start of
 * each test; a case reads them after that call.
 */
export interface ConformanceContext {
  /** The options the suite was given. */
  readonly options: ConformanceOptions;
  /** Concurrent contenders per round in the race test. */
  readonly contenders: number;
  /** Rounds of the race test. */
  readonly rounds: number;
  /** Names in the many-names test. */
  readonly nameCount: number;
  /** The harness of the current test. */
  h: ConformanceHarness;
  /** The store under test: the harness's, or its generic-only view on the generic path. */
  store: Store;
  /** A name no other test uses. */
  name: string;
  /** Sets up a test: false when this path does not apply to the store (no fused claim on the fused path). */
  fresh(): Promise<boolean>;
  /** `tryLead` options for `holder` on the current name, with the suite's lease length, skew and clock. */
  opts(holder: string, extra?: object): { name: string; holder: string; ttlMs: number; maxClockSkewMs: number; clock: ManualClock };
  /** Makes the live lease `n` expire on the judging clock. */
  expire(n: string): Promise<void>;
}

/** The context of one path of the suite for the store `setup` makes. */
export function conformanceContext(
  path: 'fused' | 'generic',
  setup: () => ConformanceHarness | Promise<ConformanceHarness>,
  options: ConformanceOptions,
): ConformanceContext {
  const c: ConformanceContext = {
    options,
    contenders: options.contenders ?? 16,
    rounds: options.rounds ?? 20,
    nameCount: options.names ?? 50,
    h: undefined as unknown as ConformanceHarness,
    store: undefined as unknown as Store,
    name: '',
    fresh: async () => {
      c.h = await setup();
      if (path === 'fused' && !c.h.store.claim) return false;
      c.store = path === 'generic' ? genericOnly(c.h.store) : c.h.store;
      c.name = `conf-${path}-${Date.now().toString(36)}-${counter++}`;
      return true;
    },
    opts: (holder, extra = {}) => ({ name: c.name, holder, ttlMs: TTL, maxClockSkewMs: SKEW, clock: c.h.clock, ...extra }),
    expire: async (n) => {
      if (c.h.expire) await c.h.expire(n);
      else c.h.clock.advance(TTL + SKEW + 1);
    },
  };
  return c;
}
