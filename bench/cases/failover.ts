/**
 * Failover: two Electors on the real clock; the leader crashes (stops renewing, says nothing) or releases, and the
 * time until the other is elected is divided by its bound (DESIGN.md: ttl + skew + poll after a crash, the next poll
 * after a release).
 */
import type { Store } from '../../src/index.js';
import { lib, say } from '../harness.js';

const { Elector } = lib;

/** Crash and graceful handover with two Electors on the real clock: time to the new leader ÷ its bound. */
export async function failover(title: string, store: Store, skewMs: number): Promise<string[]> {
  const failoverRows: string[] = [];
  const ttlMs = 900;
  const retryEveryMs = 100;
  const maxClockSkewMs = Math.max(skewMs, 100);
  const trials = 3;
  say(`\n${title}: failover, ${trials} crashes and ${trials} graceful releases (ttl ${ttlMs} ms, skew ${maxClockSkewMs} ms, poll ${retryEveryMs} ms)`);
  const results: Record<'crash' | 'graceful', number[]> = { crash: [], graceful: [] };
  for (let t = 0; t < trials * 2; t++) {
    const how = t % 2 === 0 ? 'crash' : 'graceful';
    const name = `failover-${Date.now().toString(36)}-${t}`;
    const opts = { name, ttlMs, maxClockSkewMs, retryEveryMs, renewEveryMs: 250 };
    const a = new Elector(store, { ...opts, holder: 'a' });
    const elected = new Promise<void>((resolve) => a.on((e) => e.type === 'elected' && resolve()));
    a.start();
    await elected;
    const b = new Elector(store, { ...opts, holder: 'b' });
    const bElected = new Promise<number>((resolve) => b.on((e) => e.type === 'elected' && resolve(performance.now())));
    b.start();
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 200));
    const at = performance.now();
    // A crash: the leader stops renewing and says nothing. A graceful stop releases the lease.
    await a.stop({ release: how === 'graceful' });
    const took = (await bElected) - at;
    await b.stop();
    results[how].push(took);
  }
  const bound = { crash: ttlMs + (store.clockSource === 'client' ? maxClockSkewMs : 0) + retryEveryMs, graceful: retryEveryMs };
  for (const how of ['crash', 'graceful'] as const) {
    const worst = Math.max(...results[how]);
    const median = [...results[how]].sort((x, y) => x - y)[1] ?? worst;
    failoverRows.push(
      `| ${title} | ${how === 'crash' ? 'crash (no release)' : 'graceful release'} | ${how === 'crash' ? 'ttl + skew + poll' : 'poll'} | ${(median / bound[how]).toFixed(2)} | ${(worst / bound[how]).toFixed(2)} |`,
    );
    say(`  ${how.padEnd(9)} median ÷ bound ${(median / bound[how]).toFixed(2)}, worst ÷ bound ${(worst / bound[how]).toFixed(2)}`);
  }
  return failoverRows;
}
