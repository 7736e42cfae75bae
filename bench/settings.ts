/**
 * The bench's settings, read from the environment and the command line once: how many rounds (BENCH_ROUNDS,
 * BENCH_AB_ROUNDS, BENCH_AB_WARMUP), which A/B row alone (`--ab <row>`, BENCH_AB), and how quiet the machine should be
 * first (BENCH_MAX_LOAD, BENCH_LOAD_WAITS). Also the run's clock for "took … s".
 */
import { loadavg } from 'node:os';
import { say } from './harness.js';

/** BENCH_ROUNDS: scales every sample count (default 1). */
export const SCALE = Number(process.env.BENCH_ROUNDS ?? 1);
const began = performance.now();
/** Seconds since the bench started, as `12 s`. */
export const elapsed = () => `${((performance.now() - began) / 1000).toFixed(0)} s`;

/** Measured rounds of an A/B row (BENCH_AB_ROUNDS, default 1 500 × BENCH_ROUNDS). */
export const AB_ROUNDS = Math.ceil(Number(process.env.BENCH_AB_ROUNDS ?? 1500 * SCALE));
/** Warm-up rounds of an A/B row (BENCH_AB_WARMUP, default 200 × BENCH_ROUNDS). */
export const AB_WARMUP = Math.ceil(Number(process.env.BENCH_AB_WARMUP ?? 200 * SCALE));
/** The load average above which the bench waits for a quieter machine (BENCH_MAX_LOAD, default 1.2). */
export const MAX_LOAD = process.env.BENCH_MAX_LOAD ?? 1.2;

/** `--ab <row>` or BENCH_AB: rerun that one A/B row only (BENCHMARKS.md is left as it is). */
export function abOnly(): string | undefined {
  const at = process.argv.indexOf('--ab');
  if (at >= 0) return process.argv[at + 1] ?? '';
  const inline = process.argv.find((a) => a.startsWith('--ab='));
  return inline !== undefined ? inline.slice('--ab='.length) : process.env.BENCH_AB;
}

/**
 * A benchmark wants a quiet machine: while the 1-minute load average is above BENCH_MAX_LOAD (default 1.2), wait a
 * minute, up to BENCH_LOAD_WAITS times (default 5), then measure anyway. The load is reported with the figures.
 */
export async function waitForQuiet(): Promise<string> {
  const max = Number(MAX_LOAD);
  const waits = Number(process.env.BENCH_LOAD_WAITS ?? 5);
  const load = () => loadavg()[0] ?? 0;
  for (let i = 0; i < waits && load() > max; i++) {
    say(`load average ${load().toFixed(2)} is above ${max}: waiting a minute for a quieter machine (${i + 1}/${waits})`);
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  }
  return load().toFixed(2);
}
