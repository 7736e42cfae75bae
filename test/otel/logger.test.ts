/**
 * `leasehold/logger` with the loggers people pass as they are: `console` (captured), a real pino instance writing to a
 * stream, and the AWS Lambda Powertools logger writing to stdout (captured). Real stores underneath (memory, Postgres).
 */
import { Writable } from 'node:stream';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError, LeaseholdError } from '../../src/errors.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { type LeaseholdLogger, withLogger } from '../../src/logger/index.js';
import { instrument } from '../../src/otel/index.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { withFaults } from '../../src/testing/index.js';

const SECRET = 'lease-data-must-not-leak-91c2';
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

/** One run through a store: a gains, b is refused, a releases, then a store outage. */
async function scenario(store: Store, faulty: ReturnType<typeof withFaults>, clock: ManualClock, name: string): Promise<void> {
  const opts = (holder: string) => ({ name, holder, ttlMs: 10_000, clock, data: SECRET });
  expect((await tryLead(store, opts('a'))).isLeader).toBe(true);
  expect((await tryLead(store, opts('b'))).isLeader).toBe(false);
  expect(await release(store, { name, holder: 'a', clock })).toBe(true);
  faulty.failAll(true);
  await expect(getLeader(store, name, { clock })).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
  faulty.failAll(false);
}

afterEach(() => vi.restoreAllMocks());

describe('console, as it is (message first)', () => {
  it('info on leadership changes, warn on a failed call; fields as an object after the message; no data', async () => {
    const lines: [string, unknown[]][] = [];
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push([level, args]);
      });
    }
    const clock = new ManualClock();
    const faulty = withFaults(new MemoryStore({ clock }));
    const name = unique('log-console');
    await scenario(withLogger(faulty, console, { clock }), faulty, clock, name);
    expect(lines).toEqual([
      ['info', [`leasehold: leadership of ${name} gained`, { lease: name, storeKind: 'memory', holder: 'a', token: 1, outcome: 'gained' }]],
      [
        'info',
        [`leasehold: leadership of ${name} lost (released)`, { lease: name, storeKind: 'memory', holder: 'a', token: 1, outcome: 'lost', reason: 'released' }],
      ],
      [
        'warn',
        [
          'leasehold: memory read failed (untyped); not leader on this call',
          {
            lease: name,
            storeKind: 'memory',
            outcome: 'error',
            operation: 'read',
            intent: 'read',
            roundTrip: 1,
            durationMs: 0,
            errorCode: 'untyped',
            errorName: 'Error',
          },
        ],
      ],
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it("level 'debug' adds one line per store call; 'warn' keeps only failures", async () => {
    const lines: [string, unknown[]][] = [];
    const capture =
      (level: string) =>
      (...args: unknown[]) =>
        void lines.push([level, args]);
    for (const level of ['debug', 'info', 'warn', 'error'] as const) vi.spyOn(console, level).mockImplementation(capture(level));
    const clock = new ManualClock();
    const faulty = withFaults(new MemoryStore({ clock }));
    const name = unique('log-debug');
    await scenario(withLogger(faulty, console, { clock, level: 'debug' }), faulty, clock, name);
    expect(lines.map(([level, [message]]) => [level, message])).toEqual([
      ['info', `leasehold: leadership of ${name} gained`],
      ['debug', 'leasehold: memory claim won'],
      ['debug', 'leasehold: memory claim lost'],
      ['info', `leasehold: leadership of ${name} lost (released)`],
      ['debug', 'leasehold: memory releaseHolder released'],
      ['warn', 'leasehold: memory read failed (untyped); not leader on this call'],
    ]);
    expect(lines[2]?.[1][1]).toMatchObject({ lease: name, holder: 'b', leader: 'a', token: 1, outcome: 'lost', operation: 'claim', roundTrip: 1 });
    expect(JSON.stringify(lines)).not.toContain(SECRET);

    lines.length = 0;
    const quiet = withFaults(new MemoryStore({ clock }));
    await scenario(withLogger(quiet, console, { clock, level: 'warn' }), quiet, clock, unique('log-warn'));
    expect(lines.map(([level]) => level)).toEqual(['warn']);
  });

  it('silent by default: nothing is logged unless a logger is given', async () => {
    const calls: unknown[] = [];
    for (const level of ['debug', 'info', 'warn', 'error', 'log'] as const) vi.spyOn(console, level).mockImplementation((...a) => void calls.push(a));
    const clock = new ManualClock();
    const faulty = withFaults(new MemoryStore({ clock }));
    await scenario(faulty, faulty, clock, unique('log-silent'));
    const traced = withFaults(new MemoryStore({ clock }));
    await scenario(instrument(traced, { clock, tracer: null, meter: null }), traced, clock, unique('log-silent-otel'));
    expect(calls).toEqual([]);
  });
});

describe('pino, as it is (fields first, detected)', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
  const table = `leases_log_${process.pid}`;
  const raw = new PostgresStore({ pool, table });
  beforeAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await raw.migrate();
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  it('a real pino logger over Postgres: JSON lines with the fields at the top level and the message as msg', async () => {
    const out: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        out.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: 'debug', name: 'my-service' }, stream);
    const clock = new ManualClock();
    const faulty = withFaults(raw);
    const name = unique('log-pino');
    await scenario(withLogger(faulty, logger, { clock, level: 'debug' }), faulty, clock, name);
    const lines = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, `leasehold: leadership of ${name} gained`],
      [20, 'leasehold: postgres claim won'],
      [20, 'leasehold: postgres claim lost'],
      [30, `leasehold: leadership of ${name} lost (released)`],
      [20, 'leasehold: postgres releaseHolder released'],
      [40, 'leasehold: postgres read failed (untyped); not leader on this call'],
    ]);
    // The logger's own name stays its own: the election name is `lease`.
    expect(lines[0]).toMatchObject({ name: 'my-service', lease: name, holder: 'a', token: 1, storeKind: 'postgres', outcome: 'gained' });
    expect(lines[1]).toMatchObject({ lease: name, holder: 'a', leader: 'a', outcome: 'won', operation: 'claim', intent: 'claim', roundTrip: 1 });
    expect(typeof lines[1]?.durationMs).toBe('number');
    expect(lines[5]).toMatchObject({ errorCode: 'untyped', errorName: 'Error', outcome: 'error', operation: 'read' });
    expect(out.join('\n')).not.toContain(SECRET);
  });

  it('a pino child logger is detected too; its level filters what it prints', async () => {
    const out: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        out.push(String(chunk));
        done();
      },
    });
    const child = pino({ level: 'info' }, stream).child({ component: 'scheduler' });
    const clock = new ManualClock();
    const name = unique('log-pino-child');
    await tryLead(withLogger(new MemoryStore({ clock }), child, { clock, level: 'debug' }), { name, holder: 'a', clock });
    const lines = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ component: 'scheduler', msg: `leasehold: leadership of ${name} gained`, lease: name })]);
  });
});

describe('AWS Lambda Powertools logger, as it is (message first)', () => {
  it('JSON lines with the message and the fields as top-level keys', async () => {
    const logger = new PowertoolsLogger({ serviceName: 'reports', logLevel: 'DEBUG' });
    // Powertools writes INFO to stdout and WARN/ERROR to stderr.
    const out: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
    }
    const clock = new ManualClock();
    const faulty = withFaults(new MemoryStore({ clock }));
    const name = unique('log-powertools');
    await scenario(withLogger(faulty, logger, { clock }), faulty, clock, name);
    vi.restoreAllMocks();
    const lines = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['INFO', `leasehold: leadership of ${name} gained`],
      ['INFO', `leasehold: leadership of ${name} lost (released)`],
      ['WARN', 'leasehold: memory read failed (untyped); not leader on this call'],
    ]);
    expect(lines[0]).toMatchObject({ service: 'reports', lease: name, holder: 'a', token: 1, storeKind: 'memory', outcome: 'gained' });
    expect(lines[2]).toMatchObject({ errorCode: 'untyped', operation: 'read' });
    expect(out.join('\n')).not.toContain(SECRET);
  });
});

describe('withLogger: options, contract breaks and bad input', () => {
  const capturing = () => {
    const lines: [string, unknown[]][] = [];
    const logger: LeaseholdLogger = {
      debug: (...a: unknown[]) => void lines.push(['debug', a]),
      info: (...a: unknown[]) => void lines.push(['info', a]),
      warn: (...a: unknown[]) => void lines.push(['warn', a]),
      error: (...a: unknown[]) => void lines.push(['error', a]),
    };
    return { lines, logger };
  };

  it("style 'fields-first' puts the object first for any logger (bunyan-like)", async () => {
    const { lines, logger } = capturing();
    const clock = new ManualClock();
    const name = unique('log-style');
    await tryLead(withLogger(new MemoryStore({ clock }), logger, { clock, style: 'fields-first' }), { name, holder: 'a', clock });
    expect(lines).toEqual([
      ['info', [{ lease: name, storeKind: 'memory', holder: 'a', token: 1, outcome: 'gained' }, `leasehold: leadership of ${name} gained`]],
    ]);
  });

  it('a store answer that breaks the contract is logged at error level with its code', async () => {
    const { lines, logger } = capturing();
    const clock = new ManualClock();
    const inner = new MemoryStore({ clock });
    const broken: Store = {
      kind: 'broken',
      clockSource: 'store',
      read: async () => {
        throw new LeaseholdError('STORE_CORRUPT', 'broken store: the read returned no row');
      },
      create: (w) => inner.create(w),
      replace: (v, w) => inner.replace(v, w),
    };
    await expect(getLeader(withLogger(broken, logger, { clock }), 'corrupt', { clock })).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_CORRUPT'));
    expect(lines).toEqual([
      ['error', ['leasehold: broken read broke the lease contract (STORE_CORRUPT)', expect.objectContaining({ errorCode: 'STORE_CORRUPT', lease: 'corrupt' })]],
    ]);
    // Never the message: only the code and the error's name.
    expect(JSON.stringify(lines)).not.toContain('returned no row');
  });

  it('a logger that throws changes no answer', async () => {
    const throwing = {
      debug() {
        throw new Error('logger bug');
      },
      info() {
        throw new Error('logger bug');
      },
      warn() {
        throw new Error('logger bug');
      },
      error() {
        throw new Error('logger bug');
      },
    };
    const clock = new ManualClock();
    const store = withLogger(new MemoryStore({ clock }), throwing, { clock, level: 'debug' });
    const name = unique('log-throws');
    expect((await tryLead(store, { name, holder: 'a', clock })).isLeader).toBe(true);
    expect(await release(store, { name, holder: 'a', clock })).toBe(true);
  });

  it('an async logger whose promises reject is ignored too: no unhandled rejection, at lease expiry either', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let calls = 0;
      const rejecting = async () => {
        calls++;
        throw new Error('log shipper down');
      };
      const logger = { debug: rejecting, info: rejecting, warn: rejecting, error: rejecting };
      const clock = new ManualClock();
      const store = withLogger(new MemoryStore({ clock }), logger, { clock, level: 'debug' });
      const name = unique('log-async');
      expect((await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock })).isLeader).toBe(true);
      // The lease runs out: the tracker's timer logs the loss (3 unhandled rejections per tryLead, before).
      await clock.tick(12_000, 1_000);
      expect((await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock })).isLeader).toBe(true);
      expect(await release(store, { name, holder: 'b', clock })).toBe(true);
      // Unhandled rejections are reported after the microtasks of a turn: let a few turns pass.
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(calls).toBeGreaterThanOrEqual(6);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses a logger without the four methods, a bad style or level, with INVALID_OPTION', () => {
    const store = new MemoryStore();
    const bad = (f: () => unknown, pattern: RegExp) =>
      expect(f).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(pattern) }));
    bad(() => withLogger(store, undefined as never), /logger must have debug, info, warn and error/);
    bad(() => withLogger(store, { info: () => {}, warn: () => {}, error: () => {} } as never), /logger must have/);
    bad(() => withLogger(store, console, { style: 'pino' as never }), /style/);
    bad(() => withLogger(store, console, { level: 'trace' as never }), /level/);
    // An object without a prototype (no toString) is refused with the same typed error, not a TypeError.
    bad(
      () => withLogger(store, console, { level: Object.create(null) }),
      /logger level must be 'debug', 'info', 'warn' or 'error'; got a value of type object/,
    );
    bad(() => withLogger(store, console, { style: Object.create(null) }), /style/);
    bad(() => withLogger(store, console, null as never), /options/);
    expect(() => withLogger({} as Store, console)).toThrow(expect.objectContaining({ code: 'INVALID_STORE' }));
  });
});
