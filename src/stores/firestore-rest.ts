/**
 * `leasehold/firestore-rest`: the Firestore store for runtimes without gRPC (Cloudflare Workers, Vercel Edge,
 * Deno Deploy). It speaks the Firestore REST API v1 with the global `fetch` and signs service-account
 * tokens with WebCrypto: no SDK, no `node:` module. Same documents, same clock model and same preconditions as
 * `leasehold/firestore`, so both can serve one collection side by side.
 * @module
 */
import { abortSignalWithin, type Clock, checkClock } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { storeIdentity } from '../identity.js';
import { describeValue } from '../options.js';
import type { ClaimRequest, ClaimResult, LeaseWrite, ReadResult, ReleaseCallOptions, ReleaseResult, Store, StoreCallOptions, WriteOutcome } from '../store.js';
import {
  checkCollection,
  claimLease,
  FIRESTORE_LIMITS,
  fieldsForWrite,
  LEASE_FIELDS,
  recordFromFields,
  releaseLease,
  SeenLeases,
  sentNow,
} from './firestore-record.js';
import { type ServiceAccountKey, serviceAccountTokens } from './firestore-rest-auth.js';
import { type BatchGetItem, decodeFields, encodeFields, FirestoreRestError, isConditionFailure, parseTimestampMs, timestampMs } from './firestore-rest-wire.js';

export type { ServiceAccountKey } from './firestore-rest-auth.js';
export { FirestoreRestError } from './firestore-rest-wire.js';

/** Options of {@link FirestoreRestStore}. Pass exactly one of `serviceAccount` and `getAccessToken`. */
export interface FirestoreRestStoreOptions {
  /** Google Cloud project id (default: `serviceAccount.project_id`). */
  projectId?: string;
  /** Database id (default `(default)`). */
  database?: string;
  /** Collection path (default `leasehold_leases`); nested paths like `tenants/acme/leases` work. */
  collection?: string;
  /**
   * A service-account key (the parsed JSON key file, e.g. from a Worker secret). The store signs an RS256 JWT
   * with WebCrypto, exchanges it at the token endpoint for an access token, and reuses that token until a
   * minute before it expires. The account needs the `roles/datastore.user` role.
   */
  serviceAccount?: ServiceAccountKey;
  /** Your own token source instead (called before each request; cache in it). Return `"owner"` for the emulator. */
  getAccessToken?: () => string | Promise<string>;
  /** API base URL (default `https://firestore.googleapis.com`); e.g. `http://127.0.0.1:8080` for the emulator. */
  baseUrl?: string;
  /** `fetch` to use (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /**
   * Time limit of each request in ms, token exchange included (default 10 000): the request is aborted
   * (`AbortSignal.timeout`) and the call throws `STORE_UNAVAILABLE`. A commit that timed out may still have
   * applied, so `tryLead()` and `release()` read the lease back and recognise their own write; the caller is
   * leader only if it did. A positive whole number.
   */
  timeoutMs?: number;
  /**
   * This host's clock (default: the system clock), for token lifetimes and to decide whether a renewal may skip
   * its read (less than `ttlMs - maxClockSkewMs` since the holder's last write was sent). It never judges
   * whether a lease has expired: Firestore's clock does.
   */
  clock?: Clock;
}

/** The "client" of the stores that send with the global `fetch` (see {@link FirestoreRestStore.identity}). */
const GLOBAL_FETCH: object = Object.freeze({});
const DEFAULT_TIMEOUT_MS = 10_000;
const PROJECT = /^[a-z0-9][a-z0-9.:-]{0,99}$/;
const DATABASE = /^(\(default\)|[a-z][a-z0-9-]{0,61}[a-z0-9])$/;

/**
 * Firestore store over the REST API, for edge runtimes. A read is `documents:batchGet` (chosen over
 * `documents.get` because only it reports the `readTime` that judges expiry); a write is `documents:commit`
 * with one write carrying `currentDocument: { exists: false }` (first claim) or
 * `currentDocument: { updateTime }` equal to the exact update time read (renew, takeover, release).
 * Firestore answers a failed `exists: false` with 409 `ALREADY_EXISTS` and a stale `updateTime` with 400
 * `FAILED_PRECONDITION`; those, 409 `ABORTED`, 404 and (harmlessly, in case a proxy maps it so) 412 on a write
 * mean "condition failed". Any other error throws, so the caller is not leader (fail closed); a commit whose
 * answer was lost, timed out or cannot be decoded throws `STORE_UNAVAILABLE`, and the core reads the lease back
 * to learn whether it applied. Round trips, preconditions and the clock model are `leasehold/firestore`'s: the
 * lease runs out at the document's update time + `ttlMs`, judged by a read's `readTime`; `tryLead()` refuses
 * leases shorter than 3 s with `INVALID_TTL` before any request (one write per second per document).
 *
 * Its {@link FirestoreRestStore.identity} is the collection's URL (`baseUrl`, project, database, collection) and the
 * `fetch` option: stores addressing the same collection share this process's memory of each lease (DESIGN rule "One
 * identity per lease table") when both send with the global `fetch`, or with the same `fetch` function. So a store
 * built per request (as below) still sees the releases of the others in its isolate.
 * @example
 * import { FirestoreRestStore } from 'leasehold/firestore-rest'
 * export default {
 *   async scheduled(_event, env) {
 *     const store = new FirestoreRestStore({ serviceAccount: JSON.parse(env.GCP_SERVICE_ACCOUNT), collection: 'leases' })
 *     const lead = await tryLead(store, { name: 'cron', holder: crypto.randomUUID(), ttlMs: 60_000 })
 *     if (lead.isLeader) await work(lead.token)
 *   },
 * }
 */
export class FirestoreRestStore implements Store {
  readonly kind = 'firestore-rest';
  readonly clockSource = 'store' as const;
  /** About one write per second per document: checked by the core before any request. */
  readonly limits = FIRESTORE_LIMITS;
  /** The collection path this store uses. */
  readonly collection: string;
  private readonly databasePath: string;
  private readonly baseUrl: string;
  private readonly fetch: typeof globalThis.fetch;
  /** Time limit of each request, and the bound of one library call on this store (the core fails closed past it), in ms. */
  readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly token: () => Promise<string>;
  private readonly seen = new SeenLeases<string>();
  /**
   * What this process's memory of a lease is keyed by: one object per collection URL and `fetch` option
   * (`storeIdentity`). A `fetch` you pass may send anywhere (a service binding, a proxy), so only stores given the
   * same function share it; the credentials do not count (they reach the same documents).
   */
  readonly identity: object;

  constructor(options: FirestoreRestStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new LeaseholdError(
        'INVALID_STORE',
        'firestore-rest store: pass { projectId, collection, serviceAccount } or { projectId, collection, getAccessToken }',
      );
    }
    const invalid = (message: string) => new LeaseholdError('INVALID_STORE', `firestore-rest store: ${message}`);
    const projectId = options.projectId ?? options.serviceAccount?.project_id;
    if (typeof projectId !== 'string' || !PROJECT.test(projectId))
      throw invalid(`projectId must be a Google Cloud project id; got ${describeValue(projectId)}`);
    const database = options.database ?? '(default)';
    if (typeof database !== 'string' || !DATABASE.test(database))
      throw invalid(`database must be "(default)" or a database id; got ${describeValue(database)}`);
    this.collection = checkCollection(this.kind, options.collection);
    this.databasePath = `projects/${projectId}/databases/${database}`;
    const baseUrl = options.baseUrl ?? 'https://firestore.googleapis.com';
    if (typeof baseUrl !== 'string' || !/^https?:\/\/[^/]+/.test(baseUrl)) throw invalid(`baseUrl must be an http(s) URL; got ${describeValue(baseUrl)}`);
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    const given = options.fetch;
    if (given === undefined && typeof globalThis.fetch !== 'function') throw invalid('no global fetch in this runtime; pass { fetch }');
    if (given !== undefined && typeof given !== 'function')
      throw invalid(`fetch must be a function like the global fetch, or omitted; got ${describeValue(given)}`);
    this.identity = storeIdentity(given ?? GLOBAL_FETCH, `firestore-rest collection ${this.baseUrl}/v1/${this.databasePath}/documents/${this.collection}`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw invalid(`timeoutMs must be a positive whole number of milliseconds (default ${DEFAULT_TIMEOUT_MS}); got ${describeValue(timeoutMs)}`);
    }
    this.timeoutMs = timeoutMs;
    // Never called as a method of this store: Workers refuse a fetch invoked with a foreign `this`.
    const send = given ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
    this.fetch = (input, init) => send(input, { ...init, signal: abortSignalWithin(init?.signal ?? undefined, timeoutMs) });
    const clock = checkClock(options.clock, `${this.kind} store`);
    this.clock = clock;
    if ((options.serviceAccount === undefined) === (options.getAccessToken === undefined)) {
      throw invalid('pass exactly one of serviceAccount (a key file, parsed) and getAccessToken');
    }
    if (options.getAccessToken) {
      const get = options.getAccessToken;
      this.token = async () => get();
    } else {
      this.token = serviceAccountTokens(options.serviceAccount as ServiceAccountKey, this.fetch, clock, invalid);
    }
  }

  private documentName(name: string): string {
    return `${this.databasePath}/documents/${this.collection}/${name}`;
  }

  private async call(method: 'batchGet' | 'commit', body: unknown, options?: StoreCallOptions): Promise<unknown> {
    const token = await this.token();
    let response: Response;
    let text: string | undefined;
    let unreadable: unknown;
    try {
      response = await this.fetch(`${this.baseUrl}/v1/${this.databasePath}/documents:${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        ...(options?.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw this.timedOut(method, error) ?? error;
    }
    try {
      text = await response.text();
    } catch (error) {
      unreadable = this.timedOut(method, error) ?? error;
    }
    let parsed: unknown;
    try {
      parsed = text === undefined || text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      unreadable ??= error;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { status?: unknown; message?: unknown } } | undefined)?.error;
      const status = typeof error?.status === 'string' ? error.status : undefined;
      const message = typeof error?.message === 'string' ? error.message : (text ?? '(body unreadable)').slice(0, 200);
      throw new FirestoreRestError(response.status, status, `Firestore ${method}: HTTP ${response.status} ${status ?? ''} ${message}`.trim());
    }
    // A 200 whose body cannot be read or decoded: for a commit, the write may well have applied. Not corrupt
    // data but a lost answer (README safety: "Lost answers and late writes"): STORE_UNAVAILABLE, so the core reads the lease back.
    if (unreadable !== undefined) {
      throw new LeaseholdError(
        'STORE_UNAVAILABLE',
        `firestore-rest store: ${method} answered HTTP ${response.status} but its body could not be read (${describe(unreadable)}); not leader unless a read shows this write applied`,
        { cause: unreadable },
      );
    }
    return parsed;
  }

  /** The error to throw when `error` is this store's own request timeout, else `undefined`. */
  private timedOut(method: string, error: unknown): LeaseholdError | undefined {
    const name = (error as { name?: unknown } | null)?.name;
    if (name !== 'TimeoutError') return undefined;
    return new LeaseholdError(
      'STORE_UNAVAILABLE',
      `firestore-rest store: ${method} got no answer within timeoutMs (${this.timeoutMs} ms); not leader unless a read shows the write applied`,
      { cause: error },
    );
  }

  async read(name: string, options?: StoreCallOptions): Promise<ReadResult> {
    const documentName = this.documentName(name);
    const answer = await this.call('batchGet', { documents: [documentName] }, options);
    // batchGet answers with a JSON array of BatchGetDocumentsResponse; one document asked, one answer.
    const item = Array.isArray(answer) ? (answer.find((a) => a && (a.found || a.missing)) as BatchGetItem | undefined) : undefined;
    if (!item || typeof item.readTime !== 'string') throw this.corrupt(`batchGet returned no readTime for ${name}`);
    const now = timestampMs(item.readTime);
    if (!item.found) return { record: null, now };
    const { fields = {}, updateTime } = item.found;
    if (typeof updateTime !== 'string') throw this.corrupt(`document ${name} has no updateTime`);
    const record = recordFromFields(this.kind, name, decodeFields(fields), timestampMs(updateTime));
    this.seen.remember(record, updateTime);
    return { record, now };
  }

  async create(write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome> {
    return this.commit(write, { exists: false }, options);
  }

  async replace(expectedVersion: string, write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome> {
    let updateTime = this.seen.updateTime(write.name, expectedVersion);
    if (updateTime === undefined) {
      // Not seen by this store (the core always reads first, so only after eviction): find the state's update time.
      const read = await this.read(write.name, options);
      if (read.record?.version !== expectedVersion) return { ok: false, current: read.record, ...(read.now !== undefined ? { now: read.now } : {}) };
      updateTime = this.seen.updateTime(write.name, expectedVersion);
      if (updateTime === undefined) throw this.corrupt('a read did not record its update time');
    }
    // The exact string Firestore gave (microseconds): rounding it would make every precondition fail.
    return this.commit(write, { updateTime }, options);
  }

  private async commit(write: LeaseWrite, currentDocument: { exists: false } | { updateTime: string }, options?: StoreCallOptions): Promise<WriteOutcome> {
    const fields = fieldsForWrite(this.kind, write);
    const update = { name: this.documentName(write.name), fields: encodeFields(fields) };
    // A replace lists every lease field in the mask: the whole lease is replaced, other fields are kept.
    const body = {
      writes: [{ update, ...('updateTime' in currentDocument ? { updateMask: { fieldPaths: [...LEASE_FIELDS] } } : {}), currentDocument }],
    };
    // Sampled before the request goes out: Firestore's commit time, and so the expiry it stamps, is no earlier.
    const sent = sentNow(this.clock, write.ttlMs, this.kind);
    let answer: unknown;
    try {
      answer = await this.call('commit', body, options);
    } catch (error) {
      // The write did not apply; the core reads the current record (and recognises its own version, should a
      // retry have met this attempt's earlier success).
      if (error instanceof FirestoreRestError && isConditionFailure(error)) return { ok: false, current: null };
      throw error;
    }
    const result = answer as { writeResults?: { updateTime?: unknown }[]; commitTime?: unknown } | undefined;
    const updateTime = result?.writeResults?.[0]?.updateTime;
    const at = typeof updateTime === 'string' ? parseTimestampMs(updateTime) : Number.NaN;
    if (typeof updateTime !== 'string' || !Number.isFinite(at)) {
      // HTTP 200: the write most likely applied, but this answer cannot say when. Ambiguous, not corrupt.
      throw new LeaseholdError(
        'STORE_UNAVAILABLE',
        `firestore-rest store: commit answered without a valid writeResults[0].updateTime; not leader unless a read shows this write applied`,
        { cause: new Error(`commit answer: ${JSON.stringify(answer)?.slice(0, 200)}`) },
      );
    }
    const record = recordFromFields(this.kind, write.name, { ...fields }, at);
    this.seen.remember(record, updateTime, sent);
    return { ok: true, record, now: at };
  }

  /** One round trip for a renewal of a live lease this store wrote for its holder; otherwise read, then write. */
  claim(request: ClaimRequest, options?: StoreCallOptions): Promise<ClaimResult> {
    return claimLease(this, this.seen, this.clock, request, options);
  }

  /** One round trip for a release of a lease this store saw its holder write; otherwise read, then write. */
  releaseHolder(name: string, holder: string, version: string, clientNow: number, options?: ReleaseCallOptions): Promise<ReleaseResult> {
    return releaseLease(this, this.seen, name, holder, version, clientNow, options);
  }

  private corrupt(message: string): LeaseholdError {
    return new LeaseholdError('STORE_CORRUPT', `firestore-rest store: ${message}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export { DEFAULT_FIRESTORE_COLLECTION, MIN_FIRESTORE_TTL_MS } from './firestore-record.js';
