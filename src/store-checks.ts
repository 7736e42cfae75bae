/**
 * Checks of a store passed to a library call: that it implements the {@link Store} interface, and that a lease's
 * length suits what the store sustains. Every entry point (tryLead, release, getLeader, the Elector, jobs, the
 * Tracker, the HTTP app) runs them before it sends anything.
 * @module
 */
import { LeaseholdError } from './errors.js';
import { hasMethods } from './has-methods.js';
import { describeValue } from './options.js';
import type { Store } from './store.js';

/** The methods every store has (the others are optional). */
const STORE_METHODS: readonly (keyof Store)[] = ['read', 'create', 'replace'];

/**
 * Checks that `store` implements the Store interface; returns it. Throws `INVALID_STORE`.
 * @example
 * const s = checkStore(options.store)
 */
export function checkStore(store: unknown): Store {
  const s = store as Partial<Store>;
  if (!hasMethods(s, STORE_METHODS) || (s.clockSource !== 'store' && s.clockSource !== 'client')) {
    throw new LeaseholdError(
      'INVALID_STORE',
      'store must implement the Store interface (read, create, replace, clockSource); pass e.g. new PostgresStore({ pool })',
    );
  }
  if (s.timeoutMs !== undefined && (typeof s.timeoutMs !== 'number' || !Number.isFinite(s.timeoutMs) || s.timeoutMs <= 0)) {
    throw new LeaseholdError('INVALID_STORE', `store.timeoutMs must be a positive number of milliseconds, or absent; got ${describeValue(s.timeoutMs)}`);
  }
  const identity: unknown = s.identity;
  if (identity !== undefined && ((typeof identity !== 'object' && typeof identity !== 'function') || identity === null)) {
    throw new LeaseholdError(
      'INVALID_STORE',
      `store.identity must be an object (storeIdentity(client, key), or identityOf(inner) in a wrapper), or absent; got ${describeValue(identity)}`,
    );
  }
  return s as Store;
}

/** Refuses a lease shorter than the store sustains (e.g. Firestore's one write per second per document): throws `INVALID_TTL`. */
export function checkStoreLimits(store: Store, ttlMs: number): void {
  const min = store.limits?.minTtlMs;
  if (min !== undefined && ttlMs < min) {
    throw new LeaseholdError(
      'INVALID_TTL',
      `${store.kind} store: ttlMs must be at least ${min} ms (got ${ttlMs}): the database sustains about one write every ${store.limits?.minWriteIntervalMs} ms per lease, and a leader renews every ttlMs / 3; use ttlMs of 15000 or more`,
    );
  }
}
