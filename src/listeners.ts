/**
 * The listeners of an `Elector` or a `Tracker`: added and removed by the caller, each told every event in turn; a
 * listener that throws is skipped, never stopping the loop that emits.
 * @module
 */

/** A set of event listeners. Internal to leasehold. */
export class Listeners<E> {
  private readonly listeners = new Set<(event: E) => void>();

  /** Adds a listener; returns a function that removes it. */
  on(listener: (event: E) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener. */
  emit(event: E): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the loop that emits.
      }
    }
  }
}
