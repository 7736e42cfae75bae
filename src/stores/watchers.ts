/**
 * A store's push wake-up subscriptions (`Store.watch`), by lease name: the memory store's and the Postgres
 * listener's. Each subscription is its own entry (the same function subscribed twice is two subscriptions), and a
 * name's set is dropped when its last subscription goes.
 * @module
 */
/** Subscriptions by lease name: a `Map` from name to the set of its callbacks. */
export class Watchers extends Map<string, Set<() => void>> {
  /** Subscribes `onChange` to `name`; returns the function that removes exactly this subscription. */
  subscribe(name: string, onChange: () => void): () => void {
    let set = this.get(name);
    if (!set) {
      set = new Set();
      this.set(name, set);
    }
    const own = set;
    const entry = () => onChange();
    own.add(entry);
    return () => {
      own.delete(entry);
      if (own.size === 0 && this.get(name) === own) this.delete(name);
    };
  }
}
