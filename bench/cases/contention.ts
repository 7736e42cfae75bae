/**
 * Contention: workers call `tryLead()` in a loop for a fixed time (each worker a contender with its own holder id),
 * against the raw conditional write with the same concurrency and names, the two alternating in slices.
 */
import type { Store } from '../../src/index.js';
import { lead, say } from '../harness.js';
import { throughput } from '../measure.js';
import { SCALE } from '../settings.js';

/** Runs the contention cases on `store` against `floor`; returns their rows of the contention table. */
export async function contention(title: string, store: Store, floor: (name: string, holder: string) => Promise<unknown>): Promise<string[]> {
  const contentionRows: string[] = [];
  const ms = Math.ceil(1200 * SCALE);
  say(`\n${title}: contention, ${ms} ms per case`);
  const stamp = Date.now().toString(36);
  for (const [label, workers, names] of [
    ['1 contender, 1 name', 1, 1],
    ['16 contenders, 1 name', 16, 1],
    ['64 contenders, 1 name', 64, 1],
    ['64 workers over 1 000 names', 64, 1000],
  ] as const) {
    const nameOf = (w: number, i: number) => `c-${stamp}-${names}-${names === 1 ? 0 : (w * 16 + i) % names}`;
    // Floor and leasehold alternate in four slices each, so drift on a shared machine hits both alike.
    const slices = 4;
    const f = { calls: 0, requests: 0 };
    const l = { calls: 0, requests: 0 };
    let leaders = 0;
    let attempts = 0;
    for (let k = 0; k < slices; k++) {
      const fs = await throughput(workers, ms / slices, (w, i) => floor(`floor-${nameOf(w, i)}`, `w${w}`));
      const ls = await throughput(workers, ms / slices, async (w, i) => {
        attempts++;
        if ((await lead(store, nameOf(w, i), `w${w}`)).isLeader) leaders++;
      });
      f.calls += fs.calls / slices;
      f.requests += fs.requests / slices;
      l.calls += ls.calls / slices;
      l.requests += ls.requests / slices;
    }
    const line = `| ${title} | ${label} | ${(l.calls / f.calls).toFixed(2)} | ${(l.requests / l.calls).toFixed(2)} | ${(l.requests / f.requests).toFixed(2)} | ${((leaders / attempts) * 100).toFixed(0)} % |`;
    contentionRows.push(line);
    say(`  ${label.padEnd(30)} claims/s ÷ floor ${(l.calls / f.calls).toFixed(2)}, requests per claim ${(l.requests / l.calls).toFixed(2)}`);
  }
  return contentionRows;
}
