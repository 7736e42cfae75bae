/**
 * The Store interface: the few conditional primitives a backend provides. The election logic lives once,
 * in `lead.ts`, over these primitives; a store never re-implements it.
 * @module
 */

/**
 * One lease as the store keeps it: one record per election name.
 * Times are epoch milliseconds on the clock that judges expiry (the database's where it has one).
 */
export interface LeaseRecord {
  /** Election name. */
  name: string;
  /** Current holder id, or `null` after a release. */
  holder: string | null;
  /** Fencing token: rises at every change of holder, kept on renewal and on release. */
  token: number;
  /** When the holder acquired the lease (kept across renewals). Meaningless while `holder` is `null`. */
  acquiredAt: number;
  /** When the lease runs out unless renewed. */
  expiresAt: number;
  /** Opaque, unique per write: what compare-and-swap compares, and how a caller recognises its own write. */
  version: string;
  /** Optional small payload written by the holder (`null` when none). */
  data: string | null;
}

/** A record read from the store, with the store's own clock where it has one. */
export interface ReadResult {
  /** The record, or `null` when this name was never written. */
  record: LeaseRecord | null;
  /**
   * The store's clock at the read (epoch ms), for stores that judge expiry by their own clock
   * (`clockSource: 'store'`). Omitted by client-clock stores.
   */
  now?: number;
}

/** What a fused claim ({@link Store.claim}) answers: the record after the attempt, and the store's clock as in {@link ReadResult}. */
export interface ClaimResult {
  /** The record after the attempt: this attempt's own when it won, otherwise the current holder's. */
  record: LeaseRecord;
  /** The store's clock at the claim (epoch ms), for `clockSource: 'store'` stores. */
  now?: number;
}

/** What a fused release ({@link Store.releaseHolder}) answers: the record after the attempt (`null` when none exists). */
export type ReleaseResult = ReadResult;

/** What the core asks a store to write. The store stamps `expiresAt` (and `acquiredAt` when `null`). */
export interface LeaseWrite {
  /** Election name (already checked). */
  name: string;
  /** New holder, or `null` to release. */
  holder: string | null;
  /** Fencing token to write (the core decides it: kept on renewal and release, + 1 for a new term). */
  token: number;
  /** Acquisition time to keep (epoch ms, as read), or `null` to stamp "now" on the judging clock. */
  acquiredAt: number | null;
  /** Lease length: the store sets `expiresAt = now + ttlMs` on the judging clock (`0` on release). */
  ttlMs: number;
  /** Unique to this attempt (README safety: "Lost answers and late writes": a caller recognises its own write by it). */
  version: string;
  /** Payload to store, or `null` for none. */
  data: string | null;
  /** The caller's wall clock when the attempt began: "now" for client-clock stores; ignored by others. */
  clientNow: number;
}

/** The fused, one-round-trip claim: create, or extend if mine, or take over if released or expired. */
export interface ClaimRequest {
  /** Election name (already checked). */
  name: string;
  /** The claimant (already checked). */
  holder: string;
  /** Lease length in ms: the store sets `expiresAt = now + ttlMs` on the judging clock. */
  ttlMs: number;
  /** Unique to this attempt: the written record carries it, so the caller recognises its own write. */
  version: string;
  /** Payload to store, or `null` for none. */
  data: string | null;
  /** The caller's wall clock when the attempt began (client-clock stores use it, with the skew bound). */
  clientNow: number;
  /** Client-clock stores take over only after `expiresAt + maxClockSkewMs` (README safety: "Whose clock"). */
  maxClockSkewMs: number;
}

/**
 * Per-request options the core passes to every store call. `signal` aborts when the call's bound runs out
 * (the lease's validity window for a claim, the store's `timeoutMs` otherwise): pass it to your SDK so a
 * request that will never be used stops. The core stops waiting at that moment either way. `signal` is a getter
 * that makes the signal on first read (a store that takes none costs no `AbortController`): read it as
 * `options.signal`, and do not copy the options with `{ ...options }`, which drops it.
 */
export interface StoreCallOptions {
  signal?: AbortSignal;
}

/** Options of a fused release ({@link Store.releaseHolder}). */
export interface ReleaseCallOptions extends StoreCallOptions {
  /**
   * The version of the lease state this release gives up (what this process last saw the holder write), when
   * known. The release must then apply only to exactly that state: a release delivered late, after the same
   * holder renewed, must not clear the renewal (README safety: "Lost answers and late writes"). Omitted for a cold release (no state
   * known), which is conditional on the holder alone.
   */
  expectedVersion?: string;
}

/** Outcome of a conditional write: the written record, or the record that made the condition fail. */
export type WriteOutcome = { ok: true; record: LeaseRecord; now?: number } | { ok: false; current: LeaseRecord | null; now?: number };

/**
 * A backend. Implement `read`, `create` and `replace`; `claim` and `releaseHolder` are optional fused
 * fast paths that must behave exactly like the generic path (the conformance suite checks both).
 */
export interface Store {
  /** Short name used in error messages, e.g. `"postgres"`. */
  readonly kind: string;
  /**
   * Whose clock judges expiry. `'store'`: the database's (reads return `now`; writes stamp times with it),
   * so client skew does not matter. `'client'`: the caller's clock, with the `maxClockSkewMs` bound.
   */
  readonly clockSource: 'store' | 'client';
  /**
   * What the database sustains, checked by the core before anything is sent: `tryLead()` refuses a
   * `ttlMs` below `minTtlMs`, and the `Elector` refuses to renew more often than every `minWriteIntervalMs`
   * (both `INVALID_TTL` / `INVALID_OPTION`). E.g. Firestore: about one write per second per document.
   */
  readonly limits?: { readonly minTtlMs: number; readonly minWriteIntervalMs: number };
  /**
   * Bound of one library call on this store, in ms, all its requests included (default 5 000,
   * `DEFAULT_STORE_TIMEOUT_MS`): `release()` and `getLeader()` settle within it, and `tryLead()` within it or
   * its lease's validity window, whichever is shorter. Past it the call fails closed (`STORE_UNAVAILABLE`).
   */
  readonly timeoutMs?: number;
  /**
   * What this process's memory of a lease (the version each holder last saw, the results that may still say
   * leader, a warm holder's answer) is keyed by (DESIGN rule "One identity per lease table"): stores on the same
   * client and table return the same object (`storeIdentity(client, key)` from `leasehold` makes one per client and key), so a release or a
   * takeover seen through one ends the results won through the other at once. A wrapper returns the wrapped store's
   * identity (`identityOf(inner)`). Default: the store object itself (its memory is its own). Must be an object, and
   * the same object for the store's whole life; two stores that share it must read and write the same records.
   */
  readonly identity?: object;
  /** Reads the record for `name` (strongly consistent). */
  read(name: string, options?: StoreCallOptions): Promise<ReadResult>;
  /** Writes `write` only if no record exists for the name. */
  create(write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome>;
  /**
   * Writes `write` only if the current record's version is `expectedVersion` (compare-and-swap). The
   * condition pins the exact state the caller saw, so a write delivered late changes nothing newer.
   */
  replace(expectedVersion: string, write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome>;
  /**
   * Optional one-round-trip claim. Returns the record after the attempt: this attempt's own
   * (its `version` equals `request.version`) when it won, otherwise the current holder's.
   * A claim delivered late (held by the network after its caller gave up) must never move the lease's
   * expiry backwards nor change a term newer than the one it was sent for (README safety: "Lost answers and late writes").
   */
  claim?(request: ClaimRequest, options?: StoreCallOptions): Promise<ClaimResult>;
  /**
   * Optional push wake-ups (Postgres `LISTEN/NOTIFY`): calls `onChange` soon after the lease `name` may have fallen
   * vacant or changed hands (a release, a handover), so that a follower claims at once instead of at its next poll.
   * Best effort by contract: a wake-up may be lost (a dropped listening connection, a release by another tool) or
   * spurious, and the core never depends on one: a wake-up only brings an ordinary claim forward, and polling stays
   * the fallback (the only mechanism on stores without `watch`, e.g. DynamoDB). Returns a function that unsubscribes;
   * must not throw, and must not call `onChange` synchronously.
   */
  watch?(name: string, onChange: () => void): () => void;
  /**
   * Optional one-round-trip release: clears the holder (keeping the token) only if `holder` holds it (and,
   * with `options.expectedVersion`, only if the lease is still exactly that state), writing `version`.
   * Returns the record after the attempt, or `null` when none exists.
   */
  releaseHolder?(name: string, holder: string, version: string, clientNow: number, options?: ReleaseCallOptions): Promise<ReleaseResult>;
}
