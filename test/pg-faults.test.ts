/**
 * Real-driver faults on PostgreSQL: a TCP proxy between `pg` and the server drops connections
 * mid-statement and loses answers after the server executed the statement. The library must neither claim
 * a leadership it lacks nor strand a lease it won.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getLeader, release, tryLead } from '../src/lead.js';
import { PostgresStore } from '../src/stores/postgres.js';
import { recordFigures } from './support/safety-figures.js';
import { postgresAnswerComplete, startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

const url = new URL(inject('databaseUrl'));
const direct = new pg.Pool({ connectionString: url.toString(), max: 4 });
const table = `leases_pgfaults_${process.pid}`;
let proxy: TcpProxy;
let proxied: pg.Pool;

beforeAll(async () => {
  proxy = await startTcpProxy(url.hostname, Number(url.port || 5432), postgresAnswerComplete);
  const viaProxy = new URL(url.toString());
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  proxied = new pg.Pool({ connectionString: viaProxy.toString(), max: 1 });
  proxied.on('error', () => {}); // idle clients killed by the proxy
  await new PostgresStore({ pool: direct, table }).migrate();
});
afterAll(async () => {
  recordFigures('postgres-tcp-proxy', 'driver-faults', { injected: proxy.injected });
  await proxied.end();
  await proxy.close();
  await direct.query(`DROP TABLE IF EXISTS ${table}`);
  await direct.end();
});

const ttlMs = 10_000;

describe('postgres behind a faulty connection', () => {
  for (const prepare of [false, true]) {
    it(`lost answers and dropped statements (prepare: ${prepare})`, async () => {
      const store = new PostgresStore({ pool: proxied, table, prepare });
      const before = { ...proxy.injected };
      const name = `proxy-${prepare}-${Date.now()}`;
      await proxied.query('SELECT 1'); // connect first, so the fault hits a statement, not the handshake

      // A claim whose answer is lost after the server applied it: recognised as won, not stranded.
      proxy.arm('lose-answer');
      const won = await tryLead(store, { name, holder: 'a', ttlMs });
      expect(won.isLeader).toBe(true);
      expect(await getLeader(store, name)).toMatchObject({ holder: 'a', token: won.token });

      // A renewal dropped before the server saw it: fails closed, the lease stays as it was.
      proxy.arm('drop-request');
      await expect(tryLead(store, { name, holder: 'a', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(await getLeader(store, name)).toMatchObject({ holder: 'a', token: won.token });

      // A refused claim whose answer is lost: not leader (it cannot tell who is), never a false leader.
      proxy.arm('lose-answer');
      await expect(tryLead(store, { name, holder: 'b', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(await getLeader(store, name)).toMatchObject({ holder: 'a' });

      // A takeover dropped mid-statement: b does not lead, and the expired lease stays free to take.
      await direct.query(`UPDATE ${table} SET expires_at = statement_timestamp() - interval '1 ms' WHERE name = $1`, [name]);
      proxy.arm('drop-request');
      await expect(tryLead(store, { name, holder: 'b', ttlMs })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(await getLeader(store, name)).toBeNull();
      const b = await tryLead(store, { name, holder: 'b', ttlMs });
      expect(b).toMatchObject({ isLeader: true });
      expect(b.token).toBeGreaterThan(won.token);

      // A release whose answer is lost: recognised as done, so the next contender takes over at once.
      proxy.arm('lose-answer');
      expect(await release(store, { name, holder: 'b' })).toBe(true);
      expect(await getLeader(store, name)).toBeNull();
      const c = await tryLead(store, { name, holder: 'c', ttlMs });
      expect(c.token).toBeGreaterThan(b.token);
      expect(proxy.injected['lose-answer'] - before['lose-answer']).toBe(3);
      expect(proxy.injected['drop-request'] - before['drop-request']).toBe(2);
    });
  }
});
