/**
 * A `Map` that holds at most `limit` entries: setting a new key past the limit drops the oldest-inserted entry.
 * This process's bounded memories (versions seen, warm answers, winners of a claim, last reads) use it, so that a
 * process that sees millions of names keeps a fixed amount of memory; forgetting an entry only ever costs a request.
 * Setting an existing key updates it in place (its age is kept: a delete and re-insert per call would churn the
 * table); `refresh` makes it the newest.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  /** @param limit the most entries kept (default 1 024). */
  constructor(readonly limit = 1_024) {
    super();
  }

  override set(key: K, value: V): this {
    super.set(key, value);
    if (this.size > this.limit) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return this;
  }

  /** Sets `key` as the newest entry (a least-recently-used order where the caller wants one). */
  refresh(key: K, value: V): this {
    this.delete(key);
    return this.set(key, value);
  }
}
