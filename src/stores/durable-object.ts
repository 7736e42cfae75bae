/**
 * `leasehold/durable-object`: leases in Cloudflare Durable Objects, for Workers that want no external database.
 * One object per lease name (`idFromName(name)`) keeps that lease's record in its strongly consistent storage and
 * judges expiry by its own clock. Every store call is one `fetch` to that object, which runs the whole step inside
 * (the core's own `planClaim` for a claim), so `tryLead()` and `release()` cost one request each.
 *
 * Export {@link LeaseDurableObject} from your Worker's entry module and bind it (`LEASES` below); no import of
 * `cloudflare:workers` is needed, so this module also loads in Node (for tests and type checks).
 * @example
 * // worker.ts
 * import { tryLead } from 'leasehold'
 * import { DurableObjectStore } from 'leasehold/durable-object'
 * export { LeaseDurableObject } from 'leasehold/durable-object'
 * export default {
 *   async scheduled(_c, env) {
 *     const lead = await tryLead(new DurableObjectStore({ namespace: env.LEASES }), { name: 'sync', holder: crypto.randomUUID(), ttlMs: 60_000 })
 *   },
 * }
 * @module
 */
import { requestBound } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { storeIdentity } from '../identity.js';
import { describeValue } from '../options.js';
import type {
  ClaimRequest,
  ClaimResult,
  LeaseRecord,
  LeaseWrite,
  ReadResult,
  ReleaseCallOptions,
  ReleaseResult,
  Store,
  StoreCallOptions,
  WriteOutcome,
} from '../store.js';
import { type Operation, refusedError } from './durable-object-request.js';

export { type DurableObjectStateLike, LeaseDurableObject } from './lease-durable-object.js';

/** The part of a Durable Object stub this store uses (Cloudflare's `DurableObjectStub`). */
export interface DurableObjectStubLike {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

/** The part of a Durable Object namespace binding this store uses (Cloudflare's `DurableObjectNamespace`). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: never, options?: { locationHint?: string }): DurableObjectStubLike;
}

/** Options of {@link DurableObjectStore}. */
export interface DurableObjectStoreOptions {
  /** The Durable Object namespace binding of {@link LeaseDurableObject} (e.g. `env.LEASES`). */
  namespace: DurableObjectNamespaceLike;
  /**
   * Where a lease's object is created the first time it is used (`'wnam'`, `'weur'`, `'apac'`, …): a hint, as
   * Cloudflare's `locationHint`. Default: near the Worker that first uses the name. The object stays there.
   */
  locationHint?: string;
  /** Limit of each request to the object, in ms (default 10 000): past it the call fails closed (`STORE_UNAVAILABLE`). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
// Any URL will do: the request goes to the object, not over the network.
const URL_OF_OBJECT = 'https://lease.durable-object/';

/**
 * Store over {@link LeaseDurableObject}: one object per lease name, one request per call, the object's clock
 * judges expiry (`clockSource: 'store'`). Build one per isolate (or per request; it holds no state).
 *
 * Its {@link DurableObjectStore.identity} is its namespace binding: every store on the same binding object
 * (`env.LEASES`) shares this process's memory of each lease (DESIGN rule "One identity per lease table"), so a release
 * through one ends the results won through another at once, however many stores the isolate builds.
 * @example
 * const store = new DurableObjectStore({ namespace: env.LEASES })
 * const lead = await tryLead(store, { name: 'hourly-sync', holder: crypto.randomUUID(), ttlMs: 60_000 })
 */
export class DurableObjectStore implements Store {
  readonly kind = 'durable-object';
  readonly clockSource = 'store' as const;
  private readonly namespace: DurableObjectNamespaceLike;
  private readonly locationHint: string | undefined;
  /** Time limit of each request to the object, and the bound of one library call on this store, in ms. */
  readonly timeoutMs: number;
  /**
   * What this process's memory of a lease is keyed by: one object per namespace binding (`storeIdentity`); the
   * `locationHint` does not count (it only says where a new object is created; `idFromName` picks the object).
   */
  readonly identity: object;

  constructor(options: DurableObjectStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new LeaseholdError('INVALID_STORE', 'durable-object store: options must be an object like { namespace: env.LEASES }');
    }
    const { namespace, locationHint, timeoutMs } = options;
    if (typeof namespace !== 'object' || namespace === null || typeof namespace.idFromName !== 'function' || typeof namespace.get !== 'function') {
      throw new LeaseholdError(
        'INVALID_STORE',
        'durable-object store: namespace must be the Durable Object namespace binding of LeaseDurableObject (e.g. env.LEASES); check [[durable_objects.bindings]] in wrangler.toml',
      );
    }
    if (locationHint !== undefined && (typeof locationHint !== 'string' || !/^[a-z]{2,8}$/.test(locationHint))) {
      throw new LeaseholdError(
        'INVALID_STORE',
        `durable-object store: locationHint must be a region hint like 'wnam' or 'weur'; got ${describeValue(locationHint)}`,
      );
    }
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs <= 0)) {
      throw new LeaseholdError('INVALID_STORE', `durable-object store: timeoutMs must be a positive whole number of ms; got ${describeValue(timeoutMs)}`);
    }
    this.namespace = namespace;
    this.identity = storeIdentity(namespace, 'durable-object namespace');
    this.locationHint = locationHint;
    this.timeoutMs = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async read(name: string, options?: StoreCallOptions): Promise<ReadResult> {
    const answer = await this.call(name, { op: 'read', name }, options);
    return { record: decodeRecord(answer.record, name), now: decodeNow(answer.now) };
  }

  async create(write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome> {
    return decodeOutcome(await this.call(write.name, { op: 'create', write }, options), write.name);
  }

  async replace(expectedVersion: string, write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome> {
    return decodeOutcome(await this.call(write.name, { op: 'replace', expectedVersion, write }, options), write.name);
  }

  async claim(request: ClaimRequest, options?: StoreCallOptions): Promise<ClaimResult> {
    const answer = await this.call(request.name, { op: 'claim', request }, options);
    const record = decodeRecord(answer.record, request.name);
    if (record === null) throw corrupt('a claim answered without a record');
    return { record, now: decodeNow(answer.now) };
  }

  async releaseHolder(name: string, holder: string, version: string, _clientNow?: number, options?: ReleaseCallOptions): Promise<ReleaseResult> {
    const expected = options?.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion };
    const answer = await this.call(name, { op: 'release', name, holder, version, ...expected }, options);
    return { record: decodeRecord(answer.record, name), now: decodeNow(answer.now) };
  }

  /**
   * One long poll of the object of `name`: resolves `true` once the lease is released or handed over (through any
   * store), `false` after `waitMs` (1 to 30 000, and below this store's `timeoutMs`). What {@link watch} loops on.
   */
  async waitForChange(name: string, waitMs: number, options?: StoreCallOptions): Promise<boolean> {
    const answer = await this.call(name, { op: 'wait', name, waitMs }, options);
    return answer.changed === true;
  }

  /**
   * Push wake-ups ({@link Store.watch}): the object knows its waiters, so a long-lived caller (an `Elector`) keeps one
   * long poll open per name ({@link waitForChange}, each shorter than `timeoutMs`) and is woken when the lease is
   * released or handed over. A change between two polls, or while the object is unreachable (retried with a backoff),
   * is not pushed: the Elector's poll finds it.
   */
  watch(name: string, onChange: () => void): () => void {
    const controller = new AbortController();
    const waitMs = Math.max(1, Math.min(25_000, this.timeoutMs - 1_000));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const loop = async () => {
      let backoffMs = 100;
      while (!controller.signal.aborted) {
        try {
          const changed = await this.waitForChange(name, waitMs, { signal: controller.signal });
          backoffMs = 100;
          if (changed && !controller.signal.aborted) onChange();
        } catch {
          if (controller.signal.aborted) return;
          await sleep(backoffMs);
          backoffMs = Math.min(backoffMs * 2, 5_000);
        }
      }
    };
    void loop();
    return () => controller.abort();
  }

  /** One request to the object of `name`. Throws a plain `Error` on a transport failure (the core fails closed). */
  private async call(name: string, operation: Operation, options?: StoreCallOptions): Promise<Record<string, unknown>> {
    const id = this.namespace.idFromName(name) as never;
    const stub = this.locationHint === undefined ? this.namespace.get(id) : this.namespace.get(id, { locationHint: this.locationHint });
    // The core's bound (the lease's validity window for a claim) or this store's own, whichever ends first; the
    // answer is raced against it too, body included, in case the runtime does not abort a request to an object.
    const bound = requestBound(options?.signal, this.timeoutMs);
    const timeout = new Promise<never>((_, reject) => {
      const fail = () => reject(new Error(`no answer from the lease's Durable Object within its bound (timeoutMs ${this.timeoutMs})`));
      if (bound.signal.aborted) fail();
      else bound.signal.addEventListener('abort', fail, { once: true });
    });
    timeout.catch(() => {});
    try {
      const response = await Promise.race([
        stub.fetch(URL_OF_OBJECT, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(operation),
          signal: bound.signal,
        }),
        timeout,
      ]);
      const text = await Promise.race([response.text(), timeout]);
      // A request the object refused (a bad value, another lease's name): the caller's error, typed; nothing was written.
      const refused = refusedError(response.status, text);
      if (refused) throw refused;
      if (!response.ok) throw new Error(`the lease's Durable Object answered HTTP ${response.status}: ${text.slice(0, 200)}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw corrupt('the object answered something that is not JSON');
      }
      if (typeof body !== 'object' || body === null) throw corrupt('the object answered something that is not a JSON object');
      return body as Record<string, unknown>;
    } finally {
      bound.done();
    }
  }
}

function corrupt(what: string): LeaseholdError {
  return new LeaseholdError(
    'STORE_CORRUPT',
    `durable-object store: ${what}; is LeaseDurableObject the class bound to this namespace, at the same leasehold version?`,
  );
}

function decodeNow(now: unknown): number {
  if (typeof now !== 'number' || !Number.isFinite(now)) throw corrupt('the object answered without its clock');
  return now;
}

function decodeRecord(value: unknown, name: string): LeaseRecord | null {
  if (value === null) return null;
  const r = value as Partial<LeaseRecord> | undefined;
  if (
    typeof r !== 'object' ||
    r === null ||
    r.name !== name ||
    (r.holder !== null && typeof r.holder !== 'string') ||
    !Number.isSafeInteger(r.token) ||
    typeof r.acquiredAt !== 'number' ||
    typeof r.expiresAt !== 'number' ||
    typeof r.version !== 'string' ||
    (r.data !== null && typeof r.data !== 'string')
  ) {
    throw corrupt(`the record for ${JSON.stringify(name)} has the wrong shape`);
  }
  return { name: r.name, holder: r.holder, token: r.token as number, acquiredAt: r.acquiredAt, expiresAt: r.expiresAt, version: r.version, data: r.data };
}

function decodeOutcome(answer: Record<string, unknown>, name: string): WriteOutcome {
  const now = decodeNow(answer.now);
  if (answer.ok === true) {
    const record = decodeRecord(answer.record, name);
    if (record === null) throw corrupt('a write answered without a record');
    return { ok: true, record, now };
  }
  return { ok: false, current: decodeRecord(answer.current, name), now };
}
