/** Shared driver for the fault simulations: seeds (replayable), the default schedule, and the checks. */
import { expect } from 'vitest';
import type { Store } from '../../src/store.js';
import { type SimulationConfig, type SimulationReport, simulate } from './fault-simulation.js';
import { recordFigures } from './safety-figures.js';

export const BASE: Omit<SimulationConfig, 'seed'> = {
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
