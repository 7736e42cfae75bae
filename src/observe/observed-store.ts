/**
 * The Store decorator that `leasehold/otel` and `leasehold/logger` are built on: it passes every call through to
 * the store it wraps, unchanged, and tells its observers what each call was, how it ended, which claims it decided
 * and when leadership through this store began or ended. Not a public entry point.
 *
 * It sits outside the election: it sees only the Store interface, so what it reports is what the store calls show.
 * An observer that throws is ignored; observing never changes an answer.
 * @module
 */
import { type Clock, checkClock } from '../clock.js';
import { isLeaseholdError, LeaseholdError } from '../errors.js';
import { identityOf } from '../identity.js';
import { SLOT_RECORD_SUFFIX } from '../jobs.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, describeValue, MAX_CLOCK_SKEW_MS } from '../options.js';
import type { ClaimRequest, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, StoreCallOptions, WriteOutcome } from '../store.js';
import { checkStore } from '../store-checks.js';
import { LeadershipTracker, type LeadershipTransition } from './leadership.js';
import type { CallIntent, CallScope, ClaimDecided, StoreCall, StoreCallEnd, StoreObserver } from './store-call.js';

export type { CallIntent, CallOutcome, CallScope, ClaimDecided, StoreCall, StoreCallEnd, StoreObserver, StoreOperation } from './store-call.js';

/** Options of {@link observeStore}. */
export interface ObserveOptions {
  /** Clock for durations and for the validity of leadership (default: the system clock). */
  clock?: Clock;
  /**
   * Skew margin the callers use, in ms (default 1 000, the core's default): on a store without a fused claim the
   * write does not carry it, and leadership counts `ttlMs - maxClockSkewMs` from the send, as `tryLead()` does.
   */
  maxClockSkewMs?: number;
}

/** A decorated store, and the leadership it tracks (for a gauge). */
export interface ObservedStore {
  /** The decorated store. */
  readonly store: Store;
  /** Leadership as the decorated store sees it. */
  readonly leadership: LeadershipTracker;
}

/** Requests sharing one AbortSignal belong to one library call: when it began, and how many requests so far. */
interface CallGroup {
  startMono: number;
  startWall: number;
  requests: number;
  /**
   * A claim of this call whose answer was lost: the core reads the record back, and leads if it carries the
   * claim's version (README safety: "Lost answers and late writes"). The read-back then starts the term here too.
   */
  ambiguous?: { holder: string; version: string; sendMono: number; sendWall: number; windowMs: number };
}

/** Times of one finished call, on the decorator's clock. */
interface CallTimes {
  /** This request's duration. */
  durationMs: number;
  /** Since the first request of its library call began. */
  groupMs: number;
  /** When this request began (monotonic, wall). */
  startMono: number;
  startWall: number;
  /** When the first request of its library call began (monotonic, wall): the send that validity counts from. */
  groupStartMono: number;
  groupStartWall: number;
  /** The library call this request belongs to. */
  group: CallGroup;
}

/** The error code an observer reports: a LeaseholdError's code, or `untyped`. */
export function errorCode(error: unknown): string {
  return isLeaseholdError(error) ? error.code : 'untyped';
}

function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name.slice(0, 128);
  }
  return typeof error;
}

function safely(run: () => void): void {
  try {
    run();
  } catch {
    // An observer's failure (a logger that throws, an exporter bug) must never change a store call's answer.
  }
}

function recordFields(record: LeaseRecord | null | undefined): { token?: number; leader?: string | null } {
  return record ? { token: record.token, leader: record.holder } : {};
}

/**
 * Wraps `store` so that `observers` hear every call. The result keeps the store's `kind`, `clockSource`, `limits`,
 * `timeoutMs` and `identity` (so a release through the store or the wrapper ends the results won through the other),
 * and has `claim`/`releaseHolder` exactly when the store has them (so the core takes the same path).
 * Throws `INVALID_STORE` when `store` is not a Store, `INVALID_OPTION` for a bad option.
 */
export function observeStore(store: Store, observers: readonly StoreObserver[], options: ObserveOptions = {}): ObservedStore {
  const inner = checkStore(store);
  if (typeof options !== 'object' || options === null) throw new LeaseholdError('INVALID_OPTION', 'options must be an object, or omitted');
  const clock = checkClock(options.clock);
  const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0 || skew > MAX_CLOCK_SKEW_MS) {
    throw new LeaseholdError('INVALID_OPTION', `maxClockSkewMs must be a number of ms from 0 to ${MAX_CLOCK_SKEW_MS}; got ${describeValue(skew)}`);
  }
  const kind = inner.kind;
  const groups = new WeakMap<AbortSignal, CallGroup>();
  const tell = (t: LeadershipTransition) => {
    for (const o of observers) if (o.onTransition) safely(() => o.onTransition?.(t));
  };
  const leadership = new LeadershipTracker(kind, clock, tell);
  const decided = (claim: ClaimDecided) => {
    leadership.seen(claim.name);
    for (const o of observers) if (o.onClaim) safely(() => o.onClaim?.(claim));
  };

  function group(signal: AbortSignal | undefined, startMono: number, startWall: number): CallGroup {
    if (!signal) return { startMono, startWall, requests: 0 };
    let g = groups.get(signal);
    if (!g) {
      g = { startMono, startWall, requests: 0 };
      groups.set(signal, g);
    }
    return g;
  }

  /**
   * Runs one store request under the observers. `settle` turns the answer into the call's end (and updates the
   * leadership it shows); `failed` is told of an error. The store's own promise decides the answer: the observers
   * hear the end when it settles, or when the call's signal aborts first (the core stops waiting then too).
   */
  function observe<T>(
    call: Omit<StoreCall, 'storeKind' | 'roundTrip'>,
    signal: AbortSignal | undefined,
    request: () => Promise<T>,
    settle: (value: T, times: CallTimes) => Omit<StoreCallEnd, 'durationMs'>,
    failed?: (times: CallTimes & { code: string }) => void,
  ): Promise<T> {
    const startMono = clock.monotonic();
    const startWall = clock.now();
    const g = group(signal, startMono, startWall);
    g.requests++;
    const started: StoreCall = { storeKind: kind, roundTrip: g.requests, ...call };
    const scopes: CallScope[] = [];
    for (const o of observers) {
      if (!o.onCall) continue;
      safely(() => {
        const scope = o.onCall?.(started);
        if (scope) scopes.push(scope);
      });
    }
    let done = false;
    const finish = (end: (times: CallTimes) => Omit<StoreCallEnd, 'durationMs'>) => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      const now = clock.monotonic();
      const times: CallTimes = {
        durationMs: Math.max(0, now - startMono),
        groupMs: Math.max(0, now - g.startMono),
        startMono,
        startWall,
        groupStartMono: g.startMono,
        groupStartWall: g.startWall,
        group: g,
      };
      let result: StoreCallEnd = { outcome: 'error', durationMs: times.durationMs };
      safely(() => {
        result = { ...end(times), durationMs: times.durationMs };
      });
      for (const scope of scopes) safely(() => scope.end(result));
    };
    const fail = (error: unknown) =>
      finish((times) => {
        const code = errorCode(error);
        if (failed) safely(() => failed({ ...times, code }));
        return { outcome: 'error', errorCode: code, errorName: errorName(error) };
      });
    const onAbort = () => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = runIn(scopes, request);
    } catch (error) {
      fail(error);
      throw error;
    }
    return pending.then(
      (value) => {
        finish((times) => settle(value, times));
        return value;
      },
      (error: unknown) => {
        fail(error);
        throw error;
      },
    );
  }

  const observed: Store = {
    kind,
    clockSource: inner.clockSource,
    identity: identityOf(inner),
    ...(inner.limits ? { limits: inner.limits } : {}),
    ...(inner.timeoutMs !== undefined ? { timeoutMs: inner.timeoutMs } : {}),

    read(name: string, o?: StoreCallOptions): Promise<ReadResult> {
      const intent: CallIntent = name.endsWith(SLOT_RECORD_SUFFIX) ? 'slot' : 'read';
      return observe(
        { operation: 'read', intent, name, holder: null },
        o?.signal,
        () => inner.read(name, o),
        ({ record }, times) => {
          const pending = times.group.ambiguous;
          if (pending && record && record.name === name && record.version === pending.version && record.holder === pending.holder) {
            leadership.won(name, pending.holder, record, pending.sendMono, pending.sendWall, pending.windowMs);
          } else leadership.observed(name, record);
          return { outcome: record ? 'found' : 'absent', ...recordFields(record) };
        },
      );
    },

    create(write: LeaseWrite, o?: StoreCallOptions): Promise<WriteOutcome> {
      return observeWrite('create', write, o?.signal, () => inner.create(write, o), null);
    },

    replace(expectedVersion: string, write: LeaseWrite, o?: StoreCallOptions): Promise<WriteOutcome> {
      return observeWrite('replace', write, o?.signal, () => inner.replace(expectedVersion, write, o), expectedVersion);
    },
  };

  /** A create or compare-and-swap: the generic path's claim, a generic release, or a slot record. */
  function observeWrite(
    operation: 'create' | 'replace',
    write: LeaseWrite,
    signal: AbortSignal | undefined,
    request: () => Promise<WriteOutcome>,
    expectedVersion: string | null,
  ): Promise<WriteOutcome> {
    const intent: CallIntent = write.name.endsWith(SLOT_RECORD_SUFFIX) ? 'slot' : write.holder === null ? 'release' : 'claim';
    // A generic release gives up the state it read: if that is a term this store saw won, that term ends now, as
    // the core ends the holder's results when a release starts.
    if (intent === 'release' && expectedVersion !== null) safely(() => leadership.releasing(write.name, { version: expectedVersion }));
    const holder = intent === 'claim' ? write.holder : null;
    return observe(
      { operation, intent, name: write.name, holder },
      signal,
      request,
      (outcome, times) => {
        const record = outcome.ok ? outcome.record : outcome.current;
        if (intent !== 'claim' || holder === null) {
          if (intent === 'release') leadership.observed(write.name, record);
          const mine = record?.version === write.version;
          return { outcome: intent === 'release' ? (mine ? 'released' : 'not_holder') : mine ? 'written' : 'conflict', ...recordFields(record) };
        }
        // The core's own test of a claim (README safety: "Lost answers and late writes"): this attempt's version, with this holder.
        const won = record !== null && record.version === write.version && record.holder === holder;
        // Validity counts from the library call's first request (the read), as the core counts it.
        if (won) leadership.won(write.name, holder, record, times.groupStartMono, times.groupStartWall, write.ttlMs - skew);
        else leadership.observed(write.name, record);
        decided({ storeKind: kind, name: write.name, holder, path: 'generic', outcome: won ? 'won' : 'lost', durationMs: times.groupMs });
        return { outcome: won ? 'won' : 'lost', ...recordFields(record) };
      },
      intent === 'claim' && holder !== null
        ? (times) => {
            times.group.ambiguous = {
              holder,
              version: write.version,
              sendMono: times.groupStartMono,
              sendWall: times.groupStartWall,
              windowMs: write.ttlMs - skew,
            };
            decided({ storeKind: kind, name: write.name, holder, path: 'generic', outcome: 'error', errorCode: times.code, durationMs: times.groupMs });
          }
        : undefined,
    );
  }

  const { claim, releaseHolder, watch } = inner;
  // Wake-ups are not store calls to observe: passed through, so an instrumented store still pushes.
  if (watch) observed.watch = (name: string, onChange: () => void) => watch.call(inner, name, onChange);
  if (claim) {
    observed.claim = (request: ClaimRequest, o?: StoreCallOptions) =>
      observe(
        { operation: 'claim', intent: 'claim', name: request.name, holder: request.holder },
        o?.signal,
        () => claim.call(inner, request, o),
        ({ record }, times) => {
          const won = record.version === request.version && record.holder === request.holder;
          if (won) leadership.won(request.name, request.holder, record, times.startMono, times.startWall, request.ttlMs - request.maxClockSkewMs);
          else leadership.observed(request.name, record);
          decided({ storeKind: kind, name: request.name, holder: request.holder, path: 'fused', outcome: won ? 'won' : 'lost', durationMs: times.durationMs });
          return { outcome: won ? 'won' : 'lost', ...recordFields(record) };
        },
        (times) => {
          times.group.ambiguous = {
            holder: request.holder,
            version: request.version,
            sendMono: times.startMono,
            sendWall: times.startWall,
            windowMs: request.ttlMs - request.maxClockSkewMs,
          };
          decided({
            storeKind: kind,
            name: request.name,
            holder: request.holder,
            path: 'fused',
            outcome: 'error',
            errorCode: times.code,
            durationMs: times.durationMs,
          });
        },
      );
  }
  if (releaseHolder) {
    observed.releaseHolder = (name: string, holder: string, version: string, clientNow: number, o?: ReleaseCallOptions) => {
      // The core ends the holder's results in this process the moment a release starts, whatever the answer.
      safely(() => leadership.releasing(name, { holder }));
      return observe(
        { operation: 'releaseHolder', intent: 'release', name, holder },
        o?.signal,
        () => releaseHolder.call(inner, name, holder, version, clientNow, o),
        ({ record }) => {
          leadership.observed(name, record);
          const released = record !== null && record.version === version && record.holder === null;
          return { outcome: released ? 'released' : 'not_holder', ...recordFields(record) };
        },
      );
    };
  }
  return { store: observed, leadership };
}

/** Runs `request` inside every scope that has a context to enter (nested, first scope outermost). */
function runIn<T>(scopes: readonly CallScope[], request: () => Promise<T>): Promise<T> {
  let run = request;
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (!scope?.run) continue;
    const next = run;
    run = () => (scope.run as <R>(r: () => R) => R)(next);
  }
  return run();
}
