/**
 * This process's memory of each lease (src/lease-memory.ts), alone: one memory per store identity, versions seen and
 * warm answers bounded oldest-first, holdings swept of run-out entries, and a give-up that ends a holder's results.
 * Pure: no engine, no clock.
 */
import { describe, expect, it } from 'vitest';
import { leaseMemory } from '../../src/lease-memory.js';
import type { Result } from '../../src/result.js';
import type { LeaseRecord } from '../../src/store.js';

const record = (version: string): LeaseRecord => ({ name: 'n', holder: 'h', token: 1, acquiredAt: 0, expiresAt: 1, version, data: null });
const warm = (holder: string) => ({ holder, ttlMs: 1_000, maxClockSkewMs: 0, data: null, result: {} as Result });

describe('leaseMemory', () => {
  it('is one object per identity', () => {
    const identity = {};
    expect(leaseMemory(identity)).toBe(leaseMemory(identity));
    expect(leaseMemory({})).not.toBe(leaseMemory(identity));
  });

  it('remembers the version each holder last saw, forgets it on null, and keeps at most 1 024 (oldest first)', () => {
    const memory = leaseMemory({});
    memory.rememberVersion('n', 'h', record('v1'));
    memory.rememberVersion('n', 'other', record('v2'));
    expect(memory.seenVersion('n', 'h')).toBe('v1');
    memory.rememberVersion('n', 'h', null);
    expect(memory.seenVersion('n', 'h')).toBeUndefined();
    expect(memory.seenVersion('n', 'other')).toBe('v2');
    for (let i = 0; i < 1_024; i++) memory.rememberVersion(`name-${i}`, 'h', record(`v-${i}`));
    expect(memory.seenVersion('n', 'other')).toBeUndefined();
    expect(memory.seenVersion('name-0', 'h')).toBe('v-0');
    expect(memory.seenVersion('name-1023', 'h')).toBe('v-1023');
  });

  it('keeps warm answers newest-last, at most 1 024, and forgets one on undefined', () => {
    const memory = leaseMemory({});
    memory.setWarm('a', warm('h'));
    for (let i = 0; i < 1_023; i++) memory.setWarm(`w-${i}`, warm('h'));
    memory.setWarm('a', warm('h2')); // refreshed: now the newest
    memory.setWarm('one-more', warm('h'));
    expect(memory.warmEntry('a')?.holder).toBe('h2');
    expect(memory.hasWarm('w-0')).toBe(false);
    memory.setWarm('a', undefined);
    expect(memory.hasWarm('a')).toBe(false);
  });

  it('gives a holding per name and holder until given up; giving up ends its generation, runs its aborts and forgets the warm answer', () => {
    const memory = leaseMemory({});
    const h = memory.holding('n', 'h', 100, 0);
    expect(memory.holding('n', 'h', 200, 0)).toBe(h);
    expect(h.untilWall).toBe(200);
    const generation = h.generation;
    let aborted = 0;
    h.aborts.add(() => aborted++);
    memory.setWarm('n', warm('h'));
    memory.givingUp('n', 'h');
    expect(h.generation).not.toBe(generation);
    expect(aborted).toBe(1);
    expect(h.aborts.size).toBe(0);
    expect(memory.hasWarm('n')).toBe(false);
    expect(memory.holding('n', 'h', 100, 0)).not.toBe(h);
  });

  it('sweeps holdings whose results have all run out once 64 are held', () => {
    const memory = leaseMemory({});
    const live = memory.holding('live', 'h', 10, 0);
    live.aborts.add(() => {}); // a signal still handed out: kept
    const first = memory.holding('old', 'h', 10, 0);
    for (let i = 0; i < 62; i++) memory.holding(`n-${i}`, 'h', 10, 0);
    memory.holding('later', 'h', 1_000, 50); // past 64: the run-out entries without signals go
    expect(memory.holding('old', 'h', 1_000, 50)).not.toBe(first);
    expect(memory.holding('live', 'h', 1_000, 50)).toBe(live);
  });
});
