/**
 * The demo's embedded database: PGlite (Postgres compiled to WebAssembly) passed as the store's `pool`. It takes one
 * statement per query, so `migrate()` must send the schema statement by statement; then the store works as on a
 * server (one connection: no races to judge here, the conformance suite runs on a real cluster).
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';

const db = new PGlite();
afterAll(async () => {
  await db.close();
});

describe('PostgresStore over PGlite (what `npm run demo` runs on)', () => {
  it('migrates (twice: idempotent), claims, refuses, releases and hands over with a larger token', async () => {
    const store = new PostgresStore({ pool: db });
    await store.migrate();
    await store.migrate();
    const a = await tryLead(store, { name: 'demo', holder: 'a', ttlMs: 10_000 });
    expect(a).toMatchObject({ isLeader: true, token: 1 });
    expect(await tryLead(store, { name: 'demo', holder: 'b', ttlMs: 10_000 })).toMatchObject({ isLeader: false, leader: 'a' });
    expect(await release(store, { name: 'demo', holder: 'a' })).toBe(true);
    const b = await tryLead(store, { name: 'demo', holder: 'b', ttlMs: 10_000 });
    expect(b).toMatchObject({ isLeader: true, token: 2 });
    expect(await getLeader(store, 'demo')).toMatchObject({ holder: 'b', token: 2 });
  });
});
