/**
 * `leasehold/firestore-rest` against two engines:
 *
 * - Google's own Firestore emulator (started for the whole run by test/setup/firestore.ts; it serves REST on its one
 *   port): the whole conformance suite, race case included, a stale one-request renewal refused by the engine, and
 *   commits whose answers are lost on the wire after they applied. Where it is not installed these cases are
 *   reported as skipped with the setup's reason.
 * - A local endpoint that checks Firestore's REST shapes and implements its preconditions (test/support/
 *   firestore-rest-server.ts), for what Google's emulator cannot give: a log of every request, injected HTTP
 *   statuses, garbled or late answers, a clock set apart from the host's, and the service-account token exchange.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector } from '../../src/elector.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import type { LeaseWrite } from '../../src/store.js';
import { FirestoreRestStore, type ServiceAccountKey } from '../../src/stores/firestore-rest.js';
import { describeStoreConformance } from '../../src/testing/index.js';
import { EMULATOR_CONTENDERS, emulatorRestStore, expireOnEmulator } from '../support/firestore-emulator.js';
import { expectReadFreeRenewalOnlyWhileSurelyLive } from '../support/firestore-renewal.js';
import { type FakeFirestore, generateServiceAccountKeyPair, type LoggedRequest, startFirestoreRestServer } from '../support/firestore-rest-server.js';

const PROJECT = 'demo-leasehold';
const COLLECTION = 'rest_leases';
const TOKEN = 'static-test-token';
const fake = await startFirestoreRestServer({ projectId: PROJECT, staticTokens: [TOKEN] });
afterAll(() => fake.close());

const store = new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: fake.url, getAccessToken: () => TOKEN });

/** Ages a lease on the store's clock: a commit by someone else sets ttlMs to 0, so it ran out at its update time. */
async function expire(name: string): Promise<void> {
  fake.patch(fake.documentName(COLLECTION, name), { ttlMs: { integerValue: '0' } });
}

/** Longer than any lease the conformance suite takes. */
const LAPSE_MS = 60_000;

// Leases run out the way they do in production: time passes, on Firestore's clock and on the host's alike (the
// store and its callers share one manual clock), with no write by anyone. So a warm holder whose lease lapsed
// has a renewal whose precondition would still hold: only the store's own liveness check stops it keeping its token.
describeStoreConformance(
  'firestore-rest (REST shape server)',
  () => {
    const clock = new ManualClock();
    return {
      store: new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: fake.url, getAccessToken: () => TOKEN, clock }),
      clock,
      expire: async () => {
        fake.advanceClock(LAPSE_MS);
        clock.advance(LAPSE_MS);
      },
    };
  },
  { contenders: 16, rounds: 20 },
);

const googleHost = inject('firestoreEmulatorHost');
const googleSkip = inject('firestoreEmulatorSkip');
if (googleHost) {
  const googleCollection = `rest_leases_${process.pid}`;
  const official = emulatorRestStore(googleHost, { collection: googleCollection });
  describeStoreConformance(
    "firestore-rest (Google's emulator)",
    () => ({ store: official, clock: new ManualClock(), expire: (name) => expireOnEmulator(googleHost, googleCollection, name) }),
    { contenders: EMULATOR_CONTENDERS, rounds: 10 },
  );

  describe("firestore-rest (Google's emulator): the engine judges the preconditions", () => {
    const clock = new ManualClock();
    let n = 0;
    const fresh = (label: string) => `${label}-${Date.now().toString(36)}-${n++}`;
    /** A store whose commits are watched (status of each) and whose next commit answer can be lost after it applied. */
    const watched = () => {
      const statuses: number[] = [];
      let loseNext = false;
      const store = emulatorRestStore(googleHost, {
        collection: googleCollection,
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (!String(input).endsWith(':commit')) return response;
          statuses.push(response.status);
          if (loseNext) {
            loseNext = false;
            // The emulator applied (or refused) the commit; its answer never reaches the store.
            await response.arrayBuffer();
            throw new TypeError('fetch failed: socket hang up (answer lost after the commit reached the emulator)');
          }
          return response;
        },
      });
      return {
        store,
        statuses,
        loseNextAnswer: () => {
          loseNext = true;
        },
      };
    };

    it('a holder renewing from what it saw last is refused by the precondition once someone else took over', async () => {
      const name = fresh('stale');
      const x = watched();
      const y = watched();
      const a = await tryLead(x.store, { name, holder: 'a', ttlMs: 10_000, clock });
      await expireOnEmulator(googleHost, googleCollection, name);
      const b = await tryLead(y.store, { name, holder: 'b', ttlMs: 10_000, clock });
      expect(b).toMatchObject({ isLeader: true, token: a.token + 1 });
      x.statuses.length = 0;
      // x still remembers a's lease as surely live and sends the one-request renewal; the engine refuses it.
      expect(await tryLead(x.store, { name, holder: 'a', ttlMs: 10_000, clock })).toMatchObject({ isLeader: false, leader: 'b', token: b.token });
      expect(x.statuses).toEqual([400]);
      expect(await release(x.store, { name, holder: 'a', clock })).toBe(false);
      expect(await getLeader(y.store, name, { clock })).toMatchObject({ holder: 'b', token: b.token });
    });

    it('a claim, a renewal and a release whose answers were lost after they applied: each read back and recognised', async () => {
      const name = fresh('lost');
      const x = watched();
      x.loseNextAnswer();
      const claimed = await tryLead(x.store, { name, holder: 'a', ttlMs: 10_000, clock });
      expect(claimed).toMatchObject({ isLeader: true, leader: 'a', token: 1 });
      x.loseNextAnswer();
      expect(await tryLead(x.store, { name, holder: 'a', ttlMs: 10_000, clock })).toMatchObject({ isLeader: true, token: 1, acquiredAt: claimed.acquiredAt });
      x.loseNextAnswer();
      expect(await release(x.store, { name, holder: 'a', clock })).toBe(true);
      expect(x.statuses).toEqual([200, 200, 200]);
      expect(await getLeader(x.store, name, { clock })).toBeNull();
      // The next claim is a new term, token 2: the lost answers neither stranded the lease nor reset the token.
      expect(await tryLead(watched().store, { name, holder: 'b', ttlMs: 10_000, clock })).toMatchObject({ isLeader: true, token: 2 });
    });
  });
} else {
  describe("firestore-rest (Google's emulator)", () => {
    const notRun = `not run: ${googleSkip}. The REST shape server above implements the preconditions, but only Google's emulator is Firestore's own engine`;
    it('conformance suite against Google’s engine, race case included', (ctx) => {
      ctx.skip(notRun);
    });
    it('a stale one-request renewal and lost answers, judged by Google’s engine', (ctx) => {
      ctx.skip(notRun);
    });
  });
}

type Body = {
  writes: {
    update: { name: string; fields: Record<string, Record<string, unknown>> };
    updateMask?: { fieldPaths: string[] };
    currentDocument?: Record<string, unknown>;
  }[];
};

const commits = (from: number): { body: Body; status: number; request: LoggedRequest }[] =>
  fake.requests
    .slice(from)
    .filter((r) => r.path.endsWith('documents:commit'))
    .map((r) => ({ body: r.body as Body, status: r.status, request: r }));

let n = 0;
const fresh = (label: string) => `${label}-${Date.now().toString(36)}-${n++}`;

/** Reads and commits `on` received since request number `from`. */
const trips = (from: number, on: FakeFirestore = fake) => {
  const paths = on.requests.slice(from).map((r) => r.path);
  return { reads: paths.filter((p) => p.endsWith(':batchGet')).length, commits: paths.filter((p) => p.endsWith(':commit')).length };
};
const HOUR = 3_600_000;

describe('firestore-rest store: requests on the wire', () => {
  const clock = new ManualClock();
  const opts = (name: string, holder: string, extra: object = {}) => ({ name, holder, ttlMs: 10_000, clock, ...extra });

  it('every write of the conformance runs carried a precondition: exists:false to create, the exact updateTime to replace', () => {
    const all = commits(0).filter((c) => c.body.writes[0]?.update.name.includes(`/documents/${COLLECTION}/conf-`));
    expect(all.length).toBeGreaterThan(100);
    for (const { body } of all) {
      expect(body.writes).toHaveLength(1);
      const [w] = body.writes;
      const pre = w?.currentDocument;
      if (pre && 'exists' in pre) {
        expect(pre).toEqual({ exists: false });
        expect(w?.updateMask).toBeUndefined();
      } else {
        expect(Object.keys(pre ?? {})).toEqual(['updateTime']);
        expect(w?.updateMask?.fieldPaths.sort()).toEqual(['acquiredAt', 'data', 'holder', 'token', 'ttlMs', 'version']);
      }
    }
    // Contenders lost races on this engine both ways: the preconditions were judged, not ignored.
    expect(all.some((c) => c.status === 409)).toBe(true);
    expect(all.some((c) => c.status === 400)).toBe(true);
  });

  it('claims with a create carrying exists:false, typed values and the bearer token', async () => {
    const name = fresh('shape');
    const from = fake.requests.length;
    expect(await tryLead(store, opts(name, 'host-1', { data: '{"a":1}' }))).toMatchObject({ isLeader: true, token: 1 });
    const [read, write] = fake.requests.slice(from);
    expect(read?.path).toBe(`/v1/projects/${PROJECT}/databases/(default)/documents:batchGet`);
    expect(read?.body).toEqual({ documents: [fake.documentName(COLLECTION, name)] });
    expect(write?.path).toBe(`/v1/projects/${PROJECT}/databases/(default)/documents:commit`);
    expect(write?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(write?.headers['content-type']).toBe('application/json');
    expect(write?.body).toEqual({
      writes: [
        {
          update: {
            name: fake.documentName(COLLECTION, name),
            fields: {
              holder: { stringValue: 'host-1' },
              token: { integerValue: '1' },
              acquiredAt: { nullValue: null },
              ttlMs: { integerValue: '10000' },
              version: { stringValue: expect.any(String) },
              data: { stringValue: '{"a":1}' },
            },
          },
          currentDocument: { exists: false },
        },
      ],
    });
  });

  it('renews with the exact microsecond updateTime it read, and keeps acquiredAt as a timestamp', async () => {
    const name = fresh('renew');
    const first = await tryLead(store, opts(name, 'host-1'));
    const stored = fake.documents.get(fake.documentName(COLLECTION, name));
    const from = fake.requests.length;
    const second = await tryLead(store, opts(name, 'host-1'));
    expect(second).toMatchObject({ isLeader: true, token: first.token, acquiredAt: first.acquiredAt });
    const [c] = commits(from);
    const pre = c?.body.writes[0]?.currentDocument as { updateTime: string };
    expect(pre.updateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(BigInt(Date.parse(pre.updateTime.replace(/\.\d+Z$/, 'Z'))) * 1000n + BigInt(pre.updateTime.slice(20, 26))).toBe(stored?.updateTime);
    expect(c?.body.writes[0]?.update.fields.acquiredAt).toEqual({ timestampValue: new Date(first.acquiredAt ?? 0).toISOString() });
  });

  it('a stale compare-and-swap is refused by the engine (400 FAILED_PRECONDITION) and changes nothing', async () => {
    const name = fresh('stale');
    await tryLead(store, opts(name, 'a'));
    const { record } = await store.read(name);
    if (!record) throw new Error('no record');
    // Someone else commits in between: same version field, new update time.
    fake.patch(fake.documentName(COLLECTION, name), { data: { stringValue: 'foreign' } });
    const write: LeaseWrite = { name, holder: 'b', token: 2, acquiredAt: null, ttlMs: 10_000, version: 'stale-attempt', data: null, clientNow: clock.now() };
    const from = fake.requests.length;
    expect(await store.replace(record.version, write)).toEqual({ ok: false, current: null });
    expect(commits(from)[0]?.status).toBe(400);
    expect((await store.read(name)).record).toMatchObject({ holder: 'a', version: record.version, data: 'foreign' });
  });

  it('maps 409, 400 FAILED_PRECONDITION and 412 to "condition failed", other errors to a throw (fail closed)', async () => {
    const name = fresh('errors');
    await tryLead(store, opts(name, 'a'));
    const { record } = await store.read(name);
    if (!record) throw new Error('no record');
    const write: LeaseWrite = { name, holder: 'a', token: 1, acquiredAt: record.acquiredAt, ttlMs: 10_000, version: 'v', data: null, clientNow: clock.now() };
    for (const [http, status] of [
      [409, 'ABORTED'],
      [400, 'FAILED_PRECONDITION'],
      [412, 'FAILED_PRECONDITION'],
      [404, 'NOT_FOUND'],
    ] as const) {
      fake.failNext(http, status);
      expect(await store.replace(record.version, write), `${http} ${status}`).toEqual({ ok: false, current: null });
    }
    for (const [http, status] of [
      [503, 'UNAVAILABLE'],
      [403, 'PERMISSION_DENIED'],
      [400, 'INVALID_ARGUMENT'],
      [429, 'RESOURCE_EXHAUSTED'],
    ] as const) {
      fake.failNext(http, status);
      await expect(store.replace(record.version, write), `${http} ${status}`).rejects.toMatchObject({ httpStatus: http, status });
    }
    fake.failNext(503, 'UNAVAILABLE');
    await expect(tryLead(store, opts(fresh('down'), 'a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('a renewal or release by the holder is one request; a claim, takeover or cold renewal is a read and a write', async () => {
    const name = fresh('trips');
    const make = () => new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: fake.url, getAccessToken: () => TOKEN });
    const warm = make();
    const lead = (s: FirestoreRestStore, holder: string) => tryLead(s, opts(name, holder));
    const count = (from: number) => trips(from);
    const cases: [string, () => Promise<unknown>, unknown, { reads: number; commits: number }][] = [
      ['claim of a name never held', () => lead(warm, 'a'), { isLeader: true, token: 1 }, { reads: 1, commits: 1 }],
      ['renewal by the holder', () => lead(warm, 'a'), { isLeader: true, token: 1 }, { reads: 0, commits: 1 }],
      ['refused claim', () => lead(warm, 'b'), { isLeader: false, leader: 'a' }, { reads: 1, commits: 0 }],
      ['release by the holder', () => release(warm, { name, holder: 'a', clock }), true, { reads: 0, commits: 1 }],
      ['claim after a release', () => lead(warm, 'b'), { isLeader: true, token: 2 }, { reads: 1, commits: 1 }],
      ['renewal by the holder, from a cold store', () => lead(make(), 'b'), { isLeader: true, token: 2 }, { reads: 1, commits: 1 }],
      ['release from a cold store', () => release(make(), { name, holder: 'b', clock }), true, { reads: 1, commits: 1 }],
      ['getLeader', () => getLeader(warm, name), null, { reads: 1, commits: 0 }],
    ];
    for (const [label, run, expected, trips] of cases) {
      const from = fake.requests.length;
      const result = await run();
      if (expected === null || typeof expected !== 'object') expect(result, label).toBe(expected);
      else expect(result, label).toMatchObject(expected);
      expect(count(from), label).toEqual(trips);
    }
    await tryLead(warm, opts(name, 'c'));
    await expire(name);
    const from = fake.requests.length;
    expect(await lead(warm, 'd')).toMatchObject({ isLeader: true, token: 4 });
    expect(count(from), 'takeover').toEqual({ reads: 1, commits: 1 });
  });

  it('a holder renewing from what it saw last is refused by the precondition once someone else took over', async () => {
    const name = fresh('stale-cache');
    const x = new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: fake.url, getAccessToken: () => TOKEN });
    const y = new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: fake.url, getAccessToken: () => TOKEN });
    const a = await tryLead(x, opts(name, 'a'));
    await expire(name);
    const b = await tryLead(y, opts(name, 'b'));
    expect(b).toMatchObject({ isLeader: true, token: a.token + 1 });
    const from = fake.requests.length;
    // x still remembers a's lease and tries the one-request renewal first; the engine refuses it (stale updateTime).
    expect(await tryLead(x, opts(name, 'a'))).toMatchObject({ isLeader: false, leader: 'b', token: b.token });
    expect(commits(from).map((c) => c.status)).toEqual([400]);
    expect(await release(x, { name, holder: 'a', clock })).toBe(false);
    expect(await getLeader(y, name, { clock })).toMatchObject({ holder: 'b', token: b.token });
  });

  it('judges expiry by the server clock: a caller whose clock runs an hour ahead takes nothing early', async () => {
    const name = fresh('skew');
    await tryLead(store, opts(name, 'a'));
    const fastClock = new ManualClock(Date.now() + 3_600_000);
    expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: fastClock })).toMatchObject({ isLeader: false, leader: 'a' });
    expect(await getLeader(store, name, { clock: fastClock })).toMatchObject({ holder: 'a' });
  });

  it('stamps expiresAt from the commit time: update time + ttl', async () => {
    const name = fresh('stamp');
    const lead = await tryLead(store, opts(name, 'a'));
    const doc = fake.documents.get(fake.documentName(COLLECTION, name));
    expect(lead.expiresAt).toBe(Number((doc?.updateTime ?? 0n) / 1000n) + 10_000);
    expect(lead.acquiredAt).toBe(Number((doc?.updateTime ?? 0n) / 1000n));
  });

  it('refuses leases shorter than 3 s, and an Elector renewing more than once a second, before any request (reads included)', async () => {
    const name = fresh('short');
    const from = fake.requests.length;
    await expect(tryLead(store, opts(name, 'a', { ttlMs: 2_999, maxClockSkewMs: 500 }))).rejects.toMatchObject({ code: 'INVALID_TTL' });
    expect(() => new Elector(store, { name, holder: 'a', renewEveryMs: 50 })).toThrowError(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => new Elector(store, { name, holder: 'a', ttlMs: 2_000, maxClockSkewMs: 500 })).toThrowError(expect.objectContaining({ code: 'INVALID_TTL' }));
    // The store's own backstop, for callers that bypass the core: nothing is sent either.
    const write: LeaseWrite = { name, holder: 'a', token: 1, acquiredAt: null, ttlMs: 2_999, version: 'v-short', data: null, clientNow: clock.now() };
    await expect(store.create(write)).rejects.toMatchObject({ code: 'INVALID_TTL' });
    expect(fake.requests.length - from).toBe(0);
    expect(store.limits).toEqual({ minTtlMs: 3_000, minWriteIntervalMs: 1_000 });
    expect(await tryLead(store, opts(name, 'a', { ttlMs: 3_000, maxClockSkewMs: 500 }))).toMatchObject({ isLeader: true });
    expect(new Elector(store, { name, holder: 'a', ttlMs: 3_000, maxClockSkewMs: 500, renewEveryMs: 1_000 })).toBeInstanceOf(Elector);
    expect(await release(store, { name, holder: 'a' })).toBe(true);
  });

  it('reports a document written by someone else as STORE_CORRUPT', async () => {
    const name = fresh('foreign');
    await tryLead(store, opts(name, 'a'));
    fake.patch(fake.documentName(COLLECTION, name), { token: { stringValue: 'one' } });
    await expect(getLeader(store, name)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });

  it('runs on fetch and WebCrypto alone: no node: module, SDK, Buffer or process in its import graph', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gm)) {
        expect(spec?.startsWith('.'), `${file} imports ${spec}`).toBe(true);
        visit(join(dirname(file), (spec ?? '').replace(/\.js$/, '.ts')));
      }
      expect(text, file).not.toMatch(/\bBuffer\b|\bprocess\.|require\(/);
    };
    visit('src/stores/firestore-rest.ts');
    expect([...seen].sort()).toEqual([
      'src/bounded-map.ts',
      'src/clock.ts',
      'src/errors.ts',
      'src/has-methods.ts',
      'src/identity.ts',
      'src/options.ts',
      'src/rule.ts',
      'src/store.ts',
      'src/stores/firestore-record.ts',
      'src/stores/firestore-rest-auth.ts',
      'src/stores/firestore-rest-wire.ts',
      'src/stores/firestore-rest.ts',
    ]);
  });

  it('refuses bad options with INVALID_STORE', () => {
    const ok = { projectId: PROJECT, getAccessToken: () => 't' };
    for (const bad of [
      { ...ok, projectId: 'Bad Project' },
      { ...ok, projectId: undefined },
      { ...ok, collection: 'a/b' },
      { ...ok, collection: '__x__' },
      { ...ok, database: 'Bad_DB' },
      { ...ok, baseUrl: 'ftp://x' },
      { ...ok, timeoutMs: 0 },
      { ...ok, timeoutMs: -1 },
      { ...ok, timeoutMs: 1.5 },
      { ...ok, timeoutMs: '1000' },
      { ...ok, timeoutMs: Number.POSITIVE_INFINITY },
      { ...ok, clock: { now: () => 0 } },
      { ...ok, fetch: 'https://proxy.example' },
      { projectId: PROJECT },
      { ...ok, serviceAccount: { client_email: 'x@y', private_key: 'k' } },
      { projectId: PROJECT, serviceAccount: { client_email: 'x@y', private_key: 'not a pem' } },
    ]) {
      expect(() => new FirestoreRestStore(bad as never), JSON.stringify(bad)).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
    }
    expect(new FirestoreRestStore({ ...ok, collection: 'tenants/acme/leases' }).collection).toBe('tenants/acme/leases');
  });
});

describe('firestore-rest store: a warm renewal skips its read only while the lease is surely live', () => {
  it('one request within ttl − skew of the last send; then a read first, and a lease that ran out is a new term', async () => {
    const clock = new ManualClock();
    await expectReadFreeRenewalOnlyWhileSurelyLive({
      store: new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: fake.url, getAccessToken: () => TOKEN, clock }),
      clock,
      name: fresh('lapse'),
      count: () => {
        const from = fake.requests.length;
        return () => trips(from);
      },
      advanceEngine: (ms) => fake.advanceClock(ms),
    });
  });
});

describe('firestore-rest store: expiry follows Firestore’s clock, not the host’s', () => {
  const offsetFake = async (clockOffsetMs: number) => {
    const f = await startFirestoreRestServer({ projectId: PROJECT, staticTokens: [TOKEN], clockOffsetMs });
    const s = new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: f.url, getAccessToken: () => TOKEN });
    return { f, s };
  };
  const host = () => new ManualClock(Date.now());

  it('server an hour behind the host: a lease the host thinks an hour past its expiry is still not taken over', async () => {
    const { f, s } = await offsetFake(-HOUR);
    try {
      const name = fresh('behind');
      const a = await tryLead(s, { name, holder: 'a', ttlMs: 10_000, clock: host() });
      expect(a.expiresAt).toBeLessThan(Date.now() - HOUR + 10_500);
      expect(await tryLead(s, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: false, leader: 'a', token: a.token });
      expect(await getLeader(s, name, { clock: host() })).toMatchObject({ holder: 'a' });
      // Firestore's clock passes the expiry; the host's clock did not move for it.
      f.advanceClock(10_001);
      expect(await tryLead(s, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: true, token: a.token + 1 });
    } finally {
      await f.close();
    }
  });

  it('server an hour ahead: a lease the host would call live for another hour is taken over once Firestore’s clock passes its expiry', async () => {
    const { f, s } = await offsetFake(HOUR);
    try {
      const name = fresh('ahead');
      const a = await tryLead(s, { name, holder: 'a', ttlMs: 10_000, clock: host() });
      expect(a.expiresAt).toBeGreaterThan(Date.now() + HOUR);
      expect(await tryLead(s, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: false, leader: 'a' });
      f.advanceClock(10_001);
      expect(await getLeader(s, name, { clock: host() })).toBeNull();
      expect(await tryLead(s, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: true, token: a.token + 1 });
    } finally {
      await f.close();
    }
  });
});

describe('firestore-rest store: lost, late and unreadable answers', () => {
  const clock = new ManualClock();
  const opts = (name: string, holder: string) => ({ name, holder, ttlMs: 10_000, clock });

  it('a commit answered 200 with a body that cannot be decoded is ambiguous: read back, and lead if it applied', async () => {
    const name = fresh('garbled');
    fake.garbleNext('commit', '<html>502 Bad Gateway</html>');
    let from = fake.requests.length;
    expect(await tryLead(store, opts(name, 'a'))).toMatchObject({ isLeader: true, leader: 'a', token: 1 });
    expect(trips(from), 'read, commit (answer lost), read-back').toEqual({ reads: 2, commits: 1 });

    const { record } = await store.read(name);
    if (!record) throw new Error('no record');
    const write: LeaseWrite = {
      name,
      holder: 'a',
      token: 1,
      acquiredAt: record.acquiredAt,
      ttlMs: 10_000,
      version: 'v-cut',
      data: null,
      clientNow: clock.now(),
    };
    fake.garbleNext('commit', '{"writeResults":[{"updateTi');
    await expect(store.replace(record.version, write)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', cause: expect.any(SyntaxError) });
    fake.garbleNext('commit', '{}');
    await expect(store.replace('v-cut', { ...write, version: 'v-empty' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });

    const other = fresh('garbled-release');
    await tryLead(store, opts(other, 'a'));
    fake.garbleNext('commit', '');
    from = fake.requests.length;
    expect(await release(store, { name: other, holder: 'a', clock })).toBe(true);
    expect(trips(from), 'commit (answer lost), read-back').toEqual({ reads: 1, commits: 1 });
    expect(await getLeader(store, other, { clock })).toBeNull();
  });

  it('a commit whose answer body breaks off is ambiguous too (the body stream fails)', async () => {
    const broken = new FirestoreRestStore({
      projectId: PROJECT,
      collection: COLLECTION,
      baseUrl: fake.url,
      getAccessToken: () => TOKEN,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (!String(input).endsWith(':commit')) return response;
        await response.arrayBuffer();
        const body = new ReadableStream({ start: (c) => c.error(new TypeError('terminated: other side closed')) });
        return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
      },
    });
    const name = fresh('cut');
    expect(await tryLead(broken, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
    const error = await broken
      .create({ name: fresh('cut'), holder: 'a', token: 1, acquiredAt: null, ttlMs: 10_000, version: 'v', data: null, clientNow: 0 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', cause: { message: expect.stringContaining('terminated') } });
  });

  it('aborts a request after timeoutMs: a commit that applied meanwhile is recognised, a read that times out fails closed', async () => {
    const quick = new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: fake.url, getAccessToken: () => TOKEN, timeoutMs: 200 });
    const name = fresh('slow');
    fake.delayNext('commit', 1_500);
    const started = performance.now();
    expect(await tryLead(quick, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
    expect(performance.now() - started).toBeLessThan(1_200);
    fake.delayNext('batchGet', 1_500);
    await expect(getLeader(quick, name, { clock })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('timeoutMs (200 ms)'),
      cause: { name: 'TimeoutError' },
    });
    // A claim whose every request times out: not leader.
    fake.delayNext('batchGet', 1_500);
    await expect(tryLead(quick, opts(fresh('slow'), 'b'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});

describe('firestore-rest store: service-account tokens (RS256 JWT via WebCrypto)', () => {
  let saFake: FakeFirestore;
  let key: ServiceAccountKey;
  const clock = new ManualClock(Date.now());
  const email = 'leases@demo-leasehold.iam.gserviceaccount.com';

  beforeAll(async () => {
    const pair = await generateServiceAccountKeyPair();
    saFake = await startFirestoreRestServer({ projectId: PROJECT, serviceAccount: { clientEmail: email, publicKey: pair.publicKey }, now: () => clock.now() });
    key = { client_email: email, private_key: pair.privateKeyPem, private_key_id: 'kid-1', token_uri: saFake.tokenUrl, project_id: PROJECT };
  });
  afterAll(() => saFake.close());

  it('exchanges a signed JWT for an access token, reuses it until a minute before expiry, and shares one exchange', async () => {
    const sa = new FirestoreRestStore({ serviceAccount: key, collection: COLLECTION, baseUrl: saFake.url, clock });
    const name = fresh('sa');
    const [a, b] = await Promise.all([
      tryLead(sa, { name, holder: 'a', ttlMs: 10_000, clock }),
      tryLead(sa, { name: `${name}-2`, holder: 'b', ttlMs: 10_000, clock }),
    ]);
    expect([a.isLeader, b.isLeader]).toEqual([true, true]);
    expect(saFake.issuedTokens).toEqual(['ya29.fake-1']);
    const tokenRequests = saFake.requests.filter((r) => r.path === '/token');
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const jwt = new URLSearchParams(String(tokenRequests[0]?.body)).get('assertion') ?? '';
    const [header, claims] = jwt
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    expect(claims).toEqual({
      iss: email,
      scope: 'https://www.googleapis.com/auth/datastore',
      aud: saFake.tokenUrl,
      iat: Math.floor(clock.now() / 1000),
      exp: Math.floor(clock.now() / 1000) + 3_600,
    });
    for (const r of saFake.requests.filter((r) => r.path !== '/token')) expect(r.headers.authorization).toBe('Bearer ya29.fake-1');

    clock.advance(3_599_000 - 60_000 - 1);
    await tryLead(sa, { name, holder: 'a', ttlMs: 10_000, clock });
    expect(saFake.issuedTokens).toHaveLength(1);
    clock.advance(1);
    await tryLead(sa, { name, holder: 'a', ttlMs: 10_000, clock });
    expect(saFake.issuedTokens).toEqual(['ya29.fake-1', 'ya29.fake-2']);
    expect(saFake.requests.at(-1)?.headers.authorization).toBe('Bearer ya29.fake-2');
  });

  it('a key the token endpoint rejects makes nobody leader (fail closed)', async () => {
    const other = await generateServiceAccountKeyPair();
    const wrong = { ...key, private_key: other.privateKeyPem };
    const sa = new FirestoreRestStore({ serviceAccount: wrong, collection: COLLECTION, baseUrl: saFake.url, clock });
    const before = saFake.issuedTokens.length;
    await expect(tryLead(sa, { name: fresh('wrong-key'), holder: 'a', ttlMs: 10_000, clock })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('Invalid JWT Signature'),
    });
    expect(saFake.issuedTokens).toHaveLength(before);
  });

  it('accepts a private key whose line breaks arrive as the two characters \\n (a key pasted into an environment secret)', async () => {
    const escaped = { ...key, private_key: key.private_key.replace(/\n/g, '\\n') };
    expect(escaped.private_key).not.toContain('\n');
    expect(escaped.private_key).toContain('-----BEGIN PRIVATE KEY-----\\n');
    const sa = new FirestoreRestStore({ serviceAccount: escaped, collection: COLLECTION, baseUrl: saFake.url, clock });
    expect(await tryLead(sa, { name: fresh('escaped-key'), holder: 'a', ttlMs: 10_000, clock })).toMatchObject({ isLeader: true });
  });

  it('a request without a valid bearer token is refused with 401 and throws', async () => {
    const noAuth = new FirestoreRestStore({ projectId: PROJECT, collection: COLLECTION, baseUrl: saFake.url, getAccessToken: () => 'forged' });
    await expect(noAuth.read('x')).rejects.toMatchObject({ httpStatus: 401, status: 'UNAUTHENTICATED' });
  });
});
