/**
 * `leasehold/redis`: leases in Redis or Valkey, one hash per election name, on your own client (ioredis or
 * node-redis). Every call — a claim from nothing, a renewal, a refused claim, a takeover, a release, a read — is
 * one `EVALSHA` of one Lua script (see `redis-script.ts`), atomic on the server, judging expiry by the server's
 * `TIME`. The hash has no Redis TTL, so the fencing token survives releases and expiries.
 * @module
 */
import { LeaseholdError } from '../errors.js';
import { storeIdentity } from '../identity.js';
import { checkStoreTimeout, describeValue, RESERVED_NAME_SUFFIX } from '../options.js';
import type { ClaimRequest, ClaimResult, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, ReleaseResult, Store, WriteOutcome } from '../store.js';
import { REDIS_SCRIPT, REDIS_SCRIPT_SHA } from './redis-script.js';

/** An ioredis client (`Redis` or `Cluster`): anything with its `evalsha` and `eval`. Typed structurally: leasehold does not depend on ioredis. */
export interface IoRedisClient {
  evalsha(sha: string, numKeys: number, ...args: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

/** A node-redis (`redis` v4+) client, from `createClient()`: anything with its `sendCommand(args)`. */
export interface NodeRedisClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** A node-redis cluster, from `createCluster()`: its `sendCommand(firstKey, isReadonly, args)` routes by key. */
export interface NodeRedisCluster {
  sendCommand(firstKey: string, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  getSlotRandomNode(slot: number): unknown;
}

/** The clients {@link RedisStore} takes: ioredis (`Redis`, `Cluster`) or node-redis (`createClient()`, `createCluster()`). */
export type RedisClient = IoRedisClient | NodeRedisClient | NodeRedisCluster;

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * Your connected client: ioredis (`new Redis(url)`, `new Cluster(...)`) or node-redis (`await createClient({ url }).connect()`,
   * `createCluster`). leasehold never connects, closes or configures it. Its own settings apply (ioredis' key prefix too).
   */
  client: RedisClient;
  /**
   * Prefix of each lease's key (default `leasehold:`): the lease `job` lives in the hash `{leasehold:job}`. At most
   * 128 printable ASCII characters, without spaces or braces (the braces are the hash tag that keeps a lease and its
   * companion records, such as a job's completed slot `{leasehold:job}@done`, in one cluster slot).
   */
  keyPrefix?: string;
  /**
   * Bound of one library call on this store, in ms (default 5 000): `release()` and `getLeader()` settle within it,
   * `tryLead()` within it or the lease's validity window if shorter, then fail closed (`STORE_UNAVAILABLE`). The
   * core stops waiting then; the command itself stays queued in your client, so give the client its own bound too
   * (ioredis `commandTimeout` and `maxRetriesPerRequest`; node-redis `socket.connectTimeout` and
   * `disableOfflineQueue`). A script delivered late is harmless (README, "Redis").
   */
  timeoutMs?: number;
}

/** Default key prefix. */
export const DEFAULT_REDIS_KEY_PREFIX = 'leasehold:';

const KEY_PREFIX = /^[\x21-\x7a\x7c\x7e]{0,128}$/;

/** Sends one script call: `args` after the key (the operation first). */
type Send = (script: 'sha' | 'text', key: string, args: string[]) => Promise<unknown>;

/** How to call the script on `client`, told by its shape (ioredis has `evalsha`; node-redis `sendCommand`). */
function sender(client: RedisClient): Send | undefined {
  const c = client as Partial<IoRedisClient & NodeRedisClient & NodeRedisCluster>;
  const { evalsha, eval: evalText, sendCommand, getSlotRandomNode } = c;
  if (typeof evalsha === 'function' && typeof evalText === 'function') {
    return (script, key, args) =>
      script === 'sha' ? evalsha.call(client, REDIS_SCRIPT_SHA, 1, key, ...args) : evalText.call(client, REDIS_SCRIPT, 1, key, ...args);
  }
  if (typeof sendCommand !== 'function') return undefined;
  if (typeof getSlotRandomNode === 'function') {
    const send = sendCommand as NodeRedisCluster['sendCommand'];
    return (script, key, args) =>
      send.call(client, key, false, script === 'sha' ? ['EVALSHA', REDIS_SCRIPT_SHA, '1', key, ...args] : ['EVAL', REDIS_SCRIPT, '1', key, ...args]);
  }
  const send = sendCommand as NodeRedisClient['sendCommand'];
  return (script, key, args) =>
    send.call(client, script === 'sha' ? ['EVALSHA', REDIS_SCRIPT_SHA, '1', key, ...args] : ['EVAL', REDIS_SCRIPT, '1', key, ...args]);
}

/** Whether `error` is the server's "no script by that SHA" (a restart, a failover, `SCRIPT FLUSH`): reported before anything ran. */
function isNoScript(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.startsWith('NOSCRIPT');
}

/**
 * Redis / Valkey store.
 *
 * Expiry is judged by the server's clock (`clockSource: 'store'`), so client clocks do not matter. Each lease is
 * one hash, `{<keyPrefix><name>}`, kept for good (its token must outlive the lease): about 200 bytes per name
 * (`MEMORY USAGE`, BENCHMARKS.md), plus the `data` you store. The script is sent by its SHA; when the server does not
 * have it (first use, restart, failover, `SCRIPT FLUSH`), the call is sent once more as `EVAL`, which caches it.
 *
 * Its {@link RedisStore.identity} is its client and key prefix: stores on the same client object and prefix share
 * this process's memory of each lease (DESIGN rule "One identity per lease table").
 * @example
 * import { Redis } from 'ioredis'
 * import { RedisStore } from 'leasehold/redis'
 * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL) })
 * @example
 * import { createClient } from 'redis'
 * const store = new RedisStore({ client: await createClient({ url: process.env.REDIS_URL }).connect() })
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly clockSource = 'store' as const;
  /** Bound of one library call, in ms (see {@link RedisStoreOptions.timeoutMs}). */
  readonly timeoutMs: number;
  /** What this process's memory of a lease is keyed by: one object per client object and key prefix. */
  readonly identity: object;
  /** The key prefix in use. */
  readonly keyPrefix: string;
  private readonly send: Send;
  /** `{` + prefix, the start of every key. */
  private readonly keyStart: string;

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new LeaseholdError('INVALID_STORE', 'redis store: pass { client } with an ioredis client or a connected node-redis client');
    }
    const send = typeof options.client === 'object' && options.client !== null ? sender(options.client) : undefined;
    if (!send) {
      throw new LeaseholdError(
        'INVALID_STORE',
        `redis store: client must be an ioredis client (new Redis(url)) or a node-redis client (await createClient({ url }).connect()); got ${describeValue(options.client)}`,
      );
    }
    const prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    if (typeof prefix !== 'string' || !KEY_PREFIX.test(prefix)) {
      throw new LeaseholdError(
        'INVALID_STORE',
        `redis store: keyPrefix must be at most 128 printable ASCII characters without spaces, { or } (default ${JSON.stringify(DEFAULT_REDIS_KEY_PREFIX)}); got ${describeValue(options.keyPrefix)}`,
      );
    }
    this.send = send;
    this.keyPrefix = prefix;
    this.keyStart = `{${prefix}`;
    this.timeoutMs = checkStoreTimeout(options.timeoutMs, this.kind);
    this.identity = storeIdentity(options.client, `redis keys {${prefix}…}`);
  }

  /**
   * The key of lease `name`: `{<prefix><name>}`; a companion record `X@done` (a job's completed slot) lives at
   * `{<prefix>X}@done`, in its lease's hash slot.
   */
  keyOf(name: string): string {
    if (name.endsWith(RESERVED_NAME_SUFFIX)) return `${this.keyStart}${name.slice(0, -RESERVED_NAME_SUFFIX.length)}}${RESERVED_NAME_SUFFIX}`;
    return `${this.keyStart}${name}}`;
  }

  /**
   * One script call: by SHA, or (once, when the server lacks it) by its text, which the server then caches. An
   * `async` function with `try`, not `.catch(closure)`: no closure and no second promise per call on the hot path.
   */
  private async run(key: string, args: string[]): Promise<unknown> {
    try {
      return await this.send('sha', key, args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.send('text', key, args);
    }
  }

  async read(name: string): Promise<ReadResult> {
    const r = reply(await this.run(this.keyOf(name), ['g']), name);
    return { record: r.record, now: r.now };
  }

  async create(write: LeaseWrite): Promise<WriteOutcome> {
    return outcome(await this.run(this.keyOf(write.name), writeArgs('n', undefined, write)), write.name);
  }

  async replace(expectedVersion: string, write: LeaseWrite): Promise<WriteOutcome> {
    return outcome(await this.run(this.keyOf(write.name), writeArgs('x', expectedVersion, write)), write.name);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const args =
      request.data === null
        ? ['c', request.holder, `${request.ttlMs}`, request.version]
        : ['c', request.holder, `${request.ttlMs}`, request.version, request.data];
    const r = reply(await this.run(this.keyOf(request.name), args), request.name);
    if (!r.record) throw new LeaseholdError('STORE_CORRUPT', 'redis store: the claim neither wrote nor found a lease');
    return { record: r.record, now: r.now };
  }

  async releaseHolder(name: string, holder: string, version: string, _clientNow?: number, options?: ReleaseCallOptions): Promise<ReleaseResult> {
    const r = reply(await this.run(this.keyOf(name), ['r', holder, version, options?.expectedVersion ?? '']), name);
    return { record: r.record, now: r.now };
  }
}

/** Arguments of a create (`n`) or replace (`x`, after the expected version). */
function writeArgs(op: 'n' | 'x', expected: string | undefined, w: LeaseWrite): string[] {
  const args: string[] = [op];
  if (expected !== undefined) args.push(expected);
  args.push(w.holder ?? '', `${w.token}`, w.acquiredAt === null ? '' : `${w.acquiredAt}`, `${w.ttlMs}`, w.version);
  if (w.data !== null) args.push(w.data);
  return args;
}

function outcome(raw: unknown, name: string): WriteOutcome {
  const r = reply(raw, name);
  if (r.ok && r.record) return { ok: true, record: r.record, now: r.now };
  return { ok: false, current: r.record, now: r.now };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function number(value: unknown, field: string): number {
  const n = typeof value === 'number' ? value : Number(text(value));
  if (!Number.isFinite(n) || value === null || value === undefined) {
    throw new LeaseholdError('STORE_CORRUPT', `redis store: field ${field} holds ${String(value)}, not a number (a foreign writer on leasehold's keys?)`);
  }
  return n;
}

/** The script's answer `{ok, holder, token, acquired µs, expires µs, version, data, now µs}`. */
function reply(raw: unknown, name: string): { ok: boolean; record: LeaseRecord | null; now: number } {
  if (!Array.isArray(raw) || raw.length !== 8) throw new LeaseholdError('STORE_CORRUPT', 'redis store: the script answered in an unknown shape');
  const now = number(raw[7], 'now') / 1000;
  const version = raw[5];
  const ok = raw[0] === 1 || raw[0] === '1';
  if (version === null || version === undefined) return { ok, record: null, now };
  const holder = raw[1];
  const data = raw[6];
  return {
    ok,
    now,
    record: {
      name,
      holder: holder === null || holder === undefined ? null : text(holder),
      token: number(raw[2], 't (token)'),
      acquiredAt: number(raw[3], 'a (acquired at)') / 1000,
      expiresAt: number(raw[4], 'e (expires at)') / 1000,
      version: text(version),
      data: data === null || data === undefined ? null : text(data),
    },
  };
}
