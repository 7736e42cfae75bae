/**
 * `leasehold/firestore` through the official client (`@google-cloud/firestore` 8.x), against two engines:
 *
 * - Google's own Firestore emulator (started for the whole run by test/setup/firestore.ts): the whole conformance
 *   suite, race case included, and a stale one-request renewal refused by the engine's precondition check. This is
 *   the engine that judges compare-and-swap. Where it is not installed these cases are reported as skipped with
 *   the setup's reason.
 * - `@firestore-emulator/server`, an in-process gRPC emulator started here on 127.0.0.1, for what a separate
 *   process cannot give: every Commit captured at its handler (so the test sees the precondition each write
 *   carries), gRPC errors injected before or after a write applies (the client's own retries, lost answers), and a
 *   database clock set apart from the host's. It honours `create()` on an existing document (ALREADY_EXISTS) and
 *   stamps commit and read times, but ignores `lastUpdateTime` preconditions, so its conformance run skips the race
 *   case (with that reason) and serves the wire checks below.
 *
 * The in-process emulator stamps commit and read times with `new Date()`; its handlers run here with a `Date`
 * shifted by a chosen offset, so the database's clock can be set an hour behind or ahead of the host's, or moved
 * on, with nothing between the client and the database: the store must judge expiry by the times it gives.
 */
import { createRequire } from 'node:module';
import { FirestoreServer } from '@firestore-emulator/server';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector } from '../../src/elector.js';
import { getLeader, handOver, release, tryLead } from '../../src/lead.js';
import { type FirestoreLike, FirestoreStore } from '../../src/stores/firestore.js';
import { describeStoreConformance } from '../../src/testing/index.js';
import { EMULATOR_CONTENDERS, emulatorFirestore, expireOnEmulator } from '../support/firestore-emulator.js';
import { expectReadFreeRenewalOnlyWhileSurelyLive } from '../support/firestore-renewal.js';

/** A Commit write as the emulator decoded it (the generated protobuf message's accessors). */
interface CommitWrite {
  update: { name: string; fields: Map<string, unknown> };
  has_update_mask: boolean;
  update_mask: { field_paths: string[] };
  has_current_document: boolean;
  current_document: { has_exists: boolean; exists: boolean; has_update_time: boolean; update_time: { seconds: number; nanos: number } };
}
interface CapturedWrite {
  name: string;
  fields: string[];
  mask: string[] | null;
  precondition: { exists: boolean } | { updateTime: { seconds: number; nanos: number } } | null;
}
type UnaryHandler = (call: { request: { writes: CommitWrite[] } }, callback: (error: unknown, value: unknown) => void) => void;
interface GrpcServerInternals {
  handlers: Map<string, { func: UnaryHandler }>;
  bindAsync(address: string, credentials: unknown, callback: (error: Error | null, port: number) => void): void;
}

const HostDate = Date;

/**
 * Starts the emulator on 127.0.0.1 on a port the OS picks (its own `start(port)` binds every interface), and wraps
 * its Commit handler to capture each write and, on request, to answer the next commit with a gRPC error. Its
 * handlers (synchronous: they take `new Date()` and answer) run with `Date` shifted by the emulator's clock offset.
 */
async function startEmulator() {
  let offsetMs = 0;
  class EmulatorDate extends HostDate {
    constructor(...args: unknown[]) {
      super(...((args.length === 0 ? [HostDate.now() + offsetMs] : args) as [number]));
    }
    static override now(): number {
      return HostDate.now() + offsetMs;
    }
  }
  const onEmulatorClock = (run: () => void) => {
    globalThis.Date = EmulatorDate as DateConstructor;
    try {
      run();
    } finally {
      globalThis.Date = HostDate;
    }
  };
  const emulator = new FirestoreServer();
  const grpc = (emulator as unknown as { server: GrpcServerInternals }).server;
  const commit = grpc.handlers.get('/google.firestore.v1.Firestore/Commit');
  if (!commit) throw new Error('@firestore-emulator/server internals changed: no Commit handler to wrap');
  // The emulator's own copy of grpc-js, so its credentials are the ones its server checks for.
  const emulatorRequire = createRequire(createRequire(import.meta.url).resolve('@firestore-emulator/server'));
  const { ServerCredentials } = emulatorRequire('@grpc/grpc-js') as { ServerCredentials: { createInsecure(): unknown } };
  const captured: CapturedWrite[] = [];
  const calls = { reads: 0, commits: 0 };
  const batchGet = grpc.handlers.get('/google.firestore.v1.Firestore/BatchGetDocuments');
  if (!batchGet) throw new Error('@firestore-emulator/server internals changed: no BatchGetDocuments handler to wrap');
  const originalGet = batchGet.func;
  batchGet.func = (call, callback) => {
    calls.reads++;
    onEmulatorClock(() => originalGet(call, callback));
  };
  let fault: { code: number; details: string; afterApplying: boolean } | undefined;
  const original = commit.func;
  commit.func = (call, callback) => {
    calls.commits++;
    for (const w of call.request.writes) {
      const c = w.current_document;
      captured.push({
        name: w.update.name,
        fields: [...w.update.fields.keys()].sort(),
        mask: w.has_update_mask ? [...w.update_mask.field_paths].sort() : null,
        precondition: !w.has_current_document
          ? null
          : c.has_update_time
            ? { updateTime: { seconds: Number(c.update_time.seconds), nanos: c.update_time.nanos } }
            : c.has_exists
              ? { exists: c.exists }
              : null,
      });
    }
    if (fault) {
      const { code, details, afterApplying } = fault;
      const error = { code, details, message: details };
      fault = undefined;
      // The write applies (or not), and then the answer is this error: a lost answer, from the client's side.
      if (afterApplying) onEmulatorClock(() => original(call, () => callback(error, null)));
      else callback(error, null);
      return;
    }
    onEmulatorClock(() => original(call, callback));
  };
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    port,
    captured,
    calls,
    /** Answers the next commit with this gRPC error; with `afterApplying`, only after the write applied. */
    failNextCommit: (code: number, details: string, afterApplying = false) => {
      fault = { code, details, afterApplying };
    },
    /** The emulator's clock minus the host's, in ms. */
    get clockOffsetMs() {
      return offsetMs;
    },
    /** Sets the emulator's clock to the host's + `ms` (commit, update and read times alike). */
    setClockOffset: (ms: number) => {
      offsetMs = ms;
    },
    stop: () => emulator.stop(),
  };
}

const emulator = await startEmulator();
const PROJECT = 'demo-leasehold';
const COLLECTION = 'leases';

// The client obeys FIRESTORE_EMULATOR_HOST over explicit settings (each client reads it when built): the tests
// connect to Google's emulator through explicit settings, so hide the variable from every client built here.
delete process.env.FIRESTORE_EMULATOR_HOST;
const db = new Firestore({ projectId: PROJECT, host: '127.0.0.1', port: emulator.port, ssl: false, credentials: { client_email: 'x@x', private_key: 'x' } });
const googleHost = inject('firestoreEmulatorHost');
const googleSkip = inject('firestoreEmulatorSkip');

afterAll(async () => {
  await db.terminate();
  emulator.stop();
});

const store = new FirestoreStore({ firestore: db, collection: COLLECTION });

/**
 * Ages a lease on Firestore's clock: an update by someone else (no precondition, marked so the wire check can
 * tell it from the store's own writes) sets ttlMs to 0, so the lease ran out at that commit time.
 */
async function expire(name: string): Promise<void> {
  await db.collection(COLLECTION).doc(name).update({ ttlMs: 0, expiredByTest: true });
}

const NO_CAS =
  "@firestore-emulator/server ignores lastUpdateTime preconditions, so it cannot judge concurrent compare-and-swap; this case runs against Google's emulator (firestore (Google's emulator, gRPC) conformance)";

/** Longer than any lease the conformance suite takes. */
const LAPSE_MS = 60_000;

// Leases run out the way they do in production: time passes on Firestore's clock and on the host's alike (the
// store and its callers share one manual clock), with no write by anyone; so this engine, which ignores
// preconditions, still judges the expiry cases faithfully.
describeStoreConformance(
  'firestore (@firestore-emulator/server, gRPC)',
  () => {
    const clock = new ManualClock();
    return {
      store: new FirestoreStore({ firestore: db, collection: COLLECTION, clock }),
      clock,
      expire: async () => {
        emulator.setClockOffset(emulator.clockOffsetMs + LAPSE_MS);
        clock.advance(LAPSE_MS);
      },
    };
  },
  { skip: { race: NO_CAS } },
);

if (googleHost) {
  const official = emulatorFirestore(googleHost);
  afterAll(() => official.terminate());
  const officialCollection = `grpc_leases_${process.pid}`;
  const officialStore = new FirestoreStore({ firestore: official, collection: officialCollection });
  describeStoreConformance(
    "firestore (Google's emulator, gRPC)",
    () => ({ store: officialStore, clock: new ManualClock(), expire: (name) => expireOnEmulator(googleHost, officialCollection, name) }),
    { contenders: EMULATOR_CONTENDERS, rounds: 10 },
  );

  describe("firestore (Google's emulator, gRPC): stale one-request renewal", () => {
    it('a holder renewing from what it saw last is refused by the precondition once someone else took over', async () => {
      // The client, watched only to tell which updates the engine refused; the database is Google's emulator.
      const outcomes: string[] = [];
      const watched: FirestoreLike = {
        collection: (path) => ({
          doc: (id) => {
            const ref = official.collection(path).doc(id);
            return {
              get: () => ref.get(),
              create: (data) => ref.create(data),
              update: (data, precondition) =>
                ref.update(data, precondition as never).then(
                  (result) => {
                    outcomes.push('applied');
                    return result;
                  },
                  (error: { code?: unknown }) => {
                    outcomes.push(`refused ${String(error.code)}`);
                    throw error;
                  },
                ),
            };
          },
        }),
      };
      const clock = new ManualClock();
      const name = `stale-${Date.now().toString(36)}`;
      const x = new FirestoreStore({ firestore: watched, collection: officialCollection });
      const y = new FirestoreStore({ firestore: watched, collection: officialCollection });
      const a = await tryLead(x, { name, holder: 'a', ttlMs: 10_000, clock });
      await expireOnEmulator(googleHost, officialCollection, name);
      const b = await tryLead(y, { name, holder: 'b', ttlMs: 10_000, clock });
      expect(b).toMatchObject({ isLeader: true, token: a.token + 1 });
      outcomes.length = 0;
      // x still holds a's lease as surely live (moments ago, on its clock) and sends the one-request renewal with the
      // update time it wrote; the engine refuses it (FAILED_PRECONDITION), and x reads and reports b.
      expect(await tryLead(x, { name, holder: 'a', ttlMs: 10_000, clock })).toMatchObject({ isLeader: false, leader: 'b', token: b.token });
      expect(outcomes).toEqual(['refused 9']);
      expect(await release(x, { name, holder: 'a', clock })).toBe(false);
      expect(await getLeader(y, name, { clock })).toMatchObject({ holder: 'b', token: b.token });
    });
  });

  describe("firestore (Google's emulator, gRPC): push wake-ups through a listener", () => {
    it('a release and a handover wake a watcher; a renewal does not', async () => {
      const name = `watch-${Date.now().toString(36)}`;
      let wakes = 0;
      const a = await tryLead(officialStore, { name, holder: 'a', ttlMs: 10_000 });
      const off = officialStore.watch(name, () => {
        wakes++;
      });
      try {
        const until = async (what: string, check: () => boolean) => {
          const end = Date.now() + 15_000;
          while (!check()) {
            if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        };
        // The listener's first snapshot is in when a renewal's arrives after it: renew until the listener has seen two.
        await new Promise((resolve) => setTimeout(resolve, 500));
        await tryLead(officialStore, { name, holder: 'a', ttlMs: 10_000 });
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(wakes).toBe(0);
        expect(await a.release()).toBe(true);
        await until('the release to wake the watcher', () => wakes === 1);
        const b = await tryLead(officialStore, { name, holder: 'b', ttlMs: 10_000 });
        await until('the claim to wake the watcher', () => wakes === 2);
        expect(b.isLeader).toBe(true);
        expect(await handOver(officialStore, { name, holder: 'b', successor: 'c', windowMs: 10_000 })).toBe(true);
        await until('the handover to wake the watcher', () => wakes === 3);
      } finally {
        off();
      }
    });
  });
} else {
  describe("firestore (Google's emulator, gRPC)", () => {
    const notRun = `not run: ${googleSkip}. The in-process emulator cannot judge these (it ignores lastUpdateTime preconditions)`;
    it('conformance suite against a faithful engine, race case included', (ctx) => {
      ctx.skip(notRun);
    });
    it('a holder renewing from what it saw last is refused by the precondition once someone else took over', (ctx) => {
      ctx.skip(notRun);
    });
  });
}

const LEASE_FIELDS = ['acquiredAt', 'data', 'holder', 'token', 'ttlMs', 'version'];
let n = 0;
const fresh = (label: string) => `${label}-${Date.now().toString(36)}-${n++}`;
const docName = (name: string) => `projects/${PROJECT}/databases/(default)/documents/${COLLECTION}/${name}`;
/** Reads and commits the emulator served since `before`. */
const tripsSince = (before: { reads: number; commits: number }) => ({
  reads: emulator.calls.reads - before.reads,
  commits: emulator.calls.commits - before.commits,
});
const HOUR = 3_600_000;

describe('firestore store: preconditions on the wire', () => {
  const clock = new ManualClock();
  const opts = (name: string, holder: string) => ({ name, holder, ttlMs: 10_000, clock });

  it('every write of the conformance run carried exists:false (create) or the lastUpdateTime it read (replace, release)', () => {
    const mine = emulator.captured.filter((w) => w.name.includes(`/documents/${COLLECTION}/conf-`) && !w.fields.includes('expiredByTest'));
    expect(mine.length).toBeGreaterThan(20);
    for (const w of mine) {
      expect(w.fields).toEqual(LEASE_FIELDS);
      if (w.precondition && 'exists' in w.precondition) {
        expect(w.precondition).toEqual({ exists: false });
        expect(w.mask).toBeNull();
      } else {
        expect(w.precondition, JSON.stringify(w)).toMatchObject({ updateTime: { seconds: expect.any(Number), nanos: expect.any(Number) } });
        expect(w.mask).toEqual(LEASE_FIELDS);
      }
    }
    expect(mine.some((w) => w.precondition && 'updateTime' in w.precondition)).toBe(true);
  });

  it('claim, renewal, takeover and release: each write names the exact update time of the state it read', async () => {
    const name = fresh('wire');
    const ref = db.collection(COLLECTION).doc(name);
    const from = emulator.captured.length;
    const updateTimeNow = async () => {
      const t = (await ref.get()).updateTime;
      return { seconds: Number(t?.seconds), nanos: Number(t?.nanoseconds) };
    };

    expect(await tryLead(store, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
    const afterClaim = await updateTimeNow();
    expect(await tryLead(store, opts(name, 'a'))).toMatchObject({ isLeader: true, token: 1 });
    const afterRenew = await updateTimeNow();
    expect(await tryLead(store, opts(name, 'b'))).toMatchObject({ isLeader: false, leader: 'a' });
    await expire(name);
    const afterExpire = await updateTimeNow();
    expect(await tryLead(store, opts(name, 'b'))).toMatchObject({ isLeader: true, token: 2 });
    const afterTakeover = await updateTimeNow();
    expect(await release(store, { name, holder: 'a', clock })).toBe(false);
    expect(await release(store, { name, holder: 'b', clock })).toBe(true);

    const writes = emulator.captured.slice(from).filter((w) => w.name === docName(name));
    expect(writes.map((w) => w.precondition)).toEqual([
      { exists: false }, // claim
      { updateTime: afterClaim }, // renewal
      { exists: true }, // the test's own expire(): a plain update()
      { updateTime: afterExpire }, // takeover
      { updateTime: afterTakeover }, // release by the holder (the stale holder's release wrote nothing)
    ]);
    expect(afterRenew).not.toEqual(afterClaim);
  });

  it('a FAILED_PRECONDITION answer (what Firestore gives a stale compare-and-swap) makes the caller a follower', async () => {
    const name = fresh('stale');
    await tryLead(store, opts(name, 'a'));
    await expire(name);
    emulator.failNextCommit(9, 'FAILED_PRECONDITION: the stored version does not match the required base version');
    expect(await tryLead(store, opts(name, 'b'))).toMatchObject({ isLeader: false });
    const write = { name: fresh('exists'), holder: 'b', token: 1, acquiredAt: null, ttlMs: 10_000, version: 'v-exists', data: null, clientNow: clock.now() };
    emulator.failNextCommit(6, 'ALREADY_EXISTS: entity already exists');
    expect(await store.create(write)).toEqual({ ok: false, current: null });
    emulator.failNextCommit(9, 'FAILED_PRECONDITION: the stored version does not match the required base version');
    const { record } = await store.read(name);
    expect(await store.replace(record?.version ?? '', { ...write, name })).toEqual({ ok: false, current: null });
  });

  it('any other gRPC error fails closed (STORE_UNAVAILABLE, the SDK error kept as cause)', async () => {
    emulator.failNextCommit(7, 'PERMISSION_DENIED: Missing or insufficient permissions.');
    const error = await tryLead(store, opts(fresh('denied'), 'a')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', cause: { code: 7 } });
  });
});

describe('firestore store: the client’s own commit retries (@google-cloud/firestore 8.x)', () => {
  const clock = new ManualClock();
  const lead = (name: string) => tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock });

  it('retries a commit that failed with UNAVAILABLE, ABORTED or RESOURCE_EXHAUSTED; not DEADLINE_EXCEEDED or INTERNAL', async () => {
    for (const [code, label] of [
      [14, 'UNAVAILABLE'],
      [10, 'ABORTED'],
      [8, 'RESOURCE_EXHAUSTED'],
    ] as const) {
      const before = { ...emulator.calls };
      emulator.failNextCommit(code, label);
      expect(await lead(fresh('retried')), label).toMatchObject({ isLeader: true, token: 1 });
      expect(emulator.calls.commits - before.commits, label).toBe(2);
    }
    for (const [code, label] of [
      [4, 'DEADLINE_EXCEEDED'],
      [13, 'INTERNAL'],
    ] as const) {
      const before = { ...emulator.calls };
      emulator.failNextCommit(code, label);
      await expect(lead(fresh('not-retried')), label).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', cause: { code } });
      expect(emulator.calls.commits - before.commits, label).toBe(1);
    }
  });

  it('a create that applied but whose answer was lost: the retry meets its own write (ALREADY_EXISTS), and the caller leads', async () => {
    const name = fresh('lost-create');
    const before = { ...emulator.calls };
    emulator.failNextCommit(14, 'UNAVAILABLE: connection reset', true);
    const result = await lead(name);
    expect(result).toMatchObject({ isLeader: true, leader: 'a', token: 1 });
    // read, commit (applied, answer lost), the client's retry (ALREADY_EXISTS), then a read that finds this version.
    expect(tripsSince(before)).toEqual({ reads: 2, commits: 2 });
  });
});

describe('firestore store: round trips', () => {
  it('a renewal or release by the holder is one request; a claim, takeover or cold renewal is a read and a write', async () => {
    const clock = new ManualClock();
    const name = fresh('trips');
    const warm = new FirestoreStore({ firestore: db, collection: COLLECTION });
    const cold = () => new FirestoreStore({ firestore: db, collection: COLLECTION });
    const lead = (s: FirestoreStore, holder: string) => tryLead(s, { name, holder, ttlMs: 10_000, clock });
    const cases: [string, () => Promise<unknown>, unknown, { reads: number; commits: number }][] = [
      ['claim of a name never held', () => lead(warm, 'a'), { isLeader: true, token: 1 }, { reads: 1, commits: 1 }],
      ['renewal by the holder', () => lead(warm, 'a'), { isLeader: true, token: 1 }, { reads: 0, commits: 1 }],
      ['refused claim', () => lead(warm, 'b'), { isLeader: false, leader: 'a' }, { reads: 1, commits: 0 }],
      ['release by the holder', () => release(warm, { name, holder: 'a', clock }), true, { reads: 0, commits: 1 }],
      ['claim after a release', () => lead(warm, 'b'), { isLeader: true, token: 2 }, { reads: 1, commits: 1 }],
      ['renewal by the holder, from a cold store', () => lead(cold(), 'b'), { isLeader: true, token: 2 }, { reads: 1, commits: 1 }],
      ['release from a cold store', () => release(cold(), { name, holder: 'b', clock }), true, { reads: 1, commits: 1 }],
      ['getLeader', () => getLeader(warm, name), null, { reads: 1, commits: 0 }],
    ];
    for (const [label, run, expected, trips] of cases) {
      const before = { ...emulator.calls };
      const result = await run();
      if (expected === null || typeof expected !== 'object') expect(result, label).toBe(expected);
      else expect(result, label).toMatchObject(expected);
      expect({ reads: emulator.calls.reads - before.reads, commits: emulator.calls.commits - before.commits }, label).toEqual(trips);
    }
    await expire(name);
    const before = { ...emulator.calls };
    expect(await lead(warm, 'c')).toMatchObject({ isLeader: true, token: 3 });
    expect({ reads: emulator.calls.reads - before.reads, commits: emulator.calls.commits - before.commits }, 'takeover').toEqual({ reads: 1, commits: 1 });
  });
});

describe('firestore store', () => {
  const clock = new ManualClock();
  const opts = (name: string, holder: string, extra: object = {}) => ({ name, holder, ttlMs: 10_000, clock, ...extra });

  it('judges expiry by Firestore’s clock: a caller whose clock runs an hour ahead takes nothing early', async () => {
    const name = fresh('skew');
    await tryLead(store, opts(name, 'a'));
    const fastClock = new ManualClock(Date.now() + 3_600_000);
    expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: fastClock })).toMatchObject({ isLeader: false, leader: 'a' });
  });

  it('stamps expiresAt as the commit time + ttl, and acquiredAt as the claim’s commit time', async () => {
    const name = fresh('stamp');
    const lead = await tryLead(store, opts(name, 'a'));
    const snapshot = await db.collection(COLLECTION).doc(name).get();
    expect(lead.expiresAt).toBe((snapshot.updateTime?.toMillis() ?? 0) + 10_000);
    expect(lead.acquiredAt).toBe(snapshot.updateTime?.toMillis());
    expect(snapshot.data()).toMatchObject({ holder: 'a', token: 1, acquiredAt: null, ttlMs: 10_000 });
  });

  it('refuses leases shorter than 3 s, and an Elector renewing more than once a second, before any request (reads included)', async () => {
    const name = fresh('short');
    const before = { ...emulator.calls };
    await expect(tryLead(store, opts(name, 'a', { ttlMs: 2_500, maxClockSkewMs: 500 }))).rejects.toMatchObject({ code: 'INVALID_TTL' });
    expect(() => new Elector(store, { name, holder: 'a', renewEveryMs: 50 })).toThrowError(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => new Elector(store, { name, holder: 'a', ttlMs: 2_000, maxClockSkewMs: 500 })).toThrowError(expect.objectContaining({ code: 'INVALID_TTL' }));
    expect(emulator.calls).toEqual(before);
    expect(store.limits).toEqual({ minTtlMs: 3_000, minWriteIntervalMs: 1_000 });
    expect(await tryLead(store, opts(name, 'a', { ttlMs: 3_000, maxClockSkewMs: 500 }))).toMatchObject({ isLeader: true });
  });

  it('reports a document written by someone else as STORE_CORRUPT', async () => {
    const name = fresh('foreign');
    await db.collection(COLLECTION).doc(name).set({ holder: 42 });
    await expect(getLeader(store, name)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });

  it('refuses bad options with INVALID_STORE, and accepts nested collection paths', async () => {
    for (const bad of [
      {},
      { firestore: {} },
      { firestore: db, collection: 'a/b' },
      { firestore: db, collection: '' },
      { firestore: db, collection: '__x__' },
      { firestore: db, clock: { now: () => 0 } },
    ]) {
      expect(() => new FirestoreStore(bad as never), JSON.stringify(Object.keys(bad))).toThrowError(expect.objectContaining({ code: 'INVALID_STORE' }));
    }
    const nested = new FirestoreStore({ firestore: db, collection: 'tenants/acme/leases' });
    expect(await tryLead(nested, opts(fresh('nested'), 'a'))).toMatchObject({ isLeader: true });
  });
});

describe('firestore store: a warm renewal skips its read only while the lease is surely live', () => {
  it('one request within ttl − skew of the last send; then a read first, and a lease that ran out is a new term', async () => {
    const clock = new ManualClock();
    await expectReadFreeRenewalOnlyWhileSurelyLive({
      store: new FirestoreStore({ firestore: db, collection: COLLECTION, clock }),
      clock,
      name: fresh('lapse'),
      count: () => {
        const before = { ...emulator.calls };
        return () => tripsSince(before);
      },
      advanceEngine: (ms) => emulator.setClockOffset(emulator.clockOffsetMs + ms),
    });
  });
});

describe('firestore store: expiry follows Firestore’s clock (the emulator’s, shifted), not the host’s', () => {
  const host = () => new ManualClock(Date.now());
  const onShiftedEmulator = async (offsetMs: number, run: () => Promise<void>) => {
    const base = emulator.clockOffsetMs;
    emulator.setClockOffset(offsetMs);
    try {
      await run();
    } finally {
      emulator.setClockOffset(base);
    }
  };

  it('emulator an hour behind the host: a lease the host thinks an hour past its expiry is still not taken over', () =>
    onShiftedEmulator(-HOUR, async () => {
      const name = fresh('behind');
      const a = await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock: host() });
      expect(a.expiresAt).toBeLessThan(Date.now() - HOUR + 10_500);
      expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: false, leader: 'a', token: a.token });
      expect(await getLeader(store, name, { clock: host() })).toMatchObject({ holder: 'a' });
      // The emulator's clock passes the expiry; the host's clock did not move for it.
      emulator.setClockOffset(-HOUR + 10_001);
      expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: true, token: a.token + 1 });
    }));

  it('emulator an hour ahead: a lease the host would call live for another hour is taken over once the emulator’s clock passes its expiry', () =>
    onShiftedEmulator(HOUR, async () => {
      const name = fresh('ahead');
      const a = await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock: host() });
      expect(a.expiresAt).toBeGreaterThan(Date.now() + HOUR);
      expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: false, leader: 'a' });
      emulator.setClockOffset(HOUR + 10_001);
      expect(await getLeader(store, name, { clock: host() })).toBeNull();
      expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock: host() })).toMatchObject({ isLeader: true, token: a.token + 1 });
    }));
});
