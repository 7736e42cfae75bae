/**
 * What the observers of a decorated store hear (`observeStore` in `observed-store.ts`): each store call as it starts
 * and ends, each claim decided, and the observer interface that `leasehold/otel` and `leasehold/logger` implement.
 * Types only. Not a public entry point.
 * @module
 */
import type { LeadershipTransition } from './leadership.js';

/** A Store method, as `db.operation.name` reports it. */
export type StoreOperation = 'read' | 'create' | 'replace' | 'claim' | 'releaseHolder';

/**
 * What the library was doing with a store call, as far as the call shows it: a claim (`tryLead`, an `Elector`
 * renewal), a release, a slot record of `runExclusive`, or a read (`getLeader`, or the first step of any of these
 * on a store without fused paths).
 */
export type CallIntent = 'claim' | 'release' | 'slot' | 'read';

/**
 * How a store call ended. `won`/`lost`: a claim (fused, or the write of the generic path) made its caller leader, or
 * found another holder; `written`/`conflict`: any other conditional write; `found`/`absent`: a read;
 * `released`/`not_holder`: a release; `error`: the call failed or its bound ran out.
 */
export type CallOutcome = 'won' | 'lost' | 'written' | 'conflict' | 'found' | 'absent' | 'released' | 'not_holder' | 'error';

/** One store call, as its observers see it when it starts. Never carries lease `data`. */
export interface StoreCall {
  /** The store's `kind` (`"postgres"`, `"dynamodb"`, …). */
  readonly storeKind: string;
  /** The Store method. */
  readonly operation: StoreOperation;
  /** What the library was doing. */
  readonly intent: CallIntent;
  /** Election name (the slot record's name for `intent: 'slot'`). */
  readonly name: string;
  /** The holder claiming or releasing, where the call names one (`null` for reads and generic releases). */
  readonly holder: string | null;
  /**
   * Which request of its library call this is (1 for the first): requests that share one call's AbortSignal
   * belong to one library call (one `tryLead`, `release`, `getLeader`). 1 when the caller passed no signal.
   */
  readonly roundTrip: number;
}

/** How a store call ended. */
export interface StoreCallEnd {
  /** The outcome. */
  readonly outcome: CallOutcome;
  /** Milliseconds the call took, on the decorator's monotonic clock. */
  readonly durationMs: number;
  /** The lease's fencing token in the answer, when the answer carries a record. */
  readonly token?: number;
  /** The lease's holder in the answer (`null`: released), when the answer carries a record. */
  readonly leader?: string | null;
  /** For `outcome: 'error'`: the LeaseholdError code, or `'untyped'` for any other error. */
  readonly errorCode?: string;
  /** For `outcome: 'error'`: the error's `name` (e.g. `"LeaseholdError"`, `"TimeoutError"`); never its message. */
  readonly errorName?: string;
}

/**
 * A claim decided: the fused `claim` call, or on a store without one the write that ends the generic path (the
 * duration then counts from the first request of the same library call, the read). A claim refused at the read
 * (the generic path's follower) writes nothing and is not reported.
 */
export interface ClaimDecided {
  /** The store's `kind`. */
  readonly storeKind: string;
  /** Election name. */
  readonly name: string;
  /** The claimant. */
  readonly holder: string;
  /** `fused`: the store's one-round-trip claim; `generic`: read, then create or compare-and-swap. */
  readonly path: 'fused' | 'generic';
  /** Whether the claim made its caller leader, found another holder, or failed. */
  readonly outcome: 'won' | 'lost' | 'error';
  /** The errored call's code (LeaseholdError code, or `'untyped'`). */
  readonly errorCode?: string;
  /** Milliseconds from the first request of the claim to its answer, on the decorator's monotonic clock. */
  readonly durationMs: number;
}

/** What an observer does for one call it was told of: optionally run the call within a context, then hear its end. */
export interface CallScope {
  /** Runs the store request (e.g. inside an OpenTelemetry context, so an SDK's own spans nest under this one). */
  run?<T>(request: () => T): T;
  /** The call ended (once). */
  end(result: StoreCallEnd): void;
}

/** One observer of a decorated store. Every method is optional; none may change the call. */
export interface StoreObserver {
  /** A call starts; return a scope to hear its end. */
  onCall?(call: StoreCall): CallScope | undefined;
  /** A claim was decided. */
  onClaim?(claim: ClaimDecided): void;
  /** Leadership through this store began or ended for a name. */
  onTransition?(transition: LeadershipTransition): void;
}
