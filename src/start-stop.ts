/**
 * Start and stop of a long-lived loop (the `Elector`, the `Tracker`), serialized one way: a start while idle runs at
 * once (synchronously, so a clock advanced right after `start()` sees its first timer); a start while a stop is under
 * way runs once that stop has settled, so the stop's release never clears the restarted loop; a stop while another
 * is under way joins it and cancels a start queued meanwhile (the last call wins: stopped).
 * @module
 */

/** Serializes the start and stop steps of one long-lived loop. Internal to leasehold. */
export class StartStop {
  /** The stop under way, until it settles. */
  private stopping: Promise<void> | undefined;
  /** A start asked for while stopping: runs once the stop has settled. */
  private queued: (() => void) | undefined;

  /**
   * Runs `begin` now, or after the stop under way (unless another stop comes first). Resolves once it ran (or was
   * cancelled); never rejects.
   */
  start(begin: () => void): Promise<void> {
    if (this.stopping === undefined) {
      begin();
      return Promise.resolve();
    }
    this.queued = begin;
    // Settles after the stop's own settling, which runs the queued start.
    return this.stopping.then(
      () => {},
      () => {},
    );
  }

  /** Runs `end` now, or joins the stop under way; cancels a queued start. Settles when the stop has. */
  stop(end: () => Promise<void>): Promise<void> {
    this.queued = undefined;
    if (this.stopping !== undefined) return this.stopping;
    const stopping = end().finally(() => {
      this.stopping = undefined;
      const queued = this.queued;
      this.queued = undefined;
      queued?.();
    });
    this.stopping = stopping;
    return stopping;
  }

  /** Whether a stop is under way. */
  get busy(): boolean {
    return this.stopping !== undefined;
  }
}
