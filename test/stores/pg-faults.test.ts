/**
 * Real-driver faults on PostgreSQL: a TCP proxy between `pg` and the server cuts connections mid-statement
 * (after forwarding part of the statement) and loses answers after the server executed the statement, on
 * the fused path and the generic one, and on the read-back that resolves a lost answer. The library must
 * neither claim a leadership it lacks nor strand a lease it won.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { genericOnly } from '../../src/testing/faults.js';
import { recordFigures } from '../support/safety-figures.js';
import { startSilentServer, timedCall } from '../support/silent-server.js';
import { postgresAnswerScanner, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const url = new URL(inject('databaseUrl'));
const direct = new pg.Pool({ connectionString: url.toString(), max: 4 });
const table = `leases_pgfaults_${process.pid}`;
let proxy: TcpProxy;
let proxied: pg.Pool;

beforeAll(async () => {
  proxy = await startTcpProxy(url.hostname, Number(url.port || 5432), postgresAnswerScanner);
  const viaProxy = new URL(url.toString());
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  proxied = new pg.Pool({ connectionString: viaProxy.toString(), max: 1 });
  proxied.on('error', () => {}); // idle clients killed by the proxy
  await new PostgresStore({ pool: direct, table }).migrate();
});
afterAll(async () => {
  recordFigures('postgres-tcp-proxy', 'driver-faults', { injected: proxy.injected, dropped: proxy.dropped, connections: proxy.connections });
  await proxied.end();
  await proxy.close();
  await direct.query(`DROP TABLE IF EXISTS ${table}`);
  await direct.end();
});

const ttlMs = 10_000;

/** A backend message: type byte, length (counting itself), payload. */
function message(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}

describe('the proxy finds where a Postgres answer ends (ReadyForQuery), across chunks', () => {
  const ready = message('Z', Buffer.from('I'));
  // A DataRow whose bytes end exactly like a ReadyForQuery: only a scanner that follows message lengths tells them apart.
  const lookalike = message('D', Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 6]), Buffer.from('xZ'), Buffer.from([0, 0, 0, 5]), Buffer.from('I')]));
  const complete = message('C', Buffer.from('UPDATE 1\0'));
  const answer = Buffer.concat([lookalike, complete, ready]);

  it('in one chunk, split anywhere, or byte by byte; never inside another message', () => {
    expect(postgresAnswerScanner()(answer)).toEqual([answer.length]);
    expect(postgresAnswerScanner()(lookalike)).toEqual([]);
    for (let cut = 1; cut < answer.length; cut++) {
      const scan = postgresAnswerScanner();
      const ends = [...scan(answer.subarray(0, cut)), ...scan(answer.subarray(cut)).map((e) => e + cut)];
      expect(ends, `split at ${cut}`).toEqual([answer.length]);
    }
    const scan = postgresAnswerScanner();
    const bytewise = [...answer].flatMap((byte, i) => scan(Buffer.from([byte])).map(() => i + 1));
    expect(bytewise).toEqual([answer.length]);
  });

  it('two answers in one chunk, and an answer followed by more bytes', () => {
    const two = Buffer.concat([answer, complete, ready, complete]);
    expect(postgresAnswerScanner()(two)).toEqual([answer.length, answer.length + complete.length + ready.length]);
  });
});

describe('postgres behind a faulty connection', () => {
  for (const prepare of [false, true]) {
    it(`fused path: lost answers, statements cut mid-flight, a failed read-back (prepare: ${prepare})`, async () => {
      const store = new PostgresStore({ pool: proxied, table, prepare });
      const before = { ...proxy.injected };
      const name = `proxy-${prepare}-${Date.now()}`;
      await proxied.query('SELECT 1'); // connect first (the proxy never faults a handshake anyway)

      // A claim whose answer is lost after the server applied it: recognised as won, not stranded.
      proxy.arm('lose-answer');
      const won = await tryLead(store, { name, holder: 'a', ttlMs });
      expect(won.isLeader).toBe(true);
      expect(await getLeader(store, name)).toMatchObject({ holder: 'a', token: won.token });

      // A renewal cut mid-statement: fails closed, the lease stays as it was.
      proxy.arm('drop-request');
      await expect(tryLead(store, { name, holder: 'a', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(await getLeader(store, name)).toMatchObject({ holder: 'a', token: won.token });

      // A refused claim whose answer is lost: not leader (it cannot tell who is), never a false leader.
      proxy.arm('lose-answer');
      await expect(tryLead(store, { name, holder: 'b', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(await getLeader(store, name)).toMatchObject({ holder: 'a' });

      // A takeover cut mid-statement: b does not lead, and the expired lease stays free to take.
      await direct.query(`UPDATE ${table} SET expires_at = statement_timestamp() - interval '1 ms' WHERE name = $1`, [name]);
      proxy.arm('drop-request');
      await expect(tryLead(store, { name, holder: 'b', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(await getLeader(store, name)).toBeNull();

      // A takeover whose answer is lost and whose read-back is cut too: b fails closed although its write
      // applied; its next call renews that lease (same token) rather than stranding it.
      proxy.arm('lose-answer', 'drop-request');
      await expect(tryLead(store, { name, holder: 'b', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      const stranded = await getLeader(store, name);
      expect(stranded).toMatchObject({ holder: 'b' });
      expect(stranded?.token).toBeGreaterThan(won.token);
      const b = await tryLead(store, { name, holder: 'b', ttlMs });
      expect(b).toMatchObject({ isLeader: true, token: stranded?.token });

      // A release whose answer is lost: recognised as done, so the next contender takes over at once.
      proxy.arm('lose-answer');
      expect(await release(store, { name, holder: 'b' })).toBe(true);
      expect(await getLeader(store, name)).toBeNull();
      const c = await tryLead(store, { name, holder: 'c', ttlMs });
      expect(c.token).toBeGreaterThan(b.token);
      expect(proxy.pending).toEqual([]);
      expect(proxy.injected['lose-answer'] - before['lose-answer']).toBe(4);
      expect(proxy.injected['drop-request'] - before['drop-request']).toBe(3);
    });
  }

  it('generic path (read, then create or compare-and-swap): the same faults on each of its statements', async () => {
    const store = genericOnly(new PostgresStore({ pool: proxied, table }));
    const before = { ...proxy.injected };
    const name = `proxy-generic-${Date.now()}`;
    await proxied.query('SELECT 1');

    // The read is cut: nothing was written, not leader.
    proxy.arm('drop-request');
    await expect(tryLead(store, { name, holder: 'a', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await getLeader(store, name)).toBeNull();

    // The read passes, the create applies and its answer is lost: recognised by its version on reading back.
    proxy.arm('pass', 'lose-answer');
    const won = await tryLead(store, { name, holder: 'a', ttlMs });
    expect(won.isLeader).toBe(true);
    expect(await getLeader(store, name)).toMatchObject({ holder: 'a', token: won.token });

    // A takeover's compare-and-swap cut mid-statement: b does not lead, the expired lease stays free, its token as it was.
    await direct.query(`UPDATE ${table} SET expires_at = statement_timestamp() - interval '1 ms' WHERE name = $1`, [name]);
    proxy.arm('pass', 'drop-request');
    await expect(tryLead(store, { name, holder: 'b', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await getLeader(store, name)).toBeNull();
    expect((await direct.query(`SELECT token FROM ${table} WHERE name = $1`, [name])).rows).toEqual([{ token: String(won.token) }]);

    // The compare-and-swap applies, its answer is lost and the read-back is cut: fail closed, then renew, not strand.
    proxy.arm('pass', 'lose-answer', 'drop-request');
    await expect(tryLead(store, { name, holder: 'b', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    const applied = await getLeader(store, name);
    expect(applied).toMatchObject({ holder: 'b', token: won.token + 1 });
    expect(await tryLead(store, { name, holder: 'b', ttlMs })).toMatchObject({ isLeader: true, token: won.token + 1 });

    // A release whose compare-and-swap answer is lost: recognised as done.
    proxy.arm('pass', 'lose-answer');
    expect(await release(store, { name, holder: 'b' })).toBe(true);
    expect(await getLeader(store, name)).toBeNull();
    expect(proxy.pending).toEqual([]);
    expect(proxy.injected['lose-answer'] - before['lose-answer']).toBe(3);
    expect(proxy.injected['drop-request'] - before['drop-request']).toBe(3);
  });
});

describe('postgres behind a silent endpoint (README safety: "Fail closed, and every call settles")', () => {
  it('a server that accepts connections and never answers: tryLead, release and getLeader fail closed within their bounds', async () => {
    const silent = await startSilentServer();
    const port = silent.port;
    // No connectionTimeoutMillis, as many pools are configured: the library's own bound must end the wait.
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, max: 4 });
    pool.on('error', () => {});
    const s = new PostgresStore({ pool, table, timeoutMs: 400 });
    try {
      const results = {
        'tryLead (timeoutMs 400)': [await timedCall(() => tryLead(s, { name: 'silent-a', holder: 'a', ttlMs })), 400],
        'tryLead (validity window 500)': [
          await timedCall(() => tryLead(new PostgresStore({ pool, table }), { name: 'silent-b', holder: 'a', ttlMs: 600, maxClockSkewMs: 100 })),
          500,
        ],
        release: [await timedCall(() => release(s, { name: 'silent-a', holder: 'a' })), 400],
        getLeader: [await timedCall(() => getLeader(s, 'silent-a')), 400],
      } as const;
      console.info(
        '[leasehold] silent Postgres endpoint, ms to fail closed:',
        Object.fromEntries(Object.entries(results).map(([k, [r]]) => [k, Math.round(r.ms)])),
      );
      for (const [label, [r, bound]] of Object.entries(results)) {
        expect(r.code, label).toBe('STORE_UNAVAILABLE');
        expect(r.ms, label).toBeGreaterThanOrEqual(bound - 5);
        expect(r.ms, label).toBeLessThan(bound + 400);
      }
    } finally {
      await silent.close();
      await pool.end().catch(() => {});
    }
  });
});

describe('postgres: a statement stuck on the server (a lock held elsewhere)', () => {
  it('fails closed at the call bound, and pg gives the query up then, so the pool slot is free for the next call', async () => {
    // One connection, as in a Lambda: a query that never returns would otherwise hold the pool's only slot.
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    pool.on('error', () => {});
    const s = new PostgresStore({ pool, table, timeoutMs: 400 });
    const name = `stuck-${Date.now()}`;
    expect(await tryLead(s, { name, holder: 'a', ttlMs })).toMatchObject({ isLeader: true });
    const locker = await direct.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${table} WHERE name = $1 FOR UPDATE`, [name]);
      // The holder's renewal needs the row lock: it waits on the server, and the call fails closed at its bound.
      const stuck = await timedCall(() => tryLead(s, { name, holder: 'a', ttlMs }));
      expect(stuck.code).toBe('STORE_UNAVAILABLE');
      expect(stuck.ms).toBeLessThan(400 + 300);
      // The lock is still held. Another lease on the same pool of one: pg gave the stuck query up at the bound and
      // the pool closed that connection, so this call gets a new one instead of waiting behind it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const other = await timedCall(() => tryLead(s, { name: `${name}-other`, holder: 'b', ttlMs }));
      expect(other.code).toBeUndefined();
      expect(await getLeader(s, `${name}-other`)).toMatchObject({ holder: 'b' });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await pool.end();
    }
  });
});
