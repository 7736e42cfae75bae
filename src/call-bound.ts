/**
 * The bound of one library call (DESIGN rule "Every call settles"): every store request of a call shares one timer
 * on the call's clock, and past it the call fails closed with `STORE_UNAVAILABLE`, whatever the store does. Also the
 * call options handed to a store (their abort signal made only if the store reads it) and the error a failed store
 * request becomes. No SDK, no `node:` module.
 * @module
 */
import { type Clock, markRealTimeDeadline, systemClock, type TimerHandle } from './clock.js';
import { isLeaseholdError, LeaseholdError } from './errors.js';
import { DEFAULT_STORE_TIMEOUT_MS } from './options.js';
import type { LeaseRecord, ReadResult, ReleaseCallOptions, Store, StoreCallOptions } from './store.js';

/**
 * One library call's bound: every store request of the call shares it, and past it the call fails closed
 * (README safety: "Fail closed, and every call settles"). The timer runs on the call's clock; the core stops waiting at that moment whatever the
 * store does. The abort signal handed to the store (so its SDK can stop the request too) is made only when the
 * store reads it: a store that takes no signal (`pg`) costs no `AbortController`, listener or event per call.
 * @example
 * const bound = new CallBound(clock, store, storeTimeout(store), `read(${name})`)
 * try {
 *   const { record } = await bound.run((options) => store.read(name, options))
 * } finally {
 *   bound.done()
 * }
 */
export class CallBound {
  private controller: AbortController | undefined;
  private expired: LeaseholdError | undefined;
  /** Rejects the request in flight (requests of one call run one after another). */
  private stopWaiting: ((reason: unknown) => void) | undefined;
  private readonly timer: TimerHandle;
  /** When the bound runs out on the real clock (`performance.now()`), if the call's clock is the system clock. */
  private readonly realDeadline: number | undefined;
  /** Options to pass to the store; `signal` is made on first read. */
  readonly options: StoreCallOptions;

  /**
   * Starts the bound's timer now.
   * @param ms the bound in ms, on `clock` (e.g. {@link storeTimeout}).
   * @param what the call, as the timeout's message names it (e.g. `release(nightly)`).
   */
  constructor(
    private readonly clock: Clock,
    store: Store,
    readonly ms: number,
    what: string,
  ) {
    this.realDeadline = clock === systemClock ? globalThis.performance.now() + ms : undefined;
    this.timer = clock.setTimeout(() => {
      const reason = new LeaseholdError(
        'STORE_UNAVAILABLE',
        `${store.kind} store: ${what} got no answer within ${Math.round(ms)} ms (the call's bound); not leader. Check the store's reachability, or raise the store's timeoutMs`,
      );
      this.expired = reason;
      this.stopWaiting?.(reason);
      this.controller?.abort(reason);
    }, ms);
    this.options = new BoundOptions(this);
  }

  /** The call's signal, made on first read. */
  signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.expired) this.controller.abort(this.expired);
      // Tells the built-in stores' per-request bound (clock.ts `requestBound`) that this signal already aborts in
      // real time, so they need no second timer.
      else if (this.realDeadline !== undefined) markRealTimeDeadline(this.controller.signal, this.realDeadline);
    }
    return this.controller.signal;
  }

  /** Runs one store request, settling no later than the bound. */
  run<T>(request: (options: StoreCallOptions) => Promise<T>): Promise<T> {
    if (this.expired) return Promise.reject(this.expired);
    let pending: Promise<T>;
    try {
      pending = request(this.options);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.stopWaiting = reject;
      pending.then(
        (value) => {
          if (this.stopWaiting === reject) this.stopWaiting = undefined;
          resolve(value);
        },
        (error: unknown) => {
          if (this.stopWaiting === reject) this.stopWaiting = undefined;
          reject(error);
        },
      );
    });
  }

  /** Stops the timer (the call has settled). */
  done(): void {
    this.clock.clearTimeout(this.timer);
  }
}

/** A call's {@link StoreCallOptions}: `signal` is a getter (made on first read), on the prototype for speed. */
class BoundOptions implements StoreCallOptions {
  readonly #bound: CallBound;

  constructor(bound: CallBound) {
    this.#bound = bound;
  }

  get signal(): AbortSignal {
    return this.#bound.signal();
  }
}

/**
 * Runs store requests under one call bound (the store's `timeoutMs`), for the layers above the election (jobs'
 * completed slots, the CLI's reads): the requests share the bound, and past it the call fails closed with
 * `STORE_UNAVAILABLE`; any other failure becomes one too ({@link unavailable}). Not part of the public API.
 * @example
 * const { record } = await boundedStoreCall(store, clock, `read(${name})`, (call) => call((o) => store.read(name, o)))
 */
export async function boundedStoreCall<T>(
  store: Store,
  clock: Clock,
  what: string,
  run: (call: <R>(request: (options: StoreCallOptions) => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<T> {
  const bound = new CallBound(clock, store, storeTimeout(store), what);
  try {
    return await run((request) => bound.run(request));
  } catch (error) {
    throw unavailable(store, what, error);
  } finally {
    bound.done();
  }
}

/** The bound of a call to `store` that holds no lease: its `timeoutMs`, or {@link DEFAULT_STORE_TIMEOUT_MS} (5 000 ms). */
export function storeTimeout(store: Store): number {
  return store.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
}

/**
 * The error a failed store request becomes: a {@link LeaseholdError} passes unchanged; anything else (an SDK's
 * error, a dropped connection) becomes `STORE_UNAVAILABLE` naming the store and `what` failed, with the error as
 * `cause`. Callers treat it as "not leader" (fail closed).
 */
export function unavailable(store: Store, what: string, cause: unknown): LeaseholdError {
  if (isLeaseholdError(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new LeaseholdError('STORE_UNAVAILABLE', `${store.kind} store: ${what} failed (${detail}); not leader. Retry on the next invocation or poll.`, {
    cause,
  });
}

/** The call's options plus the version a release is pinned to; the signal is still made only if the store reads it. */
export function withExpectedVersion(options: StoreCallOptions, expectedVersion: string): ReleaseCallOptions {
  return new PinnedReleaseOptions(options, expectedVersion);
}

class PinnedReleaseOptions implements ReleaseCallOptions {
  readonly #options: StoreCallOptions;

  constructor(
    options: StoreCallOptions,
    readonly expectedVersion: string,
  ) {
    this.#options = options;
  }

  get signal(): AbortSignal | undefined {
    return this.#options.signal;
  }
}

/**
 * A write whose answer was lost may or may not have applied. Read back (within the same bound): if the record
 * carries this attempt's version, the write applied and the caller leads (validity still counts from the
 * send); otherwise it did not. If even the read fails, or the bound ran out, fail closed.
 */
export async function recoverAmbiguous(
  store: Store,
  name: string,
  version: string,
  error: unknown,
  bound: CallBound,
): Promise<[LeaseRecord | null, number | undefined]> {
  if (isLeaseholdError(error) && error.code !== 'STORE_UNAVAILABLE') throw error;
  let read: ReadResult;
  try {
    read = await bound.run((o) => store.read(name, o));
  } catch {
    throw unavailable(store, 'write (and the read-back that would resolve it)', error);
  }
  if (read.record?.version === version) return [read.record, read.now];
  throw unavailable(store, 'write', error);
}
