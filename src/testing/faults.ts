/**
 * Store wrappers for tests: hide a store's fused paths, or inject faults between the caller and a real
 * store. They wrap a real engine; they never stand in for one.
 * @module
 */
import type { Store } from '../store.js';

/** The same store with its fused `claim`/`releaseHolder` hidden, so the core's generic path runs. */
export function genericOnly(store: Store): Store {
  return {
    kind: store.kind,
    clockSource: store.clockSource,
    ...(store.limits ? { limits: store.limits } : {}),
    read: (name) => store.read(name),
    create: (write) => store.create(write),
    replace: (version, write) => store.replace(version, write),
  };
}

/** Which faults a {@link FaultyStore} injects into the next write (claim, create, replace or release). */
export type WriteFault =
  /** The write reaches the engine and applies, then its answer is lost (a timeout, a dropped connection). */
  | 'lose-answer'
  /** The write fails before it reaches the engine. */
  | 'fail-before';

/** A store wrapper that injects faults into a real store, and counts the calls that reach it. */
export interface FaultyStore extends Store {
  /** Injects `fault` into the next write only. */
  failNextWrite(fault: WriteFault): void;
  /** Makes every read fail until called again with `false`. */
  failReads(on: boolean): void;
  /** Makes every call fail before it reaches the store (an outage) until called again with `false`. */
  failAll(on: boolean): void;
  /** Calls that reached the wrapped store, by primitive. */
  readonly calls: Record<'read' | 'create' | 'replace' | 'claim' | 'releaseHolder', number>;
}

/** Wraps `store` so tests can lose answers after a write applied, or fail requests before they apply. */
export function withFaults(store: Store): FaultyStore {
  let nextWrite: WriteFault | undefined;
  let readsFail = false;
  let down = false;
  const calls = { read: 0, create: 0, replace: 0, claim: 0, releaseHolder: 0 };
  const lost = () => new Error('injected fault: the answer was lost after the write applied');
  async function write<T>(primitive: keyof typeof calls, run: () => Promise<T>): Promise<T> {
    if (down) throw new Error('injected fault: the store is unreachable');
    const fault = nextWrite;
    nextWrite = undefined;
    if (fault === 'fail-before') throw new Error('injected fault: the write failed before it reached the store');
    calls[primitive]++;
    const result = await run();
    if (fault === 'lose-answer') throw lost();
    return result;
  }
  const wrapped: FaultyStore = {
    kind: store.kind,
    clockSource: store.clockSource,
    ...(store.limits ? { limits: store.limits } : {}),
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
    async read(name) {
      if (readsFail || down) throw new Error('injected fault: the read failed');
      calls.read++;
      return store.read(name);
    },
    create: (w) => write('create', () => store.create(w)),
    replace: (v, w) => write('replace', () => store.replace(v, w)),
  };
  const { claim, releaseHolder } = store;
  if (claim) wrapped.claim = (r) => write('claim', () => claim.call(store, r));
  if (releaseHolder) wrapped.releaseHolder = (n, h, v, c) => write('releaseHolder', () => releaseHolder.call(store, n, h, v, c));
  return wrapped;
}
