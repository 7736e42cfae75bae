/**
 * The safety contract under faults, on every real engine: seeded simulations (see
 * test/support/fault-simulation.ts). Replay a failing seed with FAULT_SEED=<seed> npx vitest run test/faults.test.ts.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../src/store.js';
import { MemoryStore } from '../src/stores/memory.js';
import { PostgresStore } from '../src/stores/postgres.js';
import { type SimulationConfig, type SimulationReport, simulate } from './support/fault-simulation.js';
import { recordFigures } from './support/safety-figures.js';

const BASE: Omit<SimulationConfig, 'seed'> = {
  ttlMs: 300,
  maxClockSkewMs: 60,
  pollMs: 60,
  contenders: 5,
  faultPhaseMs: 2_500,
  pLoseAnswer: 0.15,
  pFailBefore: 0.1,
  pThrottle: 0.05,
  pLatencySpike: 0.1,
  pPause: 0.15,
  pCrash: 0.03,
};

export function seeds(): number[] {
  if (process.env.FAULT_SEED) return [Number(process.env.FAULT_SEED)];
  const base = Number(process.env.FAULT_BASE_SEED ?? Date.now() % 1_000_000);
  return Array.from({ length: Number(process.env.FAULT_RUNS ?? 4) }, (_, i) => base + i);
}

/** Runs the seeds in parallel on distinct names and fails with each failing seed and how to replay it. */
export async function runSimulations(engine: string, store: Store): Promise<SimulationReport[]> {
  const reports = await Promise.all(seeds().map((seed) => simulate(store, `sim-${engine}-${seed}-${Date.now()}`, { ...BASE, seed })));
  recordFigures(engine, 'simulation', reports);
  const failed = reports.filter((r) => r.violations.length > 0);
  const detail = failed.map(
    (r) => `seed ${r.seed} (replay: FAULT_SEED=${r.seed} npx vitest run test/faults.test.ts):\n  ${r.violations.slice(0, 5).join('\n  ')}`,
  );
  expect(detail, 'safety violations').toEqual([]);
  for (const r of reports) {
    expect(r.leaderships, `seed ${r.seed}: someone led`).toBeGreaterThan(0);
    expect(r.faults.loseAnswer + r.faults.failBefore, `seed ${r.seed}: faults were injected`).toBeGreaterThan(0);
  }
  return reports;
}

describe('fault simulation', () => {
  it('memory store (store clock)', async () => {
    await runSimulations('memory', new MemoryStore());
  });

  it('memory store (client clock, skewed clocks)', async () => {
    await runSimulations('memory-client-clock', new MemoryStore({ clockSource: 'client' }));
  });

  describe('postgres', () => {
    const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 10 });
    const table = `leases_faults_${process.pid}`;
    beforeAll(async () => {
      await new PostgresStore({ pool, table }).migrate();
    });
    afterAll(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    });
    it('postgres (fused path)', async () => {
      await runSimulations('postgres', new PostgresStore({ pool, table }));
    });
  });

  it('catches a deliberately broken store that takes over early', async () => {
    // The store reports every lease as ending 200 ms early, so contenders take over live leases.
    const honest = new MemoryStore();
    const broken: Store = {
      kind: 'broken',
      clockSource: 'store',
      read: async (name) => {
        const r = await honest.read(name);
        return r.record ? { ...r, record: { ...r.record, expiresAt: r.record.expiresAt - 200 } } : r;
      },
      create: (w) => honest.create(w),
      replace: (v, w) => honest.replace(v, w),
    };
    const reports = await Promise.all(seeds().map((seed) => simulate(broken, `broken-${seed}`, { ...BASE, seed, pPause: 0.3 })));
    recordFigures('broken-store', 'caught', reports);
    expect(reports.some((r) => r.violations.some((v) => v.startsWith('overlap') || v.includes('inside')))).toBe(true);
  });
});
