/**
 * A store's identity (DESIGN rule "One identity per lease table"): what this process's memory of a lease — the
 * version each holder last saw, the results that may still say leader, a warm holder's answer — is keyed by, so that
 * a wrapper and the store it wraps, or two instances of a store on one client and table, see each other's releases
 * and takeovers at once. No SDK, no `node:` module: the core runs in Workers.
 * @module
 */
import type { Store } from './store.js';

/** One canonical identity per client object and key. Weak on the client: a dropped client takes its identities with it. */
const identities = new WeakMap<object, Map<string, object>>();

/**
 * The identity of the lease table `key` reached through `client`: the same frozen object for the same client object
 * and key, every time. For store authors: call it once in your store's constructor with the client the user passed
 * (a pool, an SDK client) and a key naming what that client's requests address (table, collection, key layout), and
 * return it as {@link Store.identity}. Two stores on the same client and key then share one memory of each lease.
 *
 * Put in `key` everything that decides which records a lease name maps to, and nothing that does not (timeouts,
 * retry settings): two stores that share an identity must read and write the same records, or one could be answered
 * from the other's memory. Two clients connected to one database get two identities (this process cannot tell they
 * are the same); share one client to share the memory.
 * @example
 * class MyStore implements Store {
 *   readonly identity: object
 *   constructor(options: { client: MyClient; table: string }) {
 *     this.identity = storeIdentity(options.client, `table:${options.table}`)
 *   }
 * }
 */
export function storeIdentity(client: object, key: string): object {
  let byKey = identities.get(client);
  if (!byKey) {
    byKey = new Map();
    identities.set(client, byKey);
  }
  let identity = byKey.get(key);
  if (!identity) {
    // Opaque on purpose: a key may hold a URL, and an identity may end up in a log.
    identity = Object.freeze({});
    byKey.set(key, identity);
  }
  return identity;
}

/**
 * What `store`'s memory in this process is keyed by: its {@link Store.identity}, or the store object itself when it
 * declares none. For wrapper authors: give your wrapper `identity: identityOf(inner)`, so that a release through the
 * wrapper ends the results won through the store it wraps (and the other way round).
 * @example
 * const wrapped: Store = { kind: inner.kind, clockSource: inner.clockSource, identity: identityOf(inner), read: …, create: …, replace: … }
 */
export function identityOf(store: Store): object {
  return store.identity ?? store;
}
