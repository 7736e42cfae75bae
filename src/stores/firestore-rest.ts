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
import type { ClaimRequest, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, StoreCallOptions, WriteOutcome } from '../store.js';
import {
  checkCollection,
  claimLease,
  FIRESTORE_LIMITS,
  fieldsForWrite,
  LEASE_FIELDS,
  type LeaseFields,
  recordFromFields,
  releaseLease,
  SeenLeases,
  sentNow,
} from './firestore-record.js';

/** The fields of a Google service-account key file (JSON) this store needs. */
export interface ServiceAccountKey {
  /** The service account's e-mail address: the JWT's issuer and subject. */
  client_email: string;
  /**
   * PEM, PKCS #8 (`-----BEGIN PRIVATE KEY-----`), as in the key file. Line breaks written as the two characters
   * `\n` (common when the key passes through an environment variable or secret) are accepted too.
   */
  private_key: string;
  /** Id of the key, sent as the JWT header's `kid` when present. */
  private_key_id?: string;
  /** Token endpoint (default `https://oauth2.googleapis.com/token`). */
  token_uri?: string;
  /** The key's project: the default `projectId` of the store. */
  project_id?: string;
}

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

const SCOPE = 'https://www.googleapis.com/auth/datastore';
/** The "client" of the stores that send with the global `fetch` (see {@link FirestoreRestStore.identity}). */
const GLOBAL_FETCH: object = Object.freeze({});
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const TOKEN_LIFETIME_S = 3_600;
const TOKEN_REFRESH_MARGIN_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const PROJECT = /^[a-z0-9][a-z0-9.:-]{0,99}$/;
const DATABASE = /^(\(default\)|[a-z][a-z0-9-]{0,61}[a-z0-9])$/;

/** A Firestore REST `Value`, in the forms this store writes and reads. */
type RestValue =
  | { stringValue: string }
  | { integerValue: string | number }
  | { timestampValue: string }
  | { nullValue: null }
  | { doubleValue: number }
  | { booleanValue: boolean };

/** A REST error, with the `status` Firestore gave (`ALREADY_EXISTS`, `FAILED_PRECONDITION`, …). */
export class FirestoreRestError extends Error {
  /** HTTP status. */
  readonly httpStatus: number;
  /** Google RPC status name from the error body, when there is one. */
  readonly status: string | undefined;

  constructor(httpStatus: number, status: string | undefined, message: string) {
    super(message);
    this.name = 'FirestoreRestError';
    this.httpStatus = httpStatus;
    this.status = status;
  }
}

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
    // data but a lost answer (README safety point 4): STORE_UNAVAILABLE, so the core reads the lease back.
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
  claim(request: ClaimRequest, options?: StoreCallOptions): Promise<{ record: LeaseRecord; now?: number }> {
    return claimLease(this, this.seen, this.clock, request, options);
  }

  /** One round trip for a release of a lease this store saw its holder write; otherwise read, then write. */
  releaseHolder(
    name: string,
    holder: string,
    version: string,
    clientNow: number,
    options?: ReleaseCallOptions,
  ): Promise<{ record: LeaseRecord | null; now?: number }> {
    return releaseLease(this, this.seen, name, holder, version, clientNow, options);
  }

  private corrupt(message: string): LeaseholdError {
    return new LeaseholdError('STORE_CORRUPT', `firestore-rest store: ${message}`);
  }
}

interface BatchGetItem {
  found?: { name?: string; fields?: Record<string, RestValue>; updateTime?: unknown };
  missing?: string;
  readTime?: unknown;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// Real Firestore answers 409 ALREADY_EXISTS (exists: false failed), 400 FAILED_PRECONDITION (stale updateTime)
// and 409 ABORTED (contention). 412 is not among them; it is accepted as "did not apply" in case a proxy maps a
// precondition failure so, which is harmless: the caller reads the lease and is at most a follower.
function isConditionFailure(error: FirestoreRestError): boolean {
  if (error.httpStatus === 412 || error.httpStatus === 409) return true;
  return error.status === 'FAILED_PRECONDITION' || error.status === 'ALREADY_EXISTS' || error.status === 'ABORTED' || error.status === 'NOT_FOUND';
}

function encodeFields(fields: LeaseFields): Record<string, RestValue> {
  const text = (v: string | null): RestValue => (v === null ? { nullValue: null } : { stringValue: v });
  return {
    holder: text(fields.holder),
    // int64 travels as a decimal string in JSON.
    token: { integerValue: String(fields.token) },
    acquiredAt: fields.acquiredAt === null ? { nullValue: null } : { timestampValue: new Date(fields.acquiredAt).toISOString() },
    ttlMs: { integerValue: String(fields.ttlMs) },
    version: { stringValue: fields.version },
    data: text(fields.data),
  };
}

/** Decodes the REST values of the lease fields to plain values; anything unexpected is left for validation. */
function decodeFields(fields: Record<string, RestValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === null || typeof value !== 'object') out[key] = value;
    else if ('nullValue' in value) out[key] = null;
    else if ('stringValue' in value) out[key] = value.stringValue;
    else if ('integerValue' in value) out[key] = /^-?\d+$/.test(String(value.integerValue)) ? Number(value.integerValue) : value.integerValue;
    else if ('timestampValue' in value) out[key] = timestampMs(value.timestampValue);
    else out[key] = value;
  }
  return out;
}

// RFC 3339 (`2030-01-01T00:00:00.123456Z`, any fraction length) to epoch ms, truncating below the millisecond;
// NaN when it is not one.
function parseTimestampMs(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const seconds = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  return m && Number.isFinite(seconds) ? seconds + Number((m[2] ?? '').padEnd(3, '0').slice(0, 3)) : Number.NaN;
}

function timestampMs(text: string): number {
  const ms = parseTimestampMs(text);
  if (!Number.isFinite(ms)) throw new LeaseholdError('STORE_CORRUPT', `firestore-rest store: ${JSON.stringify(text)} is not an RFC 3339 timestamp`);
  return ms;
}

/**
 * Access tokens for a service account: an RS256 JWT (WebCrypto) exchanged at the token endpoint
 * (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`), reused until a minute before it expires.
 * Concurrent callers share one exchange.
 */
function serviceAccountTokens(
  key: ServiceAccountKey,
  fetchFn: typeof globalThis.fetch,
  clock: Clock,
  invalid: (message: string) => LeaseholdError,
): () => Promise<string> {
  if (typeof key !== 'object' || key === null || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw invalid('serviceAccount must be a service-account key file (JSON, parsed) with client_email and private_key');
  }
  // A key pasted into an environment variable or secret often keeps its line breaks as the two characters `\n`.
  const privateKey = key.private_key.replace(/\\r\\n|\\n/g, '\n');
  if (!privateKey.includes('-----BEGIN PRIVATE KEY-----')) {
    throw invalid('serviceAccount.private_key must be a PKCS #8 PEM key ("-----BEGIN PRIVATE KEY-----"), as in the key file');
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw invalid('this runtime has no WebCrypto (crypto.subtle); pass getAccessToken instead');
  const tokenUrl = key.token_uri ?? GOOGLE_TOKEN_URL;
  let signingKey: Promise<CryptoKey> | undefined;
  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const exchange = async (): Promise<string> => {
    signingKey ??= subtle.importKey('pkcs8', pemToDer(privateKey), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    const iat = Math.floor(clock.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
    const claims = { iss: key.client_email, scope: SCOPE, aud: tokenUrl, iat, exp: iat + TOKEN_LIFETIME_S };
    const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = await subtle.sign('RSASSA-PKCS1-v1_5', await signingKey, new TextEncoder().encode(unsigned));
    const response = await fetchFn(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${base64url(signature)}` }).toString(),
    });
    const body = (await response.json().catch(() => undefined)) as
      | { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown }
      | undefined;
    if (!response.ok || typeof body?.access_token !== 'string') {
      const reason = [body?.error, body?.error_description].filter((x) => typeof x === 'string').join(': ');
      throw new FirestoreRestError(
        response.status,
        typeof body?.error === 'string' ? body.error : undefined,
        `token exchange for ${key.client_email} at ${tokenUrl} failed: HTTP ${response.status} ${reason}`.trim(),
      );
    }
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : TOKEN_LIFETIME_S) * 1000;
    cached = { token: body.access_token, refreshAt: clock.now() + Math.max(0, lifetimeMs - TOKEN_REFRESH_MARGIN_MS) };
    return body.access_token;
  };

  return async () => {
    if (cached && clock.now() < cached.refreshAt) return cached.token;
    pending ??= exchange().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

function pemToDer(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function base64url(input: string | ArrayBuffer): string {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : new Uint8Array(input);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export { DEFAULT_FIRESTORE_COLLECTION, MIN_FIRESTORE_TTL_MS } from './firestore-record.js';
