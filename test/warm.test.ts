/**
 * Answers from memory for a warm holder (`renewBelow`): at most a few writes per thousand hot-loop calls, and a
 * warm answer exactly as safe as a fresh one: validity re-checked on both clocks, cleared by a release, a failed
 * renewal, a takeover seen by the process or an Elector of the same name; followers never answered from memory.
 * On the memory store with an injected clock, and the write count on real PostgreSQL.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { Elector } from '../src/elector.js';
import { getLeader, release, tryLead } from '../src/lead.js';
import { MemoryStore } from '../src/stores/memory.js';
import { PostgresStore } from '../src/stores/postgres/index.js';
import { withFaults } from '../src/testing/faults.js';

const TTL = 15_000;
const SKEW = 1_000;
const WINDOW = TTL - SKEW;

function setup() {
  const clock = new ManualClock();
  const store = withFaults(new MemoryStore({ clock }));
  const writes = () => store.calls.claim + store.calls.create + store.calls.replace;
  const opts = (holder: string, extra: object = {}) => ({ name: 'hot', holder, ttlMs: TTL, maxClockSkewMs: SKEW, clock, renewBelow: 0.5, ...extra });
  return { clock, store, writes, opts };
}

describe('a warm holder answered from memory (renewBelow)', () => {
  it('1 000 hot-loop calls over 10 s cost 2 writes: the claim, and one renewal once half the window was spent', async () => {
    const { clock, store, writes, opts } = setup();
    let fromMemory = 0;
    for (let i = 0; i < 1_000; i++) {
      const lead = await tryLead(store, opts('a'));
      expect(lead.isLeader).toBe(true);
      expect(lead.remainingMs()).toBeGreaterThan(WINDOW * 0.5);
      if (lead.fromMemory) fromMemory++;
      clock.advance(10);
    }
    expect(writes()).toBe(2);
    expect(fromMemory).toBe(998);
    // Without renewBelow, every call writes.
    const before = writes();
    for (let i = 0; i < 10; i++) expect((await tryLead(store, opts('a', { renewBelow: undefined }))).fromMemory).toBeUndefined();
    expect(writes() - before).toBe(10);
  });

  it('validity is re-checked on both clocks: a frozen holder (wall clock ran on) renews instead of answering from memory', async () => {
    const { clock, store, writes, opts } = setup();
    const first = await tryLead(store, opts('a'));
    clock.jumpWall(WINDOW); // frozen: the monotonic clock stood still, real time went on
    expect(first.stillLeader()).toBe(false);
    const next = await tryLead(store, opts('a'));
    expect(next.fromMemory).toBeUndefined();
    expect(writes()).toBe(2);
    expect(next.stillLeader()).toBe(true);
    clock.pause(WINDOW); // a stopped process: both clocks ran on
    expect((await tryLead(store, opts('a'))).fromMemory).toBeUndefined();
  });

  it('a release, a failed renewal, a takeover seen by the process, or an Elector of the same name clears it', async () => {
    const { clock, store, writes, opts } = setup();
    // Release.
    const lead = await tryLead(store, opts('a'));
    expect((await tryLead(store, opts('a'))).fromMemory).toBe(true);
    await release(store, { name: 'hot', holder: 'a', clock });
    expect(lead.stillLeader()).toBe(false);
    expect((await tryLead(store, opts('a'))).fromMemory).toBeUndefined();
    // A failed renewal (below the share, the store unreachable): nothing from memory until a fresh answer.
    clock.advance(WINDOW * 0.6);
    store.failAll(true);
    await expect(tryLead(store, opts('a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.failAll(false);
    let before = writes();
    expect((await tryLead(store, opts('a'))).fromMemory).toBeUndefined();
    expect(writes() - before).toBe(1);
    // A takeover seen by this process (getLeader finds another holder after the lease lapsed and was taken).
    clock.advance(TTL + 1);
    await tryLead(store, { ...opts('b'), renewBelow: undefined });
    expect(await getLeader(store, 'hot', { clock })).toMatchObject({ holder: 'b' });
    const afterTakeover = await tryLead(store, opts('a'));
    expect(afterTakeover).toMatchObject({ isLeader: false, leader: 'b' });
    expect(afterTakeover.fromMemory).toBeUndefined();
    // An Elector of the same name: its fresh answers replace the warm entry.
    await release(store, { name: 'hot', holder: 'b', clock });
    await tryLead(store, opts('a'));
    expect((await tryLead(store, opts('a'))).fromMemory).toBe(true);
    await release(store, { name: 'hot', holder: 'a', clock });
    const elector = new Elector(store, { name: 'hot', holder: 'e', ttlMs: TTL, maxClockSkewMs: SKEW, clock });
    elector.start();
    await clock.tick(20);
    expect(elector.isLeader()).toBe(true);
    before = writes();
    const warmA = await tryLead(store, opts('a'));
    expect(warmA).toMatchObject({ isLeader: false, leader: 'e' });
    expect(writes() - before).toBe(1);
    await elector.stop();
  });

  it('followers are never answered from memory, and a different payload or lease length writes', async () => {
    const { store, writes, opts } = setup();
    await tryLead(store, opts('a', { data: 'v1' }));
    let before = writes();
    for (let i = 0; i < 5; i++) expect((await tryLead(store, opts('b'))).fromMemory).toBeUndefined();
    expect(writes() - before).toBe(5);
    before = writes();
    expect((await tryLead(store, opts('a', { data: 'v2' }))).fromMemory).toBeUndefined();
    expect((await tryLead(store, opts('a', { data: 'v2', ttlMs: 20_000 }))).fromMemory).toBeUndefined();
    expect((await tryLead(store, opts('a', { data: 'v2', ttlMs: 20_000 }))).fromMemory).toBe(true);
    expect(writes() - before).toBe(2);
  });

  it('refuses a share outside (0, 1) before any I/O', async () => {
    const { store, opts } = setup();
    for (const renewBelow of [0, 1, -0.5, 2, Number.NaN, '0.5', 1n]) {
      await expect(tryLead(store, opts('a', { renewBelow }) as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    }
    expect(store.calls).toEqual({ read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 });
  });
});

describe('a warm holder on real PostgreSQL', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
  const table = `leases_warm_${process.pid}`;
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  it('1 000 consecutive calls by the holder send 1 statement (renewBelow 0.5), against 1 000 without it', async () => {
    let statements = 0;
    const counted = {
      query: (text: string, values?: unknown[]) => {
        statements++;
        return pool.query(text, values);
      },
    };
    const store = new PostgresStore({ pool: counted, table });
    await store.migrate();
    statements = 0;
    for (let i = 0; i < 1_000; i++) expect((await tryLead(store, { name: 'hot', holder: 'a', ttlMs: 60_000, renewBelow: 0.5 })).isLeader).toBe(true);
    const warm = statements;
    statements = 0;
    for (let i = 0; i < 1_000; i++) await tryLead(store, { name: 'hot', holder: 'a', ttlMs: 60_000 });
    console.info(`[leasehold] postgres, 1 000 hot-loop calls by the holder: ${warm} statement(s) with renewBelow 0.5, ${statements} without`);
    expect(warm).toBe(1);
    expect(statements).toBe(1_000);
  });
});
