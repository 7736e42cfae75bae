/**
 * One set of instruments per OpenTelemetry meter: `instrument()` and `observeJobs()` each make theirs on a meter's
 * first use and hand the same ones to every later call, so every store or job list on a meter reports into one set.
 * @module
 */
import type { Meter } from '@opentelemetry/api';

/** Instruments made once per meter, by `make`, on first use. */
export class PerMeter<T> {
  readonly #made = new WeakMap<Meter, T>();
  readonly #make: (meter: Meter) => T;

  /** `make` creates the instruments on a meter (it may throw; nothing is kept then). */
  constructor(make: (meter: Meter) => T) {
    this.#make = make;
  }

  /** The meter's instruments, made now if this is its first use. */
  of(meter: Meter): T {
    let found = this.#made.get(meter);
    if (!found) {
      found = this.#make(meter);
      this.#made.set(meter, found);
    }
    return found;
  }

  /** Forgets the meter's instruments (e.g. when they turned out unusable), so the next use makes them again. */
  forget(meter: Meter): void {
    this.#made.delete(meter);
  }
}
