/**
 * The conformance suite's input case: bad input is refused with a typed error before anything is sent.
 * @module
 */
import { expect, it } from 'vitest';
import { isLeaseholdError } from '../errors.js';
import { getLeader, release, tryLead } from '../lead.js';
import type { ConformanceContext } from './context.js';
import { withFaults } from './faults.js';

/** A test case's options in a message (JSON with bigints and functions shown, never throwing). */
function describeCase(options: unknown): string {
  try {
    return JSON.stringify(options, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? `[function]` : v));
  } catch {
    return String(options);
  }
}

/** Defines the input case of one path of the suite. */
export function inputCases(suite: ConformanceContext): void {
  it('refuses bad input with a typed error and writes nothing', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name } = suite;
    const faulty = withFaults(store);
    const bad: [unknown, string][] = [
      [{ name: '', holder: 'a' }, 'INVALID_NAME'],
      [{ name: ' padded', holder: 'a' }, 'INVALID_NAME'],
      [{ name: 'a\u0000b', holder: 'a' }, 'INVALID_NAME'],
      [{ name: 'x'.repeat(129), holder: 'a' }, 'INVALID_NAME'],
      [{ name: 'a/b', holder: 'a' }, 'INVALID_NAME'],
      [{ name: "x'; DROP TABLE t; --", holder: 'a' }, 'INVALID_NAME'],
      [{ name: 42, holder: 'a' }, 'INVALID_NAME'],
      [{ name, holder: '' }, 'INVALID_HOLDER'],
      [{ name, holder: 'has space' }, 'INVALID_HOLDER'],
      [{ name, holder: 'y'.repeat(257) }, 'INVALID_HOLDER'],
      [{ name, holder: null }, 'INVALID_HOLDER'],
      [{ name, holder: 'a', ttlMs: 0 }, 'INVALID_TTL'],
      [{ name, holder: 'a', ttlMs: -5 }, 'INVALID_TTL'],
      [{ name, holder: 'a', ttlMs: Number.NaN }, 'INVALID_TTL'],
      [{ name, holder: 'a', ttlMs: Number.POSITIVE_INFINITY }, 'INVALID_TTL'],
      [{ name, holder: 'a', ttlMs: '1000' }, 'INVALID_TTL'],
      [{ name, holder: 'a', ttlMs: 8 * 24 * 3600 * 1000 }, 'INVALID_TTL'],
      [{ name, holder: 'a', ttlMs: 500, maxClockSkewMs: 1_000 }, 'INVALID_TTL'],
      [{ name, holder: 'a', maxClockSkewMs: -1 }, 'INVALID_OPTION'],
      [{ name, holder: 'a', data: { not: 'a string' } }, 'INVALID_OPTION'],
      [{ name, holder: 'a', data: 'nul\u0000inside' }, 'INVALID_OPTION'],
      [{ name, holder: 'a', data: 'lone \uD800 surrogate' }, 'INVALID_OPTION'],
      [null, 'INVALID_OPTION'],
      // Clocks of the wrong kind: checked, values included, before anything is sent.
      [
        {
          name,
          holder: 'a',
          clock: { ...h.clock, now: () => 'now', monotonic: () => 1, setTimeout: h.clock.setTimeout, clearTimeout: h.clock.clearTimeout },
        },
        'INVALID_OPTION',
      ],
      [{ name, holder: 'a', clock: { now: () => 1n, monotonic: () => 1, setTimeout: () => 0, clearTimeout: () => {} } }, 'INVALID_OPTION'],
      [{ name, holder: 'a', clock: { now: () => Number.NaN, monotonic: () => 1, setTimeout: () => 0, clearTimeout: () => {} } }, 'INVALID_OPTION'],
      [{ name, holder: 'a', clock: { now: () => 1, monotonic: () => undefined, setTimeout: () => 0, clearTimeout: () => {} } }, 'INVALID_OPTION'],
      [{ name, holder: 'a', clock: { now: () => 1, monotonic: () => 1, setTimeout: () => 0 } }, 'INVALID_OPTION'],
      // Write versions that would not come back as written.
      [{ name, holder: 'a', newVersion: () => 'lone \uD800' }, 'INVALID_OPTION'],
      [{ name, holder: 'a', newVersion: () => 'nul\u0000' }, 'INVALID_OPTION'],
      [{ name, holder: 'a', newVersion: () => 'v'.repeat(257) }, 'INVALID_OPTION'],
      [{ name, holder: 'a', newVersion: () => 7 }, 'INVALID_OPTION'],
    ];
    for (const [options, code] of bad) {
      const error = await tryLead(faulty, options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isLeaseholdError(error, code as never), `${describeCase(options)} → ${code}, got ${String(error)}`).toBe(true);
    }
    await expect(release(faulty, { name: '', holder: 'a' })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(getLeader(faulty, 'bad name')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(faulty.calls).toEqual({ read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 });
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
  });
}
