/**
 * `leasehold run`'s kill-grace bound reads the core's renewal interval (options.ts `defaultRenewEveryMs`), not a copy
 * of it: the grace must end before the validity left when a renewal falls due, and the renewal falls due when the
 * core's default says (ttl/3, or half the validity window when the clock-skew margin leaves less).
 */
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../src/cli/commands/run/args.js';
import { checkRenewInterval, defaultRenewEveryMs } from '../../src/options.js';

const base = ['--store', 'memory:', '--name', 'job'];

describe('leasehold run: the kill grace fits the core renewal interval', () => {
  it('the default renewal interval is the one the core uses', () => {
    expect(defaultRenewEveryMs(30_000, 1_000)).toBe(10_000);
    expect(defaultRenewEveryMs(3_000, 2_000)).toBe(500);
    expect(defaultRenewEveryMs(3_000, 2_000, 1_000)).toBe(1_000);
    expect(checkRenewInterval(undefined, 'renewEveryMs', { ttlMs: 3_000, maxClockSkewMs: 2_000 }, { kind: 'memory' })).toBe(500);
  });

  it('the default grace is half the validity left at a renewal, at most 10 s', () => {
    expect(parseRunArgs([...base, '--ttl', '30s', '--', 'true'], {}).killGraceMs).toBe(9_500);
    // ttl 3s, skew 2s: renewal every 0.5 s (half the 1 s window), 0.5 s left then: the grace is 250 ms. A copy of
    // "ttl/3" left no time at all here and refused a lease the core runs.
    expect(parseRunArgs([...base, '--ttl', '3s', '--max-clock-skew', '2s', '--', 'true'], {}).killGraceMs).toBe(250);
  });

  it('a kill grace past the validity left at a renewal is a usage error that names the bound', () => {
    expect(() => parseRunArgs([...base, '--ttl', '3s', '--max-clock-skew', '2s', '--kill-grace', '600ms', '--', 'true'], {})).toThrow(
      /the renewal interval = 500ms/,
    );
  });
});
