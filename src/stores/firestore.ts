/**
 * `leasehold/firestore`: leases in a Firestore collection, through the official client
 * (`@google-cloud/firestore`, which you pass in). Expiry is judged by Firestore's clock, so client clock skew
 * does not matter. For Cloudflare Workers and other runtimes without gRPC, use `leasehold/firestore-rest`.
 * @module
 */
import { type Clock, checkClock } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { storeIdentity } from '../identity.js';
import { checkStoreTimeout } from '../options.js';
import type { ClaimRequest, ClaimResult, LeaseWrite, ReadResult, ReleaseCallOptions, ReleaseResult, Store, StoreCallOptions, WriteOutcome } from '../store.js';
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
  type SentWrite,
  sentNow,
} from './firestore-record.js';

/** A Firestore `Timestamp` (anything with `toMillis()`), typed structurally. */
export interface FirestoreTimestampLike {
  toMillis(): number;
}

/** The parts of a `DocumentSnapshot` this store reads. */
export interface FirestoreSnapshotLike {
  readonly exists: boolean;
  /** When the read was served, on Firestore's clock: the "now" that judges expiry. */
  readonly readTime: FirestoreTimestampLike;
  readonly updateTime?: FirestoreTimestampLike | undefined;
  data(): Record<string, unknown> | undefined;
}

/**
 * The parts of a `DocumentReference` this store uses: `get`, `create` and a preconditioned `update`; and
 * `onSnapshot` where the SDK has it, for push wake-ups.
 */
export interface FirestoreDocumentLike {
  get(): Promise<FirestoreSnapshotLike>;
  /** A listener (the official SDK's): wakes followers when the lease changes hands. Returns the unsubscribe function. */
  onSnapshot?(onNext: (snapshot: FirestoreSnapshotLike) => void, onError: (error: Error) => void): () => void;
  create(data: Record<string, unknown>): Promise<{ readonly writeTime: FirestoreTimestampLike }>;
  update(
    data: Record<string, unknown>,
    precondition?: { readonly lastUpdateTime?: FirestoreTimestampLike },
  ): Promise<{ readonly writeTime: FirestoreTimestampLike }>;
}

/**
 * A `Firestore` from `@google-cloud/firestore` (8.x runs on Node 20, 9.x needs Node 22), typed structurally so
 * leasehold does not depend on the SDK at type level.
 */
export interface FirestoreLike {
  collection(path: string): { doc(id: string): FirestoreDocumentLike };
}

/** Options of {@link FirestoreStore}. */
export interface FirestoreStoreOptions {
  /** Your client, e.g. `new Firestore()`. leasehold never closes it. */
  firestore: FirestoreLike;
  /** Collection path (default `leasehold_leases`); nested paths like `tenants/acme/leases` work. */
  collection?: string;
  /**
   * This host's clock (default: the system clock). It never judges expiry (Firestore's clock does); it only
   * says whether a renewal may skip its read, because less than `ttlMs - maxClockSkewMs` has passed since
   * the holder's last write was sent.
   */
  clock?: Clock;
  /**
   * Bound of one library call on this store, in ms (default 5 000): `release()` and `getLeader()` settle within
   * it, `tryLead()` within it or the lease's validity window if shorter, then fail closed (`STORE_UNAVAILABLE`).
   * The official client takes no abort signal, so a request past it is left to the client's own deadline.
   */
  timeoutMs?: number;
}

// gRPC status codes of a write that did not apply because its precondition failed (or lost a race).
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const ABORTED = 10;

/**
 * Firestore store over the official client: a first claim is `create()` (fails if the document exists);
 * renewal, takeover and release are `update()` with a `lastUpdateTime` precondition equal to the update time
 * of the document state the caller read (compare-and-swap). A claim, takeover or refusal is a read, then at
 * most one conditional write (a refused claim writes nothing). A renewal by a holder whose last write this store
 * sent less than `ttlMs - maxClockSkewMs` ago (on this host's clocks), and a release by a holder whose last write
 * this store saw, are the conditional write alone, one round trip (see `claimLease` in `firestore-record.ts`).
 * A holder whose own lease ran out starts a new term (token + 1), decided by a read as for any takeover.
 *
 * Clock model (README safety: "Whose clock"): the lease runs out at the document's `updateTime` + `ttlMs`, both on Firestore's
 * clock, and a read's `readTime` says whether that moment has passed. The update time is the commit time of
 * the write, which Firestore assigns after the request arrives; so the stored expiry is at least the real
 * arrival time + ttl, minus Firestore's clock error (TrueTime: milliseconds) and 1 ms of rounding to whole
 * milliseconds. The caller's validity ends at its *send* time + ttl − maxClockSkewMs, earlier than arrival
 * + ttl; and a contender takes over only once a read served at or after the expiry says so. The lease is
 * therefore never judged expired while its holder is still valid, as long as Firestore's clock error plus the
 * holder's clock drift over one lease stays below `maxClockSkewMs` (1 s by default). Client clocks never
 * decide expiry; this host's clock only decides whether a renewal may skip its read.
 *
 * Writes are limited to about one per second per document by Firestore, which the store declares as its
 * `limits`: `tryLead()` refuses leases shorter than {@link MIN_FIRESTORE_TTL_MS} (`INVALID_TTL`) before any
 * request, read included, and an `Elector` refuses `renewEveryMs` under 1 000 (`INVALID_OPTION`).
 *
 * Its {@link FirestoreStore.identity} is its `Firestore` instance and collection path: stores built on the same
 * instance and collection share this process's memory of each lease (DESIGN rule "One identity per lease table"), so
 * a release through one ends the results won through another at once. Build your stores on one `Firestore`.
 * @example
 * import { Firestore } from '@google-cloud/firestore'
 * import { FirestoreStore } from 'leasehold/firestore'
 * const store = new FirestoreStore({ firestore: new Firestore(), collection: 'leases' })
 * const lead = await tryLead(store, { name: 'nightly-report', holder: process.env.K_REVISION ?? 'me', ttlMs: 60_000 })
 */
export class FirestoreStore implements Store {
  readonly kind = 'firestore';
  readonly clockSource = 'store' as const;
  /** About one write per second per document: checked by the core before any request. */
  readonly limits = FIRESTORE_LIMITS;
  /** The collection path this store uses. */
  readonly collection: string;
  private readonly firestore: FirestoreLike;
  private readonly clock: Clock;
  private readonly seen = new SeenLeases<FirestoreTimestampLike>();
  /**
   * What this process's memory of a lease is keyed by: one object per `Firestore` instance and collection path
   * (`storeIdentity`). A `FirestoreRestStore` on the same collection gets another (this process cannot tell).
   */
  readonly identity: object;
  /** Bound of one library call, in ms (see {@link FirestoreStoreOptions.timeoutMs}). */
  readonly timeoutMs: number;

  constructor(options: FirestoreStoreOptions) {
    if (typeof options !== 'object' || options === null || typeof options.firestore?.collection !== 'function') {
      throw new LeaseholdError('INVALID_STORE', 'firestore store: pass { firestore } with a Firestore from @google-cloud/firestore (e.g. new Firestore())');
    }
    this.firestore = options.firestore;
    this.collection = checkCollection(this.kind, options.collection);
    this.identity = storeIdentity(options.firestore, `firestore collection ${this.collection}`);
    this.clock = checkClock(options.clock, `${this.kind} store`);
    this.timeoutMs = checkStoreTimeout(options.timeoutMs, this.kind);
  }

  private doc(name: string): FirestoreDocumentLike {
    return this.firestore.collection(this.collection).doc(name);
  }

  async read(name: string): Promise<ReadResult> {
    const snapshot = await this.doc(name).get();
    const now = snapshot.readTime.toMillis();
    if (!snapshot.exists) return { record: null, now };
    const updateTime = snapshot.updateTime;
    if (!updateTime) throw new LeaseholdError('STORE_CORRUPT', `firestore store: document ${JSON.stringify(name)} exists but has no update time`);
    const record = recordFromFields(this.kind, name, decode(snapshot.data() ?? {}), updateTime.toMillis());
    this.seen.remember(record, updateTime);
    return { record, now };
  }

  async create(write: LeaseWrite): Promise<WriteOutcome> {
    const fields = fieldsForWrite(this.kind, write);
    // Sampled before the request goes out: Firestore's commit time, and so the expiry it stamps, is no earlier.
    const sent = sentNow(this.clock, write.ttlMs, this.kind);
    try {
      // create() sends `currentDocument: { exists: false }`: it fails with ALREADY_EXISTS if anyone wrote first.
      const result = await this.doc(write.name).create(encode(fields));
      return this.written(write.name, fields, result.writeTime, sent);
    } catch (error) {
      // The write did not apply; the core reads the current record (and recognises its own version, should
      // an SDK retry have met this attempt's earlier success).
      if (hasCode(error, ALREADY_EXISTS, ABORTED)) return { ok: false, current: null };
      throw error;
    }
  }

  async replace(expectedVersion: string, write: LeaseWrite, _options?: StoreCallOptions): Promise<WriteOutcome> {
    const fields = fieldsForWrite(this.kind, write);
    let lastUpdateTime = this.seen.updateTime(write.name, expectedVersion);
    if (lastUpdateTime === undefined) {
      // Not seen by this store (the core always reads first, so only after eviction): find the state's update time.
      const read = await this.read(write.name);
      if (read.record?.version !== expectedVersion) return { ok: false, current: read.record, ...(read.now !== undefined ? { now: read.now } : {}) };
      lastUpdateTime = this.seen.updateTime(write.name, expectedVersion);
      if (lastUpdateTime === undefined) throw new LeaseholdError('STORE_CORRUPT', 'firestore store: a read did not record its update time');
    }
    const sent = sentNow(this.clock, write.ttlMs, this.kind);
    try {
      // The compare-and-swap: applies only if the document is still exactly the state the caller read.
      // Every lease field is listed, so the update replaces the whole lease (other fields are kept).
      const result = await this.doc(write.name).update(encode(fields), { lastUpdateTime });
      return this.written(write.name, fields, result.writeTime, sent);
    } catch (error) {
      if (hasCode(error, FAILED_PRECONDITION, NOT_FOUND, ABORTED)) return { ok: false, current: null };
      throw error;
    }
  }

  private written(name: string, fields: LeaseFields, writeTime: FirestoreTimestampLike, sent: SentWrite): WriteOutcome {
    const at = writeTime.toMillis();
    const record = recordFromFields(this.kind, name, { ...fields }, at);
    this.seen.remember(record, writeTime, sent);
    return { ok: true, record, now: at };
  }

  /**
   * Push wake-ups ({@link Store.watch}) through a Firestore listener (`onSnapshot`, where the client has it):
   * `onChange` runs when the lease changes hands (a release, a handover; a takeover too), not on a renewal. A
   * listener that fails is opened again after a backoff (followers poll meanwhile). Without `onSnapshot` (a
   * structural client without listeners), it never calls and followers poll.
   */
  watch(name: string, onChange: () => void): () => void {
    const ref = this.doc(name);
    if (typeof ref.onSnapshot !== 'function') return () => undefined;
    let stopped = false;
    let unsubscribe: (() => void) | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let backoffMs = 250;
    // The holder the last snapshot showed (undefined before the first): only a change of holder wakes.
    let seen: string | null | undefined;
    const listen = () => {
      if (stopped) return;
      try {
        unsubscribe = ref.onSnapshot?.(
          (snapshot) => {
            backoffMs = 250;
            const holder = snapshot.exists ? ((snapshot.data()?.holder as string | null | undefined) ?? null) : null;
            const changed = seen !== undefined && holder !== seen;
            seen = holder;
            if (changed && !stopped) onChange();
          },
          () => {
            // The listener ended with an error: open it again later; a change meanwhile is found by the poll.
            unsubscribe = undefined;
            seen = undefined;
            if (stopped) return;
            retryTimer = setTimeout(listen, backoffMs);
            backoffMs = Math.min(backoffMs * 2, 10_000);
          },
        );
      } catch {
        retryTimer = setTimeout(listen, backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    };
    listen();
    return () => {
      stopped = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      unsubscribe?.();
    };
  }

  /** One round trip for a renewal of a live lease this store wrote for its holder; otherwise read, then write. */
  claim(request: ClaimRequest, options?: StoreCallOptions): Promise<ClaimResult> {
    return claimLease(this, this.seen, this.clock, request, options);
  }

  /** One round trip for a release of a lease this store saw its holder write; otherwise read, then write. */
  releaseHolder(name: string, holder: string, version: string, clientNow: number, options?: ReleaseCallOptions): Promise<ReleaseResult> {
    return releaseLease(this, this.seen, name, holder, version, clientNow, options);
  }
}

function encode(fields: LeaseFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of LEASE_FIELDS) out[field] = fields[field];
  // A JS Date is written as a Firestore timestamp by the client.
  out.acquiredAt = fields.acquiredAt === null ? null : new Date(fields.acquiredAt);
  return out;
}

function decode(data: Record<string, unknown>): Record<string, unknown> {
  const acquired = data.acquiredAt as Partial<FirestoreTimestampLike> | null | undefined;
  return {
    ...data,
    acquiredAt: acquired === null ? null : typeof acquired?.toMillis === 'function' ? acquired.toMillis() : acquired,
  };
}

function hasCode(error: unknown, ...codes: number[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && codes.includes(code);
}

export { DEFAULT_FIRESTORE_COLLECTION, MIN_FIRESTORE_TTL_MS } from './firestore-record.js';
