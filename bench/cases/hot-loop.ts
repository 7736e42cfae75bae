/**
 * A hot loop (every SQS batch, every request of a warm Lambda): 1 000 consecutive calls by the holder, on the real
 * clock, with and without answers from memory (`renewBelow: 0.5`); writes counted, time per call against the floor.
 */
import type { Store } from '../../src/index.js';
import { lib, say } from '../harness.js';
import { requests } from '../measure.js';

const { tryLead } = lib;

/** Runs the hot loop on `store`; returns its row of the hot-loop table. */
export async function hotLoop(title: string, store: Store, floorMs: number): Promise<string> {
  const run = async (renewBelow: number | undefined) => {
    const name = `hot-${renewBelow ?? 'off'}-${Date.now()}`;
    const n0 = requests.n;
    const t0 = performance.now();
    for (let i = 0; i < 1_000; i++) await tryLead(store, { name, holder: 'hot', ttlMs: 15_000, ...(renewBelow ? { renewBelow } : {}) });
    return { writes: requests.n - n0, perCall: (performance.now() - t0) / 1_000 };
  };
  const warm = await run(0.5);
  const cold = await run(undefined);
  say(`  hot loop, ${title}: ${warm.writes} requests per 1 000 calls with renewBelow 0.5, ${cold.writes} without`);
  return `| ${title} | ${warm.writes} | ${(warm.perCall / floorMs).toFixed(3)} | ${cold.writes} | ${(cold.perCall / floorMs).toFixed(2)} |`;
}
