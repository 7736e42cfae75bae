/**
 * The lease record as a Firestore document, shared by `leasehold/firestore` (gRPC, the official client) and
 * `leasehold/firestore-rest` (fetch only): field names, the mapping between fields and {@link LeaseRecord},
 * validation of what is read and of the options both stores take. Neither store keeps its own copy.
 *
 * One document per election name, `{collection}/{name}`, with the fields
 *
 * | field        | type              | meaning                                                                     |
 * |--------------|-------------------|-----------------------------------------------------------------------------|
 * | `holder`     | string or null    | current holder; null after a release                                        |
 * | `token`      | integer           | fencing token (rises at each change of holder, kept on renewal and release) |
 * | `acquiredAt` | timestamp or null | when the holder acquired it; null: "at this document's update time"         |
 * | `ttlMs`      | integer           | lease length: the lease runs out at the document's update time + `ttlMs`    |
 * | `version`    | string            | unique per write: how a caller recognises its own write                     |
 * | `data`       | string or null    | the holder's payload                                                        |
 *
 * Expiry is judged entirely on Firestore's clock: `expiresAt` is not a stored field but the document's
 * `updateTime` (the commit time of the write that stamped it, assigned by Firestore) plus `ttlMs`, and it is
 * compared with the `readTime` of a strongly consistent read. See `firestore.ts` for why that is safe.
 * @module
 */
import { BoundedMap } from '../bounded-map.js';
import { type Clock, monotonicNow, wallNow } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { describeValue } from '../options.js';
import { planClaim } from '../rule.js';
import type { ClaimRequest, LeaseRecord, LeaseWrite, ReleaseCallOptions, ReleaseResult, Store, StoreCallOptions } from '../store.js';

/** Default collection of both Firestore stores. */
export const DEFAULT_FIRESTORE_COLLECTION = 'leasehold_leases';

/**
 * Shortest lease (ms) the Firestore stores accept: 3 s. Firestore sustains about one write per second per
 * document; the leader renews every `ttlMs / 3` by default (the Elector), so a 3 s lease is one write a
 * second. `tryLead()` refuses a shorter lease with `INVALID_TTL` before any request, read included (the
 * stores declare it in {@link FIRESTORE_LIMITS}, which the core checks first).
 */
export const MIN_FIRESTORE_TTL_MS = 3_000;

/**
 * The write rate both Firestore stores declare as `Store.limits`, checked by the core before any I/O:
 * `tryLead()` refuses `ttlMs` below 3 000 (`INVALID_TTL`), and an `Elector` refuses `renewEveryMs` below
 * 1 000 (`INVALID_OPTION`): about one write per second per document.
 */
export const FIRESTORE_LIMITS = { minTtlMs: MIN_FIRESTORE_TTL_MS, minWriteIntervalMs: 1_000 } as const;

/** The lease fields every write sets (the update mask of a replace: other fields in the document are kept). */
export const LEASE_FIELDS = ['holder', 'token', 'acquiredAt', 'ttlMs', 'version', 'data'] as const;

/**
 * The lease fields in plain values: what a store encodes for its wire (SDK values, REST `Value`s). The write's own
 * fields: `acquiredAt` `null` stands for "the commit time of the write that sets this" (a new holder), `ttlMs` is
 * whole milliseconds.
 */
export type LeaseFields = Pick<LeaseWrite, 'holder' | 'token' | 'acquiredAt' | 'ttlMs' | 'version' | 'data'>;

/**
 * The fields one write sets. A new holder's `acquiredAt` is left `null`, meaning "this write's commit time",
 * so it is stamped on Firestore's clock without a second round trip. A backstop for callers that bypass the
 * core (which checks {@link FIRESTORE_LIMITS} first): throws `INVALID_TTL` before this write is sent for a
 * lease shorter than {@link MIN_FIRESTORE_TTL_MS}; a release (`holder: null`, `ttlMs: 0`) is allowed.
 */
export function fieldsForWrite(kind: string, write: LeaseWrite): LeaseFields {
  if (write.holder !== null && write.ttlMs < MIN_FIRESTORE_TTL_MS) {
    throw new LeaseholdError(
      'INVALID_TTL',
      `${kind} store: ttlMs must be at least ${MIN_FIRESTORE_TTL_MS} ms (got ${write.ttlMs}): Firestore sustains about one write per second per document and the leader renews every ttlMs / 3; use ttlMs of 15000 or more`,
    );
  }
  return {
    holder: write.holder,
    token: write.token,
    acquiredAt: write.acquiredAt,
    // Rounded up: a lease a fraction of a millisecond longer than the caller's window is still safe.
    ttlMs: Math.ceil(write.ttlMs),
    version: write.version,
    data: write.data,
  };
}

/**
 * The record a document holds, given its decoded fields and its update time (epoch ms, on Firestore's clock).
 * Also the record a successful write produced, given the write's update time. Throws `STORE_CORRUPT`
 * when a field has the wrong type (a foreign writer, or a different layout).
 */
export function recordFromFields(kind: string, name: string, raw: Record<string, unknown>, updateTimeMs: number): LeaseRecord {
  const bad = (field: string, expected: string): never => {
    const value = raw[field];
    throw new LeaseholdError(
      'STORE_CORRUPT',
      `${kind} store: document ${JSON.stringify(name)} field ${field} must be ${expected}, got ${value === undefined ? 'nothing' : describeValue(value)}; leave lease documents to leasehold`,
    );
  };
  const { holder, token, acquiredAt, ttlMs, version, data } = raw;
  if (holder !== null && typeof holder !== 'string') bad('holder', 'a string or null');
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 1) bad('token', 'a positive integer');
  if (acquiredAt !== null && (typeof acquiredAt !== 'number' || !Number.isFinite(acquiredAt))) bad('acquiredAt', 'a timestamp or null');
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 0) bad('ttlMs', 'a non-negative integer');
  if (typeof version !== 'string' || version.length === 0) bad('version', 'a non-empty string');
  if (data !== null && typeof data !== 'string') bad('data', 'a string or null');
  if (!Number.isFinite(updateTimeMs)) throw new LeaseholdError('STORE_CORRUPT', `${kind} store: document ${JSON.stringify(name)} has no update time`);
  return {
    name,
    holder: holder as string | null,
    token: token as number,
    acquiredAt: (acquiredAt as number | null) ?? updateTimeMs,
    expiresAt: updateTimeMs + (ttlMs as number),
    version: version as string,
    data: data as string | null,
  };
}

/** Checks a collection path (`leases`, or nested `tenants/acme/leases`); returns it. */
export function checkCollection(kind: string, collection: unknown): string {
  const path = collection === undefined ? DEFAULT_FIRESTORE_COLLECTION : collection;
  const segments = typeof path === 'string' ? path.split('/') : [];
  const valid =
    typeof path === 'string' &&
    path.length <= 1_000 &&
    segments.length % 2 === 1 &&
    segments.every((s) => s.length > 0 && s !== '.' && s !== '..' && !/^__.*__$/.test(s) && /^[\x21-\x7e]+$/.test(s));
  if (!valid) {
    throw new LeaseholdError(
      'INVALID_STORE',
      `${kind} store: collection must be a collection path like "leasehold_leases" or "tenants/acme/leases" (printable ASCII segments, not "." or "..", not __x__); got ${describeValue(path)}`,
    );
  }
  return path as string;
}

/**
 * When this store sent the write that produced a cached state, on its own clocks, and the lease length it asked
 * for: what says whether that lease is still surely live on Firestore's clock ({@link claimLease}).
 */
export interface SentWrite {
  /** `clock.monotonic()` just before the request was sent. */
  mono: number;
  /** `clock.now()` at the same moment. */
  wall: number;
  /** The write's `ttlMs`. */
  ttlMs: number;
}

/** Samples the clocks just before a write is sent (see {@link SentWrite}); a clock returning a non-number is `INVALID_STORE`. */
export function sentNow(clock: Clock, ttlMs: number, kind = 'firestore'): SentWrite {
  return { mono: monotonicNow(clock, `${kind} store`), wall: wallNow(clock, `${kind} store`), ttlMs };
}

/**
 * The lease state this store last saw for each name (read or written), with its update time, so that
 * 1. a compare-and-swap on `version` can be sent as a write with a `lastUpdateTime` (REST:
 *    `currentDocument.updateTime`) precondition: the core compares versions, Firestore compares update times,
 *    and this joins the two (a miss costs one read);
 * 2. a holder renews in one round trip, straight from the state it wrote last, while that lease is surely
 *    still live ({@link claimLease}); for that, a state this store wrote keeps when its write was sent.
 * It only chooses what to send: the precondition decides whether a write applies, so a stale entry costs a
 * request, never safety. Bounded to `limit` names (least recently seen dropped first).
 */
export class SeenLeases<T> {
  private readonly entries: BoundedMap<string, { record: LeaseRecord; updateTime: T; sent: SentWrite | undefined }>;

  constructor(limit = 1_024) {
    this.entries = new BoundedMap(limit);
  }

  /**
   * Remembers `record` as the state of its name at `updateTime`; `sent` when this store wrote it. A read of
   * the state this store wrote (same `version`: unique per write) keeps the send time it had.
   */
  remember(record: LeaseRecord, updateTime: T, sent?: SentWrite): void {
    const previous = this.entries.get(record.name);
    const keep = sent ?? (previous?.record.version === record.version ? previous.sent : undefined);
    this.entries.refresh(record.name, { record: { ...record }, updateTime, sent: keep });
  }

  /** The update time of the state of `name` that carries `version`, if that is the state last seen. */
  updateTime(name: string, version: string): T | undefined {
    const entry = this.entries.get(name);
    return entry?.record.version === version ? entry.updateTime : undefined;
  }

  /** The state of `name` last seen, if any, with when this store sent the write that made it (if it did). */
  latest(name: string): { record: LeaseRecord; sent: SentWrite | undefined } | undefined {
    const entry = this.entries.get(name);
    return entry ? { record: { ...entry.record }, sent: entry.sent } : undefined;
  }
}

/** The primitives {@link claimLease} and {@link releaseLease} drive: a Firestore store's own read/create/replace. */
export type LeasePrimitives = Pick<Store, 'kind' | 'read' | 'create' | 'replace'>;

type Found = { record: LeaseRecord; now?: number };

function withNow(record: LeaseRecord, now: number | undefined): Found {
  return now === undefined ? { record } : { record, now };
}

/**
 * Whether the lease this store wrote (sent at `sent`) is surely still live on Firestore's clock now.
 *
 * Firestore stamps the lease's expiry as the write's commit time + ttl, and the commit time is no earlier than
 * the moment the request was sent (up to Firestore's clock error). So while less than `ttl - maxClockSkewMs` has
 * passed since the send, on this host's monotonic clock *and* on its wall clock (a frozen machine can stop one
 * of them, README safety: "At most one valid leader"), the lease has not run out on Firestore's clock: the same bound, and the same
 * assumption (Firestore's clock error plus this host's drift over one lease stay below `maxClockSkewMs`), that
 * the holder's own validity rests on. The renewal then lands a little after this decision, as the generic
 * path's write lands a little after its read said "live".
 */
function surelyLive(sent: SentWrite | undefined, clock: Clock, maxClockSkewMs: number): boolean {
  if (!sent) return false;
  const window = sent.ttlMs - maxClockSkewMs;
  return clock.monotonic() - sent.mono < window && clock.now() - sent.wall < window;
}

/**
 * The Firestore stores' `claim`: the core's own decision ({@link planClaim}) over their primitives, with one
 * shortcut. A holder renewing a lease this store wrote last, while that lease is surely still live on
 * Firestore's clock ({@link surelyLive}), sends the conditional write at once, without reading first (one round
 * trip instead of two): the `lastUpdateTime` precondition proves nobody wrote since, and liveness proves it is a
 * renewal of a live term, so keeping the token is exactly what {@link planClaim} would decide. Once that
 * is not sure (the lease may have run out: a new term, token + 1), or if the precondition fails, it reads first,
 * and the read's `readTime` (Firestore's clock) decides. Takeovers always read first for the same reason.
 */
export async function claimLease(
  store: LeasePrimitives,
  seen: SeenLeases<unknown>,
  clock: Clock,
  request: ClaimRequest,
  options?: StoreCallOptions,
): Promise<Found> {
  const write = (token: number, acquiredAt: number | null): LeaseWrite => ({
    name: request.name,
    holder: request.holder,
    token,
    acquiredAt,
    ttlMs: request.ttlMs,
    version: request.version,
    data: request.data,
    clientNow: request.clientNow,
  });
  const cached = seen.latest(request.name);
  if (cached && cached.record.holder === request.holder && surelyLive(cached.sent, clock, request.maxClockSkewMs)) {
    const outcome = await store.replace(cached.record.version, write(cached.record.token, cached.record.acquiredAt), options);
    if (outcome.ok) return withNow(outcome.record, outcome.now);
  }
  const read = await store.read(request.name, options);
  const current = read.record;
  const plan = planClaim('store', current, request.holder, read.now, request.clientNow, request.maxClockSkewMs);
  // planClaim refuses only when a live record exists.
  if (plan.action === 'refuse') return withNow(current as LeaseRecord, read.now);
  const outcome =
    current === null
      ? await store.create(write(plan.token, plan.acquiredAt), options)
      : await store.replace(current.version, write(plan.token, plan.acquiredAt), options);
  if (outcome.ok) return withNow(outcome.record, outcome.now);
  // Lost a race: report whoever won (the core recognises this attempt's own version, should a retry have applied it).
  if (outcome.current) return withNow(outcome.current, outcome.now);
  const again = await store.read(request.name, options);
  // Only if the document was deleted under us: not leader, and nothing to report; the caller retries later.
  if (!again.record) throw new LeaseholdError('STORE_UNAVAILABLE', `${store.kind} store: the lease document vanished during the claim; not leader, retry`);
  return withNow(again.record, again.now);
}

/**
 * The Firestore stores' `releaseHolder`: clears the holder (keeping the token) with a conditional write on the
 * state this store last saw `holder` hold (one round trip), or else on the state a read finds.
 */
export async function releaseLease(
  store: LeasePrimitives,
  seen: SeenLeases<unknown>,
  name: string,
  holder: string,
  version: string,
  clientNow: number,
  options?: ReleaseCallOptions,
): Promise<ReleaseResult> {
  const call: StoreCallOptions | undefined = options?.signal ? { signal: options.signal } : undefined;
  const clear = (current: LeaseRecord) =>
    store.replace(
      current.version,
      { name, holder: null, token: current.token, acquiredAt: current.acquiredAt, ttlMs: 0, version, data: null, clientNow },
      call,
    );
  // Which states this release may clear: the holder's, and with `expectedVersion` only exactly that one (a
  // release delivered late must not clear a renewal the holder made after it).
  const mine = (record: LeaseRecord) => record.holder === holder && (options?.expectedVersion === undefined || record.version === options.expectedVersion);
  // A release need not be sure the lease is live: clearing this holder's own lapsed lease (nobody wrote since,
  // as the precondition proves) keeps the token, so the next holder's is still larger.
  const cached = seen.latest(name)?.record;
  if (cached && mine(cached)) {
    const outcome = await clear(cached);
    if (outcome.ok) return withNow(outcome.record, outcome.now);
  }
  const read = await store.read(name, call);
  if (!read.record || !mine(read.record)) return read.now === undefined ? { record: read.record } : { record: read.record, now: read.now };
  const outcome = await clear(read.record);
  if (outcome.ok) return withNow(outcome.record, outcome.now);
  const again = outcome.current ? { record: outcome.current, now: outcome.now } : await store.read(name, call);
  return again.now === undefined ? { record: again.record } : { record: again.record, now: again.now };
}
