import { DeleteItemCommand, DescribeTimeToLiveCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { getLeader, type LeadResult, release, tryLead } from '../../src/lead.js';
import { DynamoDBStore, type DynamoDBStoreOptions } from '../../src/stores/dynamodb/index.js';
import { describeStoreConformance, genericOnly } from '../../src/testing/index.js';
import { freePort, localClient } from '../support/engines.js';
import { startSilentServer, timedCall } from '../support/silent-server.js';

const endpoint = inject('dynamodbEndpoint');
const client = localClient(endpoint);
const table = `leases_test_${process.pid}`;
const singleTable = `single_test_${process.pid}`;
const ttlTable = `ttl_test_${process.pid}`;
const store = new DynamoDBStore({ client, table });
// A single table shared with other data: composite key, prefixed keys, renamed attributes.
const singleOptions = {
  table: singleTable,
  keyPrefix: 'lease#',
  partitionKey: 'PK',
  sortKey: { name: 'SK', value: 'LEASE' },
  attributes: { token: 'fencingToken', data: 'payload', holder: 'owner' },
} satisfies Omit<DynamoDBStoreOptions, 'client'>;
const singleStore = new DynamoDBStore({ client, ...singleOptions });

beforeAll(async () => {
  await store.createTable();
  await singleStore.createTable();
});
afterAll(() => {
  client.destroy();
});

describeStoreConformance('dynamodb', () => ({ store, clock: new ManualClock() }), { contenders: 16, rounds: 20 });
describeStoreConformance('dynamodb single-table', () => ({ store: singleStore, clock: new ManualClock() }), { contenders: 8, rounds: 6, names: 10 });

/** A named fault, or `{ answer, message }`: DynamoDB's error answer of that name (a 400), as the cloud gives it where DynamoDB Local does not. */
type Fault = 'throttle' | 'server-error' | 'lose-answer' | 'hold' | { answer: string; message: string };

interface Tapped {
  client: DynamoDBClient;
  /** Operations actually sent on the wire, retries included, e.g. `UpdateItem`. */
  sent: string[];
  /** Injects `fault` into the next `times` sends of `operation` (any operation when omitted). */
  inject(fault: Fault, times?: number, operation?: string): void;
  count(operation?: string): number;
  /** Sends the requests held by `hold` faults now, as the network delivers them late; resolves when the engine answered. */
  deliverHeld(): Promise<void>;
}

/**
 * A client for DynamoDB Local whose HTTP handler is wrapped: it counts every request that goes on the wire
 * (the SDK's retries included), and can make a request fail before it is sent (throttling, as DynamoDB
 * answers it) or lose the answer of a request the engine has already applied (a reset connection).
 */
function tapped(options: { maxAttempts?: number } = {}): Tapped {
  const c = localClient(endpoint, options);
  const handler = c.config.requestHandler as unknown as {
    handle(
      request: { headers: Record<string, string> },
      options?: { abortSignal?: { aborted: boolean } },
    ): Promise<{ response: { body?: { destroy?: () => void } } }>;
  };
  const original = handler.handle.bind(handler);
  const sent: string[] = [];
  const faults: { fault: Fault; operation: string | undefined }[] = [];
  const held: (() => Promise<unknown>)[] = [];
  handler.handle = async (request, handlerOptions) => {
    if (handlerOptions?.abortSignal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    const operation = (request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    sent.push(operation);
    const i = faults.findIndex((f) => f.operation === undefined || f.operation === operation);
    const fault = i >= 0 ? faults.splice(i, 1)[0]?.fault : undefined;
    if (typeof fault === 'object') {
      throw Object.assign(new Error(fault.message), { name: fault.answer, $fault: 'client', $metadata: { httpStatusCode: 400 } });
    }
    if (fault === 'throttle') {
      throw Object.assign(new Error('The level of configured provisioned throughput for the table was exceeded.'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (fault === 'server-error') {
      throw Object.assign(new Error('Internal server error (injected before the engine saw the request)'), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
    }
    if (fault === 'hold') {
      // The request left with its bytes as they are now; the network holds it, and the caller times out.
      held.push(() => original(request));
      throw Object.assign(new Error('Request timed out (injected: the network holds the request; it may still arrive)'), { name: 'TimeoutError' });
    }
    const out = await original(request, handlerOptions);
    if (fault === 'lose-answer') {
      out.response.body?.destroy?.();
      throw Object.assign(new Error('socket hang up (injected after the engine applied the request)'), { code: 'ECONNRESET' });
    }
    return out;
  };
  return {
    client: c,
    sent,
    inject(fault, times = 1, operation) {
      for (let k = 0; k < times; k++) faults.push({ fault, operation });
    },
    count: (operation) => (operation === undefined ? sent.length : sent.filter((o) => o === operation).length),
    async deliverHeld() {
      for (const send of held.splice(0)) await send().catch(() => {});
    },
  };
}

let unique = 0;
const fresh = (label: string) => `${label}-${Date.now().toString(36)}-${unique++}`;
const TTL = 10_000;
const SKEW = 1_000;

describe('dynamodb store: requests per call', () => {
  it('claim from nothing, takeover, refused claim, claim after release, renew and release are one request each, cold or warm', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const name = fresh('count');
    const opts = (holder: string) => ({ name, holder, ttlMs: TTL, maxClockSkewMs: SKEW, clock });
    // A new store for each step that should be measured cold (a fresh Lambda container).
    const cold = () => new DynamoDBStore({ client: t.client, table });
    const warm = cold();
    const cases: [string, () => Promise<unknown>, unknown, number][] = [
      ['claim from nothing', () => tryLead(warm, opts('a')), { isLeader: true }, 1],
      ['renew (warm)', () => tryLead(warm, opts('a')), { isLeader: true }, 1],
      // A holder id reused by a new process: the store tries a new term first, and ALL_OLD says renew.
      ['renew (cold, holder id reused across processes)', () => tryLead(cold(), opts('a')), { isLeader: true }, 2],
      ['refused claim (cold)', () => tryLead(cold(), opts('b')), { isLeader: false, leader: 'a' }, 1],
      ['refused claim (warm)', () => tryLead(warm, opts('b')), { isLeader: false, leader: 'a' }, 1],
      [
        'takeover of an expired lease (warm)',
        async () => {
          clock.advance(TTL + SKEW + 1);
          return tryLead(warm, opts('b'));
        },
        { isLeader: true, leader: 'b' },
        1,
      ],
      [
        'takeover of an expired lease (cold)',
        async () => {
          clock.advance(TTL + SKEW + 1);
          return tryLead(cold(), opts('c'));
        },
        { isLeader: true, leader: 'c' },
        1,
      ],
      ['release (cold)', () => release(cold(), { name, holder: 'c', clock }), true, 1],
      ['claim after release (cold)', () => tryLead(cold(), opts('d')), { isLeader: true, leader: 'd' }, 1],
      ['release (warm)', () => release(warm, { name, holder: 'd', clock }), true, 1],
      ['claim after release (warm)', () => tryLead(warm, opts('e')), { isLeader: true, leader: 'e' }, 1],
      ['getLeader', () => getLeader(cold(), name, { clock }), { holder: 'e' }, 1],
    ];
    const measured: Record<string, number> = {};
    let lastToken = 0;
    for (const [label, run, expected] of cases) {
      const before = t.count();
      const result = await run();
      expect(result, label).toMatchObject(expected as object);
      measured[label] = t.count() - before;
      const token = (result as Partial<LeadResult>).token;
      if (typeof token === 'number' && (result as LeadResult).isLeader) {
        expect(token, label).toBeGreaterThanOrEqual(lastToken);
        lastToken = token;
      }
    }
    console.info('[leasehold] dynamodb requests per call:', measured);
    expect(measured).toEqual(Object.fromEntries(cases.map(([label, , , n]) => [label, n])));
    t.client.destroy();
  });

  it('a contender whose store saw another holder live polls with one consistent read (no write); a lease released elsewhere meanwhile is claimed with the read and one write', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const name = fresh('poll');
    const opts = (holder: string) => ({ name, holder, ttlMs: TTL, maxClockSkewMs: SKEW, clock });
    const holder = new DynamoDBStore({ client: t.client, table });
    const contender = new DynamoDBStore({ client: t.client, table });
    expect(await tryLead(holder, opts('a'))).toMatchObject({ isLeader: true });
    let before = t.count();
    // Cold: the claim itself is refused (ALL_OLD says who holds it).
    expect(await tryLead(contender, opts('b'))).toMatchObject({ isLeader: false, leader: 'a' });
    expect(t.sent.slice(before)).toEqual(['UpdateItem']);
    // Warm, the lease still live on its clock: a read answers, and the lease is untouched by the contender.
    const renewed = await tryLead(holder, opts('a'));
    before = t.count();
    const polled = await tryLead(contender, opts('b'));
    expect(polled).toMatchObject({ isLeader: false, leader: 'a', token: renewed.token });
    expect(polled.expiresAt).toBe(renewed.expiresAt);
    expect(t.sent.slice(before)).toEqual(['GetItem']);
    // Released through another store: the read shows it claimable and the claim follows, a new term.
    expect(await release(new DynamoDBStore({ client: t.client, table }), { name, holder: 'a', clock })).toBe(true);
    before = t.count();
    expect(await tryLead(contender, opts('b'))).toMatchObject({ isLeader: true, leader: 'b', token: renewed.token + 1 });
    expect(t.sent.slice(before)).toEqual(['GetItem', 'UpdateItem']);
    // Expired on the store's own record of it: the claim goes straight to the write.
    clock.advance(TTL + SKEW + 1);
    before = t.count();
    expect(await tryLead(holder, opts('a'))).toMatchObject({ isLeader: true, leader: 'a', token: renewed.token + 2 });
    expect(t.sent.slice(before)).toEqual(['UpdateItem']);
    t.client.destroy();
  });

  it('a renewal, a release and a claim after its own release pinned to a known state send nothing back, and answer what the table holds', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const name = fresh('known');
    const s = new DynamoDBStore({ client: t.client, table });
    const opts = { name, holder: 'a', ttlMs: TTL, maxClockSkewMs: SKEW, clock, data: 'x' };
    const returned: unknown[] = [];
    t.client.middlewareStack.add(
      (next) => async (args) => {
        returned.push((args.input as { ReturnValues?: string }).ReturnValues);
        return next(args);
      },
      { step: 'initialize', name: 'returnValues' },
    );
    const agree = async (label: string, won: LeadResult) => {
      const { record } = await store.read(name);
      expect(record, label).toMatchObject({ holder: won.leader, token: won.token, version: expect.any(String), data: won.data });
      expect(won.expiresAt, label).toBe(record?.expiresAt);
    };
    const first = await tryLead(s, opts);
    await agree('claim', first);
    clock.advance(1_000);
    const renewed = await tryLead(s, opts);
    expect(renewed).toMatchObject({ isLeader: true, token: first.token });
    await agree('renewal', renewed);
    expect(await release(s, { name, holder: 'a', clock })).toBe(true);
    expect((await store.read(name)).record).toMatchObject({ holder: null, token: first.token, data: null });
    const again = await tryLead(s, { ...opts, data: 'y' });
    expect(again).toMatchObject({ isLeader: true, token: first.token + 1, data: 'y' });
    await agree('claim after release', again);
    expect(returned.filter((r) => r !== undefined)).toEqual(['ALL_NEW', 'NONE', 'NONE', 'NONE']);
    t.client.destroy();
  });

  it('tryLead by the same contender under contention stays one request per attempt: 12 contenders, one winner', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const name = fresh('contend');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        tryLead(new DynamoDBStore({ client: t.client, table }), { name, holder: `c${i}`, ttlMs: TTL, maxClockSkewMs: SKEW, clock }),
      ),
    );
    expect(results.filter((r) => r.isLeader)).toHaveLength(1);
    expect(t.count()).toBe(12);
    t.client.destroy();
  });
});

describe('dynamodb store: operations used (what IAM must allow)', () => {
  it('a whole lifecycle, fused and generic paths, sends only GetItem and UpdateItem', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const s = new DynamoDBStore({ client: t.client, table });
    for (const path of [s, genericOnly(s)]) {
      const name = fresh('iam');
      const o = (holder: string) => ({ name, holder, ttlMs: TTL, maxClockSkewMs: SKEW, clock });
      await tryLead(path, o('a'));
      await tryLead(path, o('a'));
      await tryLead(path, o('b'));
      clock.advance(TTL + SKEW + 1);
      await tryLead(path, o('b'));
      await release(path, { name, holder: 'b', clock });
      await tryLead(path, o('c'));
      await getLeader(path, name, { clock });
    }
    expect(new Set(t.sent)).toEqual(new Set(['GetItem', 'UpdateItem']));
    t.client.destroy();
  });
});

describe('dynamodb store: an engine that sends no item with a failed condition', () => {
  it('falls back to one consistent read: a refused claim costs two requests and still reports the holder', async () => {
    const clock = new ManualClock();
    const t = tapped();
    // Drops ALL_OLD from every ConditionalCheckFailedException, as an engine without it would answer.
    t.client.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          if ((error as { name?: string }).name === 'ConditionalCheckFailedException') delete (error as { Item?: unknown }).Item;
          throw error;
        }
      },
      { step: 'initialize', name: 'stripAllOld' },
    );
    const name = fresh('no-all-old');
    const a = await tryLead(store, { name, holder: 'a', ttlMs: TTL, maxClockSkewMs: SKEW, clock });
    const before = t.count();
    const b = await tryLead(new DynamoDBStore({ client: t.client, table }), { name, holder: 'b', ttlMs: TTL, maxClockSkewMs: SKEW, clock });
    expect(b).toMatchObject({ isLeader: false, leader: 'a', token: a.token });
    expect(t.sent.slice(before)).toEqual(['UpdateItem', 'GetItem']);
    expect(await release(new DynamoDBStore({ client: t.client, table }), { name, holder: 'b', clock })).toBe(false);
    t.client.destroy();
  });
});

describe('dynamodb store: ambiguous writes', () => {
  const opts = (name: string, holder: string, clock: ManualClock) => ({ name, holder, ttlMs: TTL, maxClockSkewMs: SKEW, clock });

  it('a claim whose answer was lost after it applied (no SDK retry) is resolved by reading back its version', async () => {
    const clock = new ManualClock();
    const t = tapped({ maxAttempts: 1 });
    const s = new DynamoDBStore({ client: t.client, table });
    const name = fresh('lost');
    t.inject('lose-answer', 1, 'UpdateItem');
    const lead = await tryLead(s, opts(name, 'a', clock));
    expect(lead).toMatchObject({ isLeader: true, leader: 'a' });
    expect(lead.remainingMs()).toBe(TTL - SKEW);
    expect(t.sent).toEqual(['UpdateItem', 'GetItem']);
    expect(await tryLead(store, opts(name, 'b', clock))).toMatchObject({ isLeader: false, leader: 'a', token: lead.token });
    t.client.destroy();
  });

  it('the SDK retry that meets its own earlier takeover as ConditionalCheckFailed is recognised from the ALL_OLD item', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const s = new DynamoDBStore({ client: t.client, table });
    const name = fresh('retry-takeover');
    const a = await tryLead(s, opts(name, 'a', clock));
    clock.advance(TTL + SKEW + 1);
    t.inject('lose-answer', 1, 'UpdateItem');
    const before = t.count();
    // The takeover applies, its answer is lost, and the SDK's retry fails its condition (now b's live lease).
    const b = await tryLead(s, opts(name, 'b', clock));
    expect(t.sent.slice(before)).toEqual(['UpdateItem', 'UpdateItem']);
    expect(b).toMatchObject({ isLeader: true, leader: 'b', token: a.token + 1 });
    expect(await getLeader(store, name, { clock, maxClockSkewMs: SKEW })).toMatchObject({ holder: 'b', token: a.token + 1 });
    t.client.destroy();
  });

  it('the SDK retry of a claim from nothing re-applies as a no-op renewal: leader, token unchanged', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const name = fresh('retry-create');
    t.inject('lose-answer', 1, 'UpdateItem');
    const a = await tryLead(new DynamoDBStore({ client: t.client, table }), opts(name, 'a', clock));
    expect(t.sent).toEqual(['UpdateItem', 'UpdateItem']);
    expect(a).toMatchObject({ isLeader: true, leader: 'a' });
    expect(await getLeader(store, name, { clock })).toMatchObject({ holder: 'a', token: a.token });
    t.client.destroy();
  });

  it('the generic path and release recognise their own retried writes too', async () => {
    const clock = new ManualClock();
    const t = tapped();
    const s = new DynamoDBStore({ client: t.client, table });
    const name = fresh('retry-generic');
    t.inject('lose-answer', 1, 'UpdateItem');
    const a = await tryLead(genericOnly(s), opts(name, 'a', clock));
    expect(t.sent).toEqual(['GetItem', 'UpdateItem', 'UpdateItem']);
    expect(a).toMatchObject({ isLeader: true, leader: 'a' });
    t.inject('lose-answer', 1, 'UpdateItem');
    expect(await release(s, { name, holder: 'a', clock })).toBe(true);
    expect(await getLeader(store, name, { clock })).toBeNull();
    t.client.destroy();
  });

  it('contenders whose answers are lost never make two leaders', async () => {
    for (let round = 0; round < 5; round++) {
      const clock = new ManualClock();
      const name = fresh('lost-race');
      const clients = Array.from({ length: 10 }, (_, i) => tapped({ maxAttempts: i % 2 === 0 ? 1 : 3 }));
      for (const c of clients) c.inject('lose-answer', 1, 'UpdateItem');
      const settled = await Promise.allSettled(clients.map((c, i) => tryLead(new DynamoDBStore({ client: c.client, table }), opts(name, `c${i}`, clock))));
      const leaders = settled.filter((r): r is PromiseFulfilledResult<LeadResult> => r.status === 'fulfilled' && r.value.isLeader);
      for (const r of settled) if (r.status === 'rejected') expect(isLeaseholdError(r.reason, 'STORE_UNAVAILABLE')).toBe(true);
      // The write that won always applied, and its caller always learns it: by the SDK retry or by reading back.
      expect(leaders).toHaveLength(1);
      expect(await getLeader(store, name, { clock })).toMatchObject({ holder: leaders[0]?.value.leader });
      for (const c of clients) c.client.destroy();
    }
  });
});

describe('dynamodb store: throttling and failures', () => {
  const opts = (name: string, holder: string, clock: ManualClock, ttlMs = TTL) => ({ name, holder, ttlMs, maxClockSkewMs: SKEW, clock });

  it('throttled twice, the SDK retries with backoff and the claim succeeds', async () => {
    const clock = new ManualClock();
    const t = tapped({ maxAttempts: 3 });
    const name = fresh('throttle-ok');
    t.inject('throttle', 2, 'UpdateItem');
    const lead = await tryLead(new DynamoDBStore({ client: t.client, table }), opts(name, 'a', clock));
    expect(lead.isLeader).toBe(true);
    expect(t.sent).toEqual(['UpdateItem', 'UpdateItem', 'UpdateItem']);
    t.client.destroy();
  });

  it('throttled past the retry budget, it fails closed with STORE_UNAVAILABLE and nobody leads', async () => {
    const clock = new ManualClock();
    const t = tapped({ maxAttempts: 2 });
    const name = fresh('throttle-fail');
    t.inject('throttle', 10);
    await expect(tryLead(new DynamoDBStore({ client: t.client, table }), opts(name, 'a', clock))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await getLeader(store, name, { clock })).toBeNull();
    t.client.destroy();
  });

  it('stops retrying when the lease window runs out, then fails closed', async () => {
    const clock = new ManualClock();
    const t = tapped({ maxAttempts: 50 });
    const name = fresh('throttle-budget');
    t.inject('throttle', 1_000, 'UpdateItem');
    const started = performance.now();
    // ttl 1.5 s, skew 1 s: a window of 0.5 s, after which the request is aborted.
    await expect(tryLead(new DynamoDBStore({ client: t.client, table }), opts(name, 'a', clock, 1_500))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(t.count('UpdateItem')).toBeLessThan(10);
    expect(await getLeader(store, name, { clock })).toBeNull();
    t.client.destroy();
  });

  it('500 InternalServerError twice: the SDK retries and the claim succeeds; past the retries it fails closed', async () => {
    const clock = new ManualClock();
    const t = tapped({ maxAttempts: 3 });
    const name = fresh('server-error');
    t.inject('server-error', 2, 'UpdateItem');
    expect(await tryLead(new DynamoDBStore({ client: t.client, table }), opts(name, 'a', clock))).toMatchObject({ isLeader: true });
    expect(t.sent).toEqual(['UpdateItem', 'UpdateItem', 'UpdateItem']);
    const other = fresh('server-error-fail');
    t.inject('server-error', 10);
    await expect(tryLead(new DynamoDBStore({ client: t.client, table }), opts(other, 'a', clock))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await getLeader(store, other, { clock })).toBeNull();
    t.client.destroy();
  });

  it('says how to fix a missing table, and a table whose key does not match', async () => {
    const clock = new ManualClock();
    const missing = new DynamoDBStore({ client, table: 'no_such_leases_table' });
    await expect(tryLead(missing, opts('x', 'a', clock))).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('createTable()'),
    });
    const wrongKey = new DynamoDBStore({ client, table, partitionKey: 'id' });
    await expect(tryLead(wrongKey, opts('x', 'a', clock))).rejects.toMatchObject({ code: 'INVALID_STORE', message: expect.stringContaining('partitionKey') });
    await expect(wrongKey.checkTable()).rejects.toMatchObject({ code: 'INVALID_STORE' });
    await expect(store.checkTable()).resolves.toBeUndefined();
  });
});

describe('dynamodb store: options and layout', () => {
  it('refuses invalid options before sending anything', () => {
    const t = tapped();
    const bad: unknown[] = [
      undefined,
      null,
      {},
      { table },
      { client: {}, table },
      { client: t.client },
      { client: t.client, table: 'ab' },
      { client: t.client, table: 'has space' },
      { client: t.client, table: 'x'.repeat(256) },
      { client: t.client, table: 42 },
      { client: t.client, table, keyPrefix: 7 },
      { client: t.client, table, keyPrefix: 'p'.repeat(1_921) },
      // DynamoDB counts bytes (UTF-8): 700 × "€" is 2 100 bytes.
      { client: t.client, table, keyPrefix: '€'.repeat(700) },
      { client: t.client, table, keyPrefix: 'lone \uD800' },
      { client: t.client, table, sortKey: { name: 'sk', value: '€'.repeat(1_024) } },
      { client: t.client, table, partitionKey: '€'.repeat(255) },
      { client: t.client, table, attributes: { toString: 'x' } },
      { client: t.client, table, attributes: { constructor: 'x' } },
      { client: t.client, table: 1n },
      { client: t.client, table, keyPrefix: 1n },
      { client: t.client, table, partitionKey: 1n },
      { client: t.client, table, attributes: { token: 1n } },
      { client: t.client, table, ttlAttribute: 1n },
      { client: t.client, table, ttlAttribute: 'ttl', ttlRetentionMs: 1n },
      { client: t.client, table, timeoutMs: 0 },
      { client: t.client, table, timeoutMs: 1n },
      { client: t.client, table, timeoutMs: Number.POSITIVE_INFINITY },
      { client: t.client, table, partitionKey: '' },
      { client: t.client, table, sortKey: { name: 'sk' } },
      { client: t.client, table, sortKey: { name: '', value: 'v' } },
      { client: t.client, table, attributes: { tokenn: 'x' } },
      { client: t.client, table, attributes: { token: '' } },
      { client: t.client, table, attributes: { token: 'holder' } },
      { client: t.client, table, attributes: { holder: 'pk' } },
      { client: t.client, table, ttlAttribute: '' },
      { client: t.client, table, ttlAttribute: 'expiresAt' },
      { client: t.client, table, ttlAttribute: 'ttl', ttlRetentionMs: 60_000 },
      { client: t.client, table, ttlAttribute: 'ttl', ttlRetentionMs: Number.NaN },
      { client: t.client, table, ttlAttribute: 'ttl', ttlRetentionMs: '1d' },
    ];
    for (const options of bad) {
      expect(
        () => new DynamoDBStore(options as DynamoDBStoreOptions),
        JSON.stringify(options, (k, v) => (k === 'client' ? '<client>' : typeof v === 'bigint' ? `${v}n` : v)),
      ).toThrowError(expect.objectContaining({ code: 'INVALID_STORE', name: 'LeaseholdError' }));
    }
    expect(new DynamoDBStore({ client: t.client, table: 'arn:aws:dynamodb:eu-west-1:123456789012:table/leases' }).tableName).toContain('table/leases');
    expect(t.count()).toBe(0);
    t.client.destroy();
  });

  it('judges and stamps time with the caller clock only (a clock in 2030 writes 2030 times)', async () => {
    const clock = new ManualClock(Date.UTC(2030, 5, 1));
    const name = fresh('clock');
    const lead = await tryLead(store, { name, holder: 'a', ttlMs: TTL, clock });
    expect(lead.expiresAt).toBe(clock.now() + TTL);
    expect(lead.acquiredAt).toBe(clock.now());
    // A new record's token starts at the claim time in ms, so a recreated record still gets a larger one.
    expect(lead.token).toBe(clock.now());
  });

  it('keeps leases in a shared single table: prefixed keys, a constant sort key, renamed attributes, other items untouched', async () => {
    const clock = new ManualClock();
    const name = fresh('single');
    const neighbour = { PK: { S: `lease#${name}` }, SK: { S: 'PROFILE' }, owner: { S: 'someone else' } };
    await client.send(new PutItemCommand({ TableName: singleTable, Item: neighbour }));
    const lead = await tryLead(singleStore, { name, holder: 'a', ttlMs: TTL, clock, data: '{"x":1}' });
    expect(lead).toMatchObject({ isLeader: true, data: '{"x":1}' });
    const { Item } = await client.send(
      new GetItemCommand({ TableName: singleTable, Key: { PK: { S: `lease#${name}` }, SK: { S: 'LEASE' } }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({
      owner: { S: 'a' },
      fencingToken: { N: String(lead.token) },
      payload: { S: '{"x":1}' },
      expiresAt: { N: String(lead.expiresAt) },
    });
    expect(Item?.token).toBeUndefined();
    const other = await client.send(new GetItemCommand({ TableName: singleTable, Key: { PK: neighbour.PK, SK: neighbour.SK }, ConsistentRead: true }));
    expect(other.Item).toEqual(neighbour);
  });

  it('sets the TTL attribute long after expiry (epoch seconds), and a record deleted by TTL comes back with a larger token', async () => {
    const retention = 2 * 24 * 60 * 60 * 1000;
    const ttlStore = new DynamoDBStore({ client, table: ttlTable, ttlAttribute: 'deleteAfter', ttlRetentionMs: retention });
    await ttlStore.createTable();
    await ttlStore.createTable();
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: ttlTable }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'deleteAfter', TimeToLiveStatus: 'ENABLED' });
    const clock = new ManualClock();
    const name = fresh('ttl');
    const key = { pk: { S: name } };
    const raw = async () => (await client.send(new GetItemCommand({ TableName: ttlTable, Key: key, ConsistentRead: true }))).Item;
    const first = await tryLead(ttlStore, { name, holder: 'a', ttlMs: TTL, clock });
    expect((await raw())?.deleteAfter).toEqual({ N: String(Math.ceil((first.expiresAt + retention) / 1000)) });
    clock.advance(3_000);
    const renewed = await tryLead(ttlStore, { name, holder: 'a', ttlMs: TTL, clock });
    expect((await raw())?.deleteAfter).toEqual({ N: String(Math.ceil((renewed.expiresAt + retention) / 1000)) });
    expect(await release(ttlStore, { name, holder: 'a', clock })).toBe(true);
    // Many changes of holder in a burst (faster than DynamoDB itself would allow per item).
    let last = renewed.token;
    for (let i = 0; i < 20; i++) {
      const holder = `h${i}`;
      const lead = await tryLead(ttlStore, { name, holder, ttlMs: TTL, clock });
      expect(lead.isLeader).toBe(true);
      expect(lead.token).toBeGreaterThan(last);
      last = lead.token;
      expect(await release(ttlStore, { name, holder, clock })).toBe(true);
    }
    const releasedAt = clock.now();
    expect((await raw())?.deleteAfter).toEqual({ N: String(Math.ceil((releasedAt + retention) / 1000)) });
    // DynamoDB deletes the item some time after deleteAfter; here we delete it ourselves at that time.
    clock.advance(retention + 1_000);
    await client.send(new DeleteItemCommand({ TableName: ttlTable, Key: key }));
    const reborn = await tryLead(new DynamoDBStore({ client, table: ttlTable, ttlAttribute: 'deleteAfter', ttlRetentionMs: retention }), {
      name,
      holder: 'z',
      ttlMs: TTL,
      clock,
    });
    expect(reborn.isLeader).toBe(true);
    expect(reborn.token).toBeGreaterThan(last);
    // The generic path seeds the same way.
    await client.send(new DeleteItemCommand({ TableName: ttlTable, Key: key }));
    clock.advance(retention + 1_000);
    const again = await tryLead(genericOnly(ttlStore), { name, holder: 'y', ttlMs: TTL, clock });
    expect(again.token).toBeGreaterThan(reborn.token);
  });
});

describe('dynamodb store: late and silent requests (README safety: "Lost answers and late writes", "Fail closed, and every call settles")', () => {
  it('a renewal the network held, delivered after the holder started a new term, is refused: no second leader', async () => {
    // The probe's sequence: ttl 1.5 s, skew 0.1 s; A's renewal is held by the network and A gives up; A's lease
    // lapses and A starts a new term; then the held renewal reaches DynamoDB with its old send time.
    const clock = new ManualClock();
    const t = tapped({ maxAttempts: 1 });
    const a = new DynamoDBStore({ client: t.client, table });
    const name = fresh('held-renewal');
    const opts = (holder: string) => ({ name, holder, ttlMs: 1_500, maxClockSkewMs: 100, clock });
    const first = await tryLead(a, opts('a'));
    expect(first.isLeader).toBe(true);
    clock.advance(500);
    t.inject('hold', 1, 'UpdateItem');
    await expect(tryLead(a, opts('a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    clock.advance(1_200);
    const again = await tryLead(a, opts('a'));
    expect(again).toMatchObject({ isLeader: true, leader: 'a' });
    expect(again.token).toBe(first.token + 1);
    const before = await store.read(name);
    await t.deliverHeld();
    const after = await store.read(name);
    // The late write changed nothing: same state, same expiry (never moved backwards).
    expect(after.record).toEqual(before.record);
    // To the last millisecond of A's validity, B cannot take the lease.
    clock.advance(again.remainingMs() - 1);
    expect(again.stillLeader()).toBe(true);
    expect(await tryLead(store, opts('b'))).toMatchObject({ isLeader: false, leader: 'a' });
    t.client.destroy();
  });

  it('a release the network held, delivered after the holder renewed, is refused', async () => {
    const clock = new ManualClock();
    const t = tapped({ maxAttempts: 1 });
    const a = new DynamoDBStore({ client: t.client, table });
    const name = fresh('held-release');
    const opts = (holder: string) => ({ name, holder, ttlMs: 1_500, maxClockSkewMs: 100, clock });
    const first = await tryLead(a, opts('a'));
    t.inject('hold', 1, 'UpdateItem');
    await expect(release(a, { name, holder: 'a', clock })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    clock.advance(300);
    const renewed = await tryLead(a, opts('a'));
    expect(renewed).toMatchObject({ isLeader: true, token: first.token });
    await t.deliverHeld();
    expect(await getLeader(store, name, { clock })).toMatchObject({ holder: 'a', token: first.token });
    expect(await tryLead(store, opts('b'))).toMatchObject({ isLeader: false, leader: 'a' });
    t.client.destroy();
  });

  it('an endpoint that accepts connections and never answers: tryLead, release and getLeader settle within their bounds', async () => {
    const silent = await startSilentServer();
    const port = silent.port;
    const c = localClient(`http://127.0.0.1:${port}`, { maxAttempts: 1 });
    const s = new DynamoDBStore({ client: c, table, timeoutMs: 400 });
    try {
      // The real clock: a Lambda on a silent endpoint must not burn its whole timeout.
      const lead = await timedCall(() => tryLead(s, { name: fresh('silent'), holder: 'a', ttlMs: 60_000, maxClockSkewMs: 1_000 }));
      const shortLease = await timedCall(() =>
        tryLead(new DynamoDBStore({ client: c, table }), { name: fresh('silent'), holder: 'a', ttlMs: 600, maxClockSkewMs: 100 }),
      );
      const rel = await timedCall(() => release(s, { name: fresh('silent'), holder: 'a' }));
      const get = await timedCall(() => getLeader(s, fresh('silent')));
      console.info('[leasehold] silent DynamoDB endpoint, ms to fail closed:', {
        tryLead: lead.ms,
        tryLeadShortLease: shortLease.ms,
        release: rel.ms,
        getLeader: get.ms,
      });
      for (const [label, r, bound] of [
        ['tryLead (bounded by timeoutMs 400)', lead, 400],
        ['tryLead (bounded by its 500 ms validity window)', shortLease, 500],
        ['release', rel, 400],
        ['getLeader', get, 400],
      ] as const) {
        expect(r.code, label).toBe('STORE_UNAVAILABLE');
        expect(r.ms, label).toBeGreaterThanOrEqual(bound - 5);
        expect(r.ms, label).toBeLessThan(bound + 400);
      }
      // Each request was aborted at its call's bound (the SDK got the call's signal), not left waiting on its socket.
      const deadline = performance.now() + 1_000;
      while (silent.openSockets() > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(silent.openSockets()).toBe(0);
    } finally {
      c.destroy();
      await silent.close();
    }
  });
});

/**
 * `createTable()` at every cold start, many at once (issue 18): each call with its own client, as 24 Lambda
 * environments starting together would. A fresh table per test.
 */
describe('dynamodb store: createTable() run concurrently, and its failures', () => {
  let tables = 0;
  const freshTable = () => `create_${process.pid}_${++tables}`;

  /** Runs createTable() from `n` clients at once; lists the failures. */
  async function createConcurrently(options: Omit<DynamoDBStoreOptions, 'client'>, n = 24): Promise<string[]> {
    const clients = Array.from({ length: n }, () => localClient(endpoint));
    try {
      const results = await Promise.allSettled(clients.map((c) => new DynamoDBStore({ client: c, ...options }).createTable()));
      return results.flatMap((r) =>
        r.status === 'rejected' ? [`${(r.reason as { code?: string; name?: string }).code ?? (r.reason as Error).name}: ${(r.reason as Error).message}`] : [],
      );
    } finally {
      for (const c of clients) c.destroy();
    }
  }

  it('24 at once on a new table all resolve; then the store works', async () => {
    const t = freshTable();
    expect(await createConcurrently({ table: t })).toEqual([]);
    expect(await tryLead(new DynamoDBStore({ client, table: t }), { name: 'after-create', holder: 'a', ttlMs: TTL })).toMatchObject({ isLeader: true });
  });

  it('24 at once on a table that exists all resolve', async () => {
    const t = freshTable();
    await new DynamoDBStore({ client, table: t }).createTable();
    expect(await createConcurrently({ table: t })).toEqual([]);
    expect(await tryLead(new DynamoDBStore({ client, table: t }), { name: 'after-create', holder: 'a', ttlMs: TTL })).toMatchObject({ isLeader: true });
  });

  it('24 at once with a TTL attribute (concurrent UpdateTimeToLive) all resolve, and TTL is on', async () => {
    const t = freshTable();
    expect(await createConcurrently({ table: t, ttlAttribute: 'deleteAfter' })).toEqual([]);
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: t }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'deleteAfter', TimeToLiveStatus: 'ENABLED' });
    // Again, on the table as it is now.
    expect(await createConcurrently({ table: t, ttlAttribute: 'deleteAfter' }, 8)).toEqual([]);
  });

  it('waits out DescribeTable not yet seeing a table just created (DynamoDB answers it eventually consistently)', async () => {
    const t = tapped();
    const name = freshTable();
    await new DynamoDBStore({ client, table: name }).createTable();
    t.inject({ answer: 'ResourceNotFoundException', message: `Requested resource not found: Table: ${name} not found` }, 2, 'DescribeTable');
    try {
      await new DynamoDBStore({ client: t.client, table: name }).createTable();
      expect(t.count('DescribeTable')).toBeGreaterThanOrEqual(3);
    } finally {
      t.client.destroy();
    }
  });

  it('a TTL another caller is enabling counts as enabled (AWS refuses the second change); a different TTL attribute is INVALID_STORE', async () => {
    const name = freshTable();
    await new DynamoDBStore({ client, table: name, ttlAttribute: 'deleteAfter' }).createTable();
    const t = tapped();
    // What AWS answers a second UpdateTimeToLive while the first is being applied (DynamoDB Local takes it at once).
    t.inject({ answer: 'ValidationException', message: 'Time to live has been modified multiple times within a fixed interval' }, 1, 'UpdateTimeToLive');
    try {
      await new DynamoDBStore({ client: t.client, table: name, ttlAttribute: 'deleteAfter' }).createTable();
      expect(t.count('UpdateTimeToLive')).toBe(1);
      await expect(new DynamoDBStore({ client: t.client, table: name, ttlAttribute: 'expireAt' }).createTable()).rejects.toMatchObject({
        code: 'INVALID_STORE',
        message: expect.stringContaining('"deleteAfter"'),
      });
    } finally {
      t.client.destroy();
    }
  });

  it('refused rights say which ones createTable() needs', async () => {
    const t = tapped();
    t.inject(
      { answer: 'AccessDeniedException', message: 'User: arn:aws:sts::123456789012:assumed-role/app is not authorized to perform: dynamodb:CreateTable' },
      1,
      'CreateTable',
    );
    try {
      await expect(new DynamoDBStore({ client: t.client, table: freshTable() }).createTable()).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringContaining('needs dynamodb:CreateTable, dynamodb:DescribeTable on the table'),
        cause: expect.objectContaining({ name: 'AccessDeniedException' }),
      });
    } finally {
      t.client.destroy();
    }
  });

  it('against a closed port, rejects with STORE_UNAVAILABLE (the SDK error as cause), not a raw ECONNREFUSED', async () => {
    const c = localClient(`http://127.0.0.1:${await freePort()}`);
    try {
      const started = performance.now();
      const error = await new DynamoDBStore({ client: c, table: freshTable() }).createTable().then(
        () => undefined,
        (e: unknown) => e,
      );
      // Refused at once; the SDK retries (3 attempts, backoff under a second each). This bound only catches a hang.
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(isLeaseholdError(error, 'STORE_UNAVAILABLE')).toBe(true);
      expect(error).toMatchObject({
        message: expect.stringMatching(/^dynamodb store: .*createTable/),
        cause: expect.objectContaining({ code: 'ECONNREFUSED' }),
      });
    } finally {
      c.destroy();
    }
  });
});
