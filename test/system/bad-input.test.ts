/**
 * Bad input, table-driven, across every public entry point: the API, store options and the demo's CLI
 * flags. Each gets a typed error with a stable code and nothing reaches the database; input that is valid
 * but full of SQL metacharacters and unusual Unicode is stored and read back exactly, and injects nothing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Elector } from '../../src/elector.js';
import { isLeaseholdError } from '../../src/errors.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { genericOnly } from '../../src/testing/faults.js';
import { postgresAnswerScanner, startTcpProxy } from '../support/tcp-proxy.js';

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
  ['SQL comment after a space', 'job --x'],
  ['leading SQL comment', '--job'],
  ['SQL block comment', 'job/*x*/'],
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
  ['SQL with spaces', "'); DROP TABLE leases; --"],
  ['non-breaking space', 'a\u00a0b'],
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

  it.each([
    ['NUL', 'a\u0000b'],
    ['lone high surrogate', 'x\ud800'],
    ['lone low surrogate', '\udc00x'],
    ['surrogates in the wrong order', '\udc00\ud800'],
    ['half an emoji', '🔥'.slice(0, 1)],
    ['one character too long', 'x'.repeat(16_385)],
  ])('data: %s', async (_label, data) => {
    const before = queries;
    expect(await code(() => tryLead(store, { ...ok, data }))).toBe('INVALID_OPTION');
    expect(await code(() => tryLead(genericOnly(store), { ...ok, data }))).toBe('INVALID_OPTION');
    expect(await code(() => new Elector(store, { ...ok, data }))).toBe('INVALID_OPTION');
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
    expect(await code(() => release(store, { name: 'existing', holder: 'keeper', newVersion: () => '' }))).toBe('INVALID_OPTION');
    expect(await code(() => release(store, { name: 'existing', holder: 'keeper', newVersion: 'v1' } as never))).toBe('INVALID_OPTION');
    expect(await code(() => release(null as never, { name: 'existing', holder: 'keeper' }))).toBe('INVALID_STORE');
    expect(await code(() => getLeader(store, 'existing', null as never))).toBe('INVALID_OPTION');
    expect(await code(() => getLeader({ read: () => 1 } as never, 'existing'))).toBe('INVALID_STORE');
    for (const bad of [null, undefined, {}, { read: () => 1 }, 'postgres']) {
      expect(await code(() => new Elector(bad as never, ok))).toBe('INVALID_STORE');
    }
    expect(await code(() => new Elector(store, { ...ok, clock: {} } as never))).toBe('INVALID_OPTION');
    expect(await code(() => new Elector(store, null as never))).toBe('INVALID_OPTION');
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

  it('values no message can JSON.stringify (a bigint, a circular object) still get a typed error, never a TypeError', async () => {
    const before = queries;
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const hostile = [1n, circular, Symbol('x'), () => 'x'];
    for (const bad of hostile) {
      for (const option of ['table', 'schema', 'prepare', 'timeoutMs'] as const) {
        expect(await code(() => new PostgresStore({ pool: counted, [option]: bad } as never)), `postgres ${option}`).toBe('INVALID_STORE');
      }
      expect(await code(() => new MemoryStore({ clockSource: bad as never })), 'memory clockSource').toBe('INVALID_STORE');
      expect(await code(() => tryLead(store, { ...ok, ttlMs: bad } as never))).toBe('INVALID_TTL');
      expect(await code(() => tryLead(store, { ...ok, maxClockSkewMs: bad } as never))).toBe('INVALID_OPTION');
      expect(await code(() => tryLead(store, { ...ok, data: bad } as never))).toBe('INVALID_OPTION');
      expect(await code(() => tryLead(store, { ...ok, newVersion: () => bad } as never))).toBe('INVALID_OPTION');
    }
    expect(queries).toBe(before);
  });

  it('a clock whose values are of the wrong kind (a string, a bigint, NaN, undefined) is refused before anything is written', async () => {
    const before = queries;
    const base = { now: () => Date.now(), monotonic: () => performance.now(), setTimeout: () => 0, clearTimeout: () => {} };
    for (const [label, clock] of [
      ['now() returns a string', { ...base, now: () => 'now' }],
      ['now() returns a bigint', { ...base, now: () => 1n }],
      ['now() returns NaN', { ...base, now: () => Number.NaN }],
      ['monotonic() returns undefined', { ...base, monotonic: () => undefined }],
      ['monotonic() returns Infinity', { ...base, monotonic: () => Number.POSITIVE_INFINITY }],
      ['no clearTimeout', { now: base.now, monotonic: base.monotonic, setTimeout: base.setTimeout }],
    ] as const) {
      expect(await code(() => tryLead(store, { ...ok, clock } as never)), label).toBe('INVALID_OPTION');
      expect(await code(() => tryLead(genericOnly(store), { ...ok, clock } as never)), label).toBe('INVALID_OPTION');
      expect(await code(() => release(store, { name: 'existing', holder: 'keeper', clock } as never)), label).toBe('INVALID_OPTION');
      expect(await code(() => getLeader(store, 'existing', { clock } as never)), label).toBe('INVALID_OPTION');
    }
    // A memory store's own clock is checked the same way (INVALID_STORE: it is the store's option).
    const badStoreClock = new MemoryStore({ clock: { ...base, now: () => 'x' } as never });
    expect(await code(() => tryLead(badStoreClock, ok))).toBe('INVALID_STORE');
    expect(queries).toBe(before);
  });

  it('a result stays fail-closed if its clock later stops returning numbers: remainingMs() is 0, never NaN', async () => {
    let broken = false;
    const clock = { now: () => (broken ? Number.NaN : Date.now()), monotonic: () => performance.now(), setTimeout: () => 0, clearTimeout: () => {} };
    const lead = await tryLead(new MemoryStore(), { ...ok, clock });
    expect(lead.isLeader).toBe(true);
    expect(lead.remainingMs()).toBeGreaterThan(0);
    broken = true;
    expect(lead.remainingMs()).toBe(0);
    expect(lead.stillLeader()).toBe(false);
  });

  it('nothing was written: the one lease is as it was', async () => {
    const { rows } = await pool.query(`SELECT name, holder, token FROM ${table}`);
    expect(rows).toEqual([{ name: 'existing', holder: 'keeper', token: '1' }]);
  });
});

describe('valid input full of SQL metacharacters and unusual Unicode round-trips exactly, and injects nothing', () => {
  const rtTable = `leases_roundtrip_${process.pid}`;
  const fused = new PostgresStore({ pool, table: rtTable, prepare: true });
  const paths = [
    ['fused', fused],
    ['generic', genericOnly(new PostgresStore({ pool, table: rtTable }))],
  ] as const;
  let serial = 0;
  beforeAll(async () => {
    await fused.migrate();
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${rtTable}`);
  });

  async function row(name: string) {
    const { rows } = await pool.query(`SELECT holder, data FROM ${rtTable} WHERE name = $1`, [name]);
    return rows;
  }

  it.each([
    ['quote, comment, double quote', `a';--"x`],
    ['a whole statement', `');DROP/**/TABLE/**/${table};--`],
    ['backslash escapes', `\\'\\0\\x00E'\\\\'`],
    ['dollar quoting and placeholders', '$$x$$$1$2%s%d?:name'],
    ['every other printable ASCII', '!#&()*+,-./:;<=>?@[]^_`{|}~'],
  ])('holder: %s', async (_label, holder) => {
    for (const [path, s] of paths) {
      const name = `rt-holder-${path}-${serial++}`;
      const lead = await tryLead(s, { name, holder, ttlMs: 60_000 });
      expect(lead, path).toMatchObject({ isLeader: true, leader: holder });
      expect((await getLeader(s, name))?.holder, path).toBe(holder);
      expect(await row(name), path).toEqual([{ holder, data: null }]);
      expect(await tryLead(s, { name, holder, ttlMs: 60_000 }), `${path}: renews as itself`).toMatchObject({ isLeader: true, token: lead.token });
      expect(await tryLead(s, { name, holder: `${holder}x`, ttlMs: 60_000 }), `${path}: a near-namesake is refused`).toMatchObject({
        isLeader: false,
        leader: holder,
      });
      expect(await release(s, { name, holder }), path).toBe(true);
    }
  });

  it.each([
    ['SQL comment', 'job--x'],
    ['every allowed symbol', 'a_b.c:d@e-f--g'],
  ])('name: %s', async (_label, base) => {
    for (const [path, s] of paths) {
      const name = `${base}-${path}-${serial++}`;
      expect(await tryLead(s, { name, holder: 'h', ttlMs: 60_000 }), path).toMatchObject({ isLeader: true });
      expect((await pool.query(`SELECT name FROM ${rtTable} WHERE name = $1`, [name])).rows, path).toEqual([{ name }]);
    }
  });

  it.each([
    ['quotes, backslashes and SQL', `'"\\\`;--/* $$ */ '); DROP TABLE ${table}; --`],
    ['accents, CJK and symbols', 'café ☕ 日本語 ∑ €'],
    ['emoji (surrogate pairs, joiners, skin tones)', '🔥👩‍👩‍👧👍🏽🇺🇦'],
    ['combining marks and right-to-left', 'e\u0301 \u202eabc\u202c עברית'],
    ['line and paragraph separators, CR, LF, tab', 'a\u2028b\u2029c\r\n\td'],
    ['an escaped NUL is just text', '{"a":"\\u0000"}'],
    ['empty', ''],
    ['the longest allowed, in emoji', '🔥'.repeat(8_192)],
  ])('data: %s', async (_label, data) => {
    for (const [path, s] of paths) {
      const name = `rt-data-${path}-${serial++}`;
      const lead = await tryLead(s, { name, holder: 'h', ttlMs: 60_000, data });
      expect(lead.data === data, `${path}: tryLead reports it exactly`).toBe(true);
      expect((await getLeader(s, name))?.data === data, `${path}: getLeader reads it back exactly`).toBe(true);
      expect(await row(name), path).toEqual([{ holder: 'h', data }]);
    }
  });

  it('afterwards both tables are intact: nothing was dropped or rewritten', async () => {
    const { rows } = await pool.query('SELECT tablename FROM pg_tables WHERE tablename = ANY($1) ORDER BY tablename', [[rtTable, table]]);
    expect(rows.map((r) => r.tablename).sort()).toEqual([table, rtTable].sort());
    expect((await pool.query(`SELECT name, holder, token FROM ${table}`)).rows).toEqual([{ name: 'existing', holder: 'keeper', token: '1' }]);
  });
});

describe('demo CLI flags', () => {
  const run = promisify(execFile);
  // The demo gets a real database to write to, behind a proxy that counts connections: a bad flag must
  // stop it before it connects, so nothing can have been written.
  const url = new URL(inject('databaseUrl'));
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let viaProxy: string;
  beforeAll(async () => {
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432), postgresAnswerScanner);
    const u = new URL(url.toString());
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    viaProxy = u.toString();
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('the proxy sees a connection when there is one', async () => {
    const client = new pg.Client({ connectionString: viaProxy });
    await client.connect();
    await client.end();
    expect(proxy.connections).toBe(1);
  });

  it.each([
    ['--workers', 'many'],
    ['--workers', '1'],
    ['--ttl-ms', '-5'],
    ['--poll-ms', 'NaN'],
    ['--database-url', 'mysql://x'],
    ['--unknown', 'x'],
  ])('%s %s exits 2 with a message, never connects, and writes nothing', async (flag, value) => {
    const connections = proxy.connections;
    const result = await run(process.execPath, ['--import', 'tsx', 'examples/demo/demo.ts', '--database-url', viaProxy, flag, value]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^demo: [\s\S]+\nusage: /);
    expect(proxy.connections, 'connections to the database').toBe(connections);
    expect((await pool.query("SELECT to_regclass('leasehold_demo') AS demo")).rows).toEqual([{ demo: null }]);
  });
});
