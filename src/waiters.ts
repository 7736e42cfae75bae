/**
 * Callers waiting for something a loop will announce (an `Elector`'s next term: `waitForLeadership`): each resolves
 * when it is announced, rejects when the loop gives up, or rejects with its own signal's reason if that aborts first.
 * @module
 */

/** A set of pending waits for one value. Internal to leasehold. */
export class Waiters<T> {
  private readonly waiters = new Set<{ resolve: (value: T) => void; reject: (error: unknown) => void }>();

  /** Waits for {@link resolveAll}; rejects on {@link rejectAll}, or with `signal`'s reason if it aborts first. */
  wait(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter = {
        resolve: (value: T) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves every pending wait with `value`. */
  resolveAll(value: T): void {
    for (const waiter of [...this.waiters]) waiter.resolve(value);
    this.waiters.clear();
  }

  /** Rejects every pending wait, each with an error of its own from `error()`. */
  rejectAll(error: () => unknown): void {
    for (const waiter of [...this.waiters]) waiter.reject(error());
    this.waiters.clear();
  }
}
