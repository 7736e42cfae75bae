/**
 * Store wrappers for tests: hide a store's fused paths, or inject faults between the caller and a real
 * store. They wrap a real engine; they never stand in for one.
 * @module
 */
import { identityOf } from '../identity.js';
import type { Store } from '../store.js';

/** The same store (same identity) with its fused `claim`/`releaseHolder` hidden, so the core's generic path runs. */
export function genericOnly(store: Store): Store {
  return {
    kind: store.kind,
    clockSource: store.clockSource,
    identity: identityOf(store),
    ...(store.limits ? { limits: store.limits } : {}),
    ...(store.timeoutMs !== undefined ? { timeoutMs: store.timeoutMs } : {}),
    read: (name, options) => store.read(name, options),
    create: (write, options) => store.create(write, options),
    replace: (version, write, options) => store.replace(version, write, options),
    // Wake-ups are not a fused path: kept, so the generic path is woken as the store's own callers are.
    ...(store.watch ? { watch: (name: string, onChange: () => void) => (store.watch as NonNullable<Store['watch']>).call(store, name, onChange) } : {}),
  };
}

/** Which faults a {@link FaultyStore} injects into the next write (claim, create, replace or release). */
export type WriteFault =
  /** The write reaches the engine and applies, then its answer is lost (a timeout, a dropped connection). */
  | 'lose-answer'
  /** The write fails before it reaches the engine. */
  | 'fail-before'
  /**
   * The network holds the write: the caller gets an error at once (it gave up), and the write reaches the engine
   * only when the test calls {@link FaultyStore.deliverHeld}, with the arguments it was sent with.
   */
  | 'hold';

/** A store wrapper that injects faults into a real store, and counts the calls that reach it. */
export interface FaultyStore extends Store {
  /** Injects `fault` into the next write only. */
  failNextWrite(fault: WriteFault): void;
  /** Makes every read fail until called again with `false`. */
  failReads(on: boolean): void;
  /** Makes every call fail before it reaches the store (an outage) until called again with `false`. */
  failAll(on: boolean): void;
  /**
   * A silent endpoint: while on, every call never settles (it neither reaches the store nor answers), as
   * against a server that accepts connections and never replies. Calls made meanwhile stay pending for good.
   */
  silence(on: boolean): void;
  /** Delivers the writes held by `'hold'` faults now, in order; resolves with their outcomes (errors included). */
  deliverHeld(): Promise<PromiseSettledResult<unknown>[]>;
  /** Writes held and not yet delivered. */
  readonly held: number;
  /** Calls that reached the wrapped store, by primitive. */
  readonly calls: Record<'read' | 'create' | 'replace' | 'claim' | 'releaseHolder', number>;
}

/**
 * Wraps `store` so tests can lose answers after a write applied, or fail requests before they apply. The wrapper
 * keeps the store's identity: this process's memory of a lease is one, whichever of the two a call goes through.
 */
export function withFaults(store: Store): FaultyStore {
  let nextWrite: WriteFault | undefined;
  let readsFail = false;
  let down = false;
  let silent = false;
  const held: (() => Promise<unknown>)[] = [];
  const never = () => new Promise<never>(() => {});
  const calls = { read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 };
  const lost = () => new Error('injected fault: the answer was lost after the write applied');
  async function write<T>(primitive: keyof typeof calls, run: (late: boolean) => Promise<T>): Promise<T> {
    if (silent) return never();
    if (down) throw new Error('injected fault: the store is unreachable');
    const fault = nextWrite;
    nextWrite = undefined;
    if (fault === 'fail-before') throw new Error('injected fault: the write failed before it reached the store');
    if (fault === 'hold') {
      held.push(() => {
        calls[primitive]++;
        return run(true);
      });
      throw new Error('injected fault: no answer (the network holds the write; it may still arrive)');
    }
    calls[primitive]++;
    const result = await run(false);
    if (fault === 'lose-answer') throw lost();
    return result;
  }
  const wrapped: FaultyStore = {
    kind: store.kind,
    clockSource: store.clockSource,
    identity: identityOf(store),
    ...(store.limits ? { limits: store.limits } : {}),
    ...(store.timeoutMs !== undefined ? { timeoutMs: store.timeoutMs } : {}),
    calls,
    failNextWrite(fault) {
      nextWrite = fault;
    },
    failReads(on) {
      readsFail = on;
    },
    failAll(on) {
      down = on;
    },
    silence(on) {
      silent = on;
    },
    async deliverHeld() {
      const outcomes: PromiseSettledResult<unknown>[] = [];
      for (const send of held.splice(0)) outcomes.push(...(await Promise.allSettled([send()])));
      return outcomes;
    },
    get held() {
      return held.length;
    },
    async read(name, options) {
      if (silent) return never();
      if (readsFail || down) throw new Error('injected fault: the read failed');
      calls.read++;
      return store.read(name, options);
    },
    // A held write is delivered later without the caller's signal: the caller has long given up on it.
    create: (w, o) => write('create', (late) => store.create(w, late ? undefined : o)),
    replace: (v, w, o) => write('replace', (late) => store.replace(v, w, late ? undefined : o)),
  };
  const { claim, releaseHolder, watch } = store;
  // Wake-ups pass through untouched: they are hints, and the faults under test are the writes'.
  if (watch) wrapped.watch = (name, onChange) => watch.call(store, name, onChange);
  if (claim) wrapped.claim = (r, o) => write('claim', (late) => claim.call(store, r, late ? undefined : o));
  if (releaseHolder) {
    wrapped.releaseHolder = (n, h, v, c, o) =>
      write('releaseHolder', (late) => releaseHolder.call(store, n, h, v, c, late && o ? { expectedVersion: o.expectedVersion } : o));
  }
  return wrapped;
}
