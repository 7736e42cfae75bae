/**
 * Bad input, table-driven, across every public entry point: the API, store options and the demo's CLI
 * flags. Each gets a typed error with a stable code, nothing reaches the database, and no option can inject SQL.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Elector } from '../src/elector.js';
import { isLeaseholdError } from '../src/errors.js';
import { getLeader, release, tryLead } from '../src/lead.js';
import { MemoryStore } from '../src/stores/memory.js';
import { PostgresStore } from '../src/stores/postgres.js';

const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
const table = `leases_badinput_${process.pid}`;
let queries = 0;
const counted = {
  query: (text: string, values?: unknown[]) => {
    queries++;
    return pool.query(text, values);
  },
};
const store = new PostgresStore({ pool: counted, table });

beforeAll(async () => {
  await store.migrate();
  await tryLead(store, { name: 'existing', holder: 'keeper', ttlMs: 60_000 });
});
afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
});

const badNames: [string, unknown][] = [
  ['empty', ''],
  ['leading space', ' job'],
  ['trailing space', 'job '],
  ['inner space', 'nightly job'],
  ['tab', 'job\tx'],
  ['newline', 'job\nx'],
  ['NUL', 'job\u0000x'],
  ['escape', 'job\u001bx'],
  ['DEL', 'job\u007fx'],
  ['129 chars', 'j'.repeat(129)],
  ['10 000 chars', 'j'.repeat(10_000)],
  ['unicode letter', 'café'],
  ['emoji', 'job🔥'],
  ['right-to-left override', 'job\u202ex'],
  ['slash (Firestore path)', 'a/b'],
  ['dot-dot', '..'],
  ['leading underscore (Firestore reserved __x__)', '__name__'],
  ['SQL quote', "job'; DROP TABLE leases; --"],
  ['SQL comment', 'job--x'.replace('-', ' ')],
  ['double quote', 'job"x'],
  ['number', 42],
  ['null', null],
  ['undefined', undefined],
  ['object', { toString: () => 'job' }],
  ['array', ['job']],
];
const badHolders: [string, unknown][] = [
  ['empty', ''],
  ['space', 'host 1'],
  ['NUL', 'h\u0000'],
  ['newline', 'h\n'],
  ['unicode', 'hôst'],
  ['257 chars', 'h'.repeat(257)],
  ['number', 7],
  ['null', null],
  ['boolean', true],
];
const badTtls: [string, unknown][] = [
  ['zero', 0],
  ['negative', -1],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['8 days', 8 * 24 * 3600 * 1000],
  ['MAX_VALUE', Number.MAX_VALUE],
  ['string', '30000'],
  ['null', null],
  ['bigint', 30_000n],
  ['not above the skew', 1_000],
];
const badSkews: [string, unknown][] = [
  ['negative', -1],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['over 10 minutes', 600_001],
  ['string', '100'],
];

async function code(run: () => unknown): Promise<string> {
  try {
    await run();
    return 'no error';
  } catch (error) {
    return isLeaseholdError(error) ? error.code : `untyped: ${String(error)}`;
  }
}

describe('bad input is refused with a typed error, and nothing is sent', () => {
  const ok = { name: 'existing', holder: 'intruder', ttlMs: 30_000 };

  it.each(badNames)('name: %s', async (_label, name) => {
    const before = queries;
    expect(await code(() => tryLead(store, { ...ok, name } as never))).toBe('INVALID_NAME');
    expect(await code(() => release(store, { name, holder: 'keeper' } as never))).toBe('INVALID_NAME');
    expect(await code(() => getLeader(store, name as never))).toBe('INVALID_NAME');
    expect(await code(() => new Elector(store, { ...ok, name } as never))).toBe('INVALID_NAME');
    expect(queries).toBe(before);
  });

  it.each(badHolders)('holder: %s', async (_label, holder) => {
    const before = queries;
    expect(await code(() => tryLead(store, { ...ok, holder } as never))).toBe('INVALID_HOLDER');
    expect(await code(() => release(store, { name: 'existing', holder } as never))).toBe('INVALID_HOLDER');
    expect(await code(() => new Elector(store, { ...ok, holder } as never))).toBe('INVALID_HOLDER');
    expect(queries).toBe(before);
  });

  it.each(badTtls)('ttlMs: %s', async (_label, ttlMs) => {
    const before = queries;
    expect(await code(() => tryLead(store, { ...ok, ttlMs } as never))).toBe('INVALID_TTL');
    expect(await code(() => new Elector(store, { ...ok, ttlMs } as never))).toBe('INVALID_TTL');
    expect(queries).toBe(before);
  });

  it.each(badSkews)('maxClockSkewMs: %s', async (_label, maxClockSkewMs) => {
    const before = queries;
    expect(await code(() => tryLead(store, { ...ok, maxClockSkewMs } as never))).toBe('INVALID_OPTION');
    expect(await code(() => getLeader(store, 'existing', { maxClockSkewMs } as never))).toBe('INVALID_OPTION');
    expect(queries).toBe(before);
  });

  it('options of the wrong shape', async () => {
    const before = queries;
    for (const options of [undefined, null, 'existing', 42, []]) {
      expect(await code(() => tryLead(store, options as never))).toMatch(/^INVALID_/);
      expect(await code(() => release(store, options as never))).toMatch(/^INVALID_/);
    }
    expect(await code(() => tryLead(store, { ...ok, data: { a: 1 } } as never))).toBe('INVALID_OPTION');
    expect(await code(() => tryLead(store, { ...ok, data: 'x'.repeat(16_385) }))).toBe('INVALID_OPTION');
    expect(await code(() => new Elector(store, { ...ok, renewEveryMs: Number.NaN }))).toBe('INVALID_OPTION');
    expect(await code(() => tryLead(store, { ...ok, clock: { now: () => 0 } } as never))).toBe('INVALID_OPTION');
    expect(await code(() => tryLead(store, { ...ok, newVersion: () => 42 } as never))).toBe('INVALID_OPTION');
    expect(await code(() => getLeader(store, 'existing', { clock: 'wall' } as never))).toBe('INVALID_OPTION');
    expect(await code(() => tryLead({} as never, ok))).toBe('INVALID_STORE');
    expect(await code(() => tryLead(null as never, ok))).toBe('INVALID_STORE');
    expect(queries).toBe(before);
  });

  it('store options: no SQL can be injected through a table or schema name, and bad options are typed errors', async () => {
    const before = queries;
    for (const bad of ['x; DROP TABLE pg_class', 'x"; DROP TABLE y; --', "x'", 'x y', 'x.y', 'é', '', ' x', 'x\u0000', 'a'.repeat(64), 1, false]) {
      expect(await code(() => new PostgresStore({ pool: counted, table: bad as never }))).toBe('INVALID_STORE');
      expect(await code(() => new PostgresStore({ pool: counted, schema: bad as never }))).toBe('INVALID_STORE');
    }
    expect(await code(() => new PostgresStore({ pool: {} as never }))).toBe('INVALID_STORE');
    expect(await code(() => new PostgresStore(undefined as never))).toBe('INVALID_STORE');
    expect(await code(() => new MemoryStore({ clockSource: 'server' as never }))).toBe('INVALID_STORE');
    expect(await code(() => new MemoryStore({ clock: {} as never }))).toBe('INVALID_STORE');
    expect(queries).toBe(before);
  });

  it('nothing was written: the one lease is as it was', async () => {
    const { rows } = await pool.query(`SELECT name, holder, token FROM ${table}`);
    expect(rows).toEqual([{ name: 'existing', holder: 'keeper', token: '1' }]);
  });
});

describe('demo CLI flags', () => {
  const run = promisify(execFile);
  it.each([
    ['--workers', 'many'],
    ['--workers', '1'],
    ['--ttl-ms', '-5'],
    ['--poll-ms', 'NaN'],
    ['--database-url', 'mysql://x'],
    ['--unknown', 'x'],
  ])('%s %s exits 2 with a message and starts nothing', async (flag, value) => {
    const result = await run(process.execPath, ['--import', 'tsx', 'examples/demo/demo.ts', flag, value]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^demo: [\s\S]+\nusage: /);
  });
});
