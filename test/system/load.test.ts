/**
 * Load on real engines, bounded in count and time: 10 000 names and one hot name contended by 100 callers,
 * side by side, over three rounds: claim everything; renew some names and release others; then claim the
 * released names and take over expired ones. Afterwards every lease must read back with the holder and
 * token its history implies (nothing lost, no token behind), within a generous wall-time bound.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { getLeader, type LeadResult, release, tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { localClient } from '../support/engines.js';
import { type LoadFigures, recordFigures } from '../support/safety-figures.js';

const NAMES = Number(process.env.LOAD_NAMES ?? 10_000);
const CONCURRENCY = 64;
const CONTENDERS = 100;
const LONG_TTL = 600_000;
const SKEW = 100;

/**
 * One name in 16 is renewed in round 2, one released then claimed by another holder, one left to expire and
 * taken over in round 3; the rest are kept. (Few enough that DynamoDB Local, at about 2 ms a request on two
 * cores, stays within half a minute or so.)
 */
type Fate = 'renew' | 'release' | 'expire' | 'keep';
const fate = (i: number): Fate => (['renew', 'release', 'expire'] as const)[i % 16] ?? 'keep';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function inWaves<T>(indices: number[], run: (i: number) => Promise<T>): Promise<Map<number, T>> {
  const out = new Map<number, T>();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < indices.length) {
        const i = indices[next++] as number;
        out.set(i, await run(i));
      }
    }),
  );
  return out;
}

/**
 * How the names left to expire run out. `realTime`: the store judges expiry by its own clock (Postgres), so
 * round 3 waits for a short lease to run out; otherwise the manual clock that every caller (and the memory
 * store) uses is moved past it. The lease stays long in real time there, because the DynamoDB store gives
 * up on a request once the lease's validity has run out in real time (a cold engine under load can take
 * over a second).
 */
interface Expiry {
  realTime: boolean;
  ttlMs: number;
}

async function load(engine: string, store: Store, clock: ManualClock, expiry: Expiry, boundMs: number): Promise<LoadFigures> {
  const prefix = `load-${Date.now().toString(36)}`;
  const name = (i: number) => `${prefix}-${i}`;
  const hot = `${prefix}-hot`;
  const all = Array.from({ length: NAMES }, (_, i) => i);
  const holder = (i: number) => `h${i % 97}`;
  const successor = (i: number) => `g${i % 89}`;
  const lead = (n: string, h: string, ttlMs = LONG_TTL) => tryLead(store, { name: n, holder: h, ttlMs, maxClockSkewMs: SKEW, clock });
  const contend = () => Promise.all(Array.from({ length: CONTENDERS }, (_, c) => lead(hot, `c${c}`)));
  const oneLeader = (results: LeadResult[], round: number) => {
    expect(
      results.filter((l) => l.isLeader),
      `round ${round}: one leader of the hot name`,
    ).toHaveLength(1);
    expect(new Set(results.map((l) => l.leader)).size, `round ${round}: everyone agrees who`).toBe(1);
    return results.find((l) => l.isLeader) as LeadResult;
  };
  const started = performance.now();
  const roundMs: number[] = [];
  let writes = 0;

  // Round 1: claim every name while 100 callers contend for the hot one.
  const [first, hot1] = await Promise.all([inWaves(all, (i) => lead(name(i), holder(i), fate(i) === 'expire' ? expiry.ttlMs : LONG_TTL)), contend()]);
  const round1End = performance.now();
  roundMs.push(round1End - started);
  writes += NAMES + CONTENDERS;
  expect([...first.values()].filter((l) => l.isLeader)).toHaveLength(NAMES);
  const hotLeader1 = oneLeader(hot1, 1);

  // Round 2: renew some names, release others; the hot name's holder renews and everyone else is refused.
  const renewing = all.filter((i) => fate(i) === 'renew');
  const releasing = all.filter((i) => fate(i) === 'release');
  clock.advance(1_000);
  const [renewed, released, hot2] = await Promise.all([
    inWaves(renewing, (i) => lead(name(i), holder(i))),
    inWaves(releasing, (i) => release(store, { name: name(i), holder: holder(i), clock })),
    contend(),
  ]);
  roundMs.push(performance.now() - started - (roundMs[0] as number));
  writes += renewing.length + releasing.length + CONTENDERS;
  expect(renewing.filter((i) => renewed.get(i)?.isLeader !== true || renewed.get(i)?.token !== first.get(i)?.token)).toEqual([]);
  expect(releasing.filter((i) => released.get(i) !== true)).toEqual([]);
  expect(oneLeader(hot2, 2)).toMatchObject({ leader: hotLeader1.leader, token: hotLeader1.token });

  // Round 3: other holders claim the released names and take over the expired ones; the hot name's holder
  // releases, and 100 callers contend again for a new term.
  const expiring = all.filter((i) => fate(i) === 'expire');
  if (expiry.realTime) await sleep(Math.max(0, round1End + expiry.ttlMs + 50 - performance.now()));
  else clock.advance(expiry.ttlMs + SKEW + 1);
  const r3 = performance.now();
  const [taken, hot3] = await Promise.all([
    inWaves([...releasing, ...expiring], (i) => lead(name(i), successor(i))),
    release(store, { name: hot, holder: hotLeader1.leader as string, clock }).then(() => contend()),
  ]);
  roundMs.push(performance.now() - r3);
  writes += releasing.length + expiring.length + 1 + CONTENDERS;
  expect([...taken.entries()].filter(([i, l]) => !l.isLeader || l.token !== (first.get(i)?.token as number) + 1).map(([i]) => i)).toEqual([]);
  const hotLeader3 = oneLeader(hot3, 3);
  expect(hotLeader3.token).toBe(hotLeader1.token + 1);

  // Nothing lost: every lease reads back with the holder and token its history implies.
  const v = performance.now();
  const seen = await inWaves(all, (i) => getLeader(store, name(i), { clock, maxClockSkewMs: SKEW }));
  const verifyMs = performance.now() - v;
  const mismatched = all.filter((i) => {
    const s = seen.get(i);
    const claimed = first.get(i) as LeadResult;
    switch (fate(i)) {
      case 'keep':
        return s?.holder !== holder(i) || s.token !== claimed.token || s.expiresAt !== claimed.expiresAt;
      case 'renew': // same term, later expiry
        return s?.holder !== holder(i) || s.token !== claimed.token || s.expiresAt <= claimed.expiresAt;
      default: // released or expired, then a new term for another holder
        return s?.holder !== successor(i) || s.token !== claimed.token + 1;
    }
  });
  expect(mismatched.slice(0, 10), `${mismatched.length} leases lost or inconsistent`).toEqual([]);
  expect(await getLeader(store, hot, { clock, maxClockSkewMs: SKEW })).toMatchObject({ holder: hotLeader3.leader, token: hotLeader3.token });
  const totalMs = performance.now() - started;
  const figures: LoadFigures = {
    names: NAMES,
    contenders: CONTENDERS,
    rounds: 3,
    writes,
    reads: NAMES + 1,
    roundMs: roundMs.map(Math.round),
    verifyMs: Math.round(verifyMs),
    totalMs: Math.round(totalMs),
    boundMs,
    mismatches: mismatched.length,
    renewed: renewing.length,
    released: releasing.length,
    expired: expiring.length,
  };
  recordFigures(engine, 'load', figures);
  console.info(
    `[load] ${engine}: ${NAMES} names + 1 hot name × ${CONTENDERS} contenders, ${writes} writes and ${NAMES + 1} reads in ${figures.totalMs} ms ` +
      `(rounds ${figures.roundMs.join(' / ')} ms, verify ${figures.verifyMs} ms; bound ${boundMs} ms)`,
  );
  expect(totalMs, `${engine}: wall time`).toBeLessThan(boundMs);
  return figures;
}

describe(`load: ${NAMES} names and a hot name with ${CONTENDERS} contenders, side by side, over three rounds`, () => {
  it('memory', async () => {
    const clock = new ManualClock(Date.now());
    await load('memory', new MemoryStore({ clock }), clock, { realTime: false, ttlMs: 60_000 }, 20_000);
  });

  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 16 });
  const table = `leases_load_${process.pid}`;
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });
  it('postgres', async () => {
    const store = new PostgresStore({ pool, table, prepare: true });
    await store.migrate();
    await load('postgres', store, new ManualClock(Date.now()), { realTime: true, ttlMs: 1_500 }, 60_000);
  }, 120_000);

  it('dynamodb local', async () => {
    const client = localClient(inject('dynamodbEndpoint'));
    const store = new DynamoDBStore({ client, table: `leases-load-${process.pid}` });
    await store.createTable();
    try {
      await load('dynamodb', store, new ManualClock(Date.now()), { realTime: false, ttlMs: 60_000 }, 150_000);
    } finally {
      client.destroy();
    }
  }, 240_000);
});
