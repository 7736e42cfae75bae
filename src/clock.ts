/**
 * Time, injected. Every part of leasehold that reads a clock takes a `Clock`, so tests of expiry,
 * skew and failover run in milliseconds with {@link ManualClock}.
 * @module
 */
import { LeaseholdError } from './errors.js';
import { hasMethods } from './has-methods.js';

/** Opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** The two clocks leasehold reads, and a timer. */
export interface Clock {
  /** Wall-clock time, epoch milliseconds (`Date.now()`). May jump (NTP, snapshot restore). */
  now(): number;
  /**
   * Monotonic milliseconds from an arbitrary origin (`performance.now()`). Never goes backwards,
   * but may stand still while the machine is frozen; that is why validity also checks {@link now}.
   */
  monotonic(): number;
  /** Schedules `fn` after `ms`. The handle must not keep a Node process alive on its own. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from {@link setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clocks: `Date.now()`, `performance.now()` and unref'd timers. Works in Node, Lambda and Workers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => globalThis.performance.now(),
  setTimeout(fn, ms) {
    const handle = globalThis.setTimeout(fn, ms) as unknown as { unref?: () => void };
    // In Node a pending timer keeps the process alive; a lease's expiry signal must not.
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]);
  },
};

interface ManualTimer {
  at: number;
  fn: () => void;
  id: number;
}

/**
 * A clock that moves only when told to: for tests. `advance(ms)` moves both clocks and runs due timers;
 * `jumpWall(ms)` moves only the wall clock, and `freezeMonotonic` models a machine whose monotonic clock
 * stopped while real time went on (a frozen Lambda restored later).
 * @example
 * const clock = new ManualClock(); clock.advance(5_000)
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono: number;
  private timers: ManualTimer[] = [];
  private nextId = 1;

  /** @param startWallMs initial wall time, epoch ms (default 2030-01-01T00:00:00Z). */
  constructor(startWallMs = Date.UTC(2030, 0, 1)) {
    this.wall = startWallMs;
    this.mono = 1_000_000;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ at: this.mono + Math.max(0, ms), fn, id });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves both clocks forward by `ms`, running timers as they fall due (in order). */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.wall += due.at - this.mono;
      this.mono = due.at;
      this.timers = this.timers.filter((t) => t !== due);
      due.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /**
   * Moves both clocks forward by `ms` without running any timer: a process stopped (SIGSTOP) or a VM paused, during
   * which nothing ran. Timers that fell due run at the next {@link advance} or {@link tick}, as they would on resume.
   */
  pause(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }

  /** Moves only the wall clock (an NTP step, or real time passing while the machine was frozen). */
  jumpWall(ms: number): void {
    this.wall += ms;
  }

  /**
   * Advances `ms` in steps of `stepMs`, letting pending promises settle after each step, so timer-driven
   * async code (the Elector) runs as it would in real time.
   */
  async tick(ms: number, stepMs = 10): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      this.advance(Math.min(stepMs, ms - done));
      await settle();
    }
  }

  /** Number of timers still pending. */
  get pendingTimers(): number {
    return this.timers.length;
  }
}

/** Lets queued promise callbacks run (microtask turns only: stores driven by it must not wait on real I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** The methods every {@link Clock} has. */
const CLOCK_METHODS: readonly (keyof Clock)[] = ['now', 'monotonic', 'setTimeout', 'clearTimeout'];

/**
 * Checks a `clock` option; returns it, or the system clock when `undefined`. A clock passed to a call
 * (`tryLead`, the `Elector`) that is not a {@link Clock} throws `INVALID_OPTION`; one passed to a store (`owner`,
 * e.g. `"memory store"`) throws `INVALID_STORE`. The values it returns are checked where they are read
 * ({@link wallNow}, {@link monotonicNow}).
 */
export function checkClock(clock: unknown, owner?: string): Clock {
  if (clock === undefined) return systemClock;
  if (!hasMethods(clock, CLOCK_METHODS)) {
    const message = 'clock must implement Clock (now, monotonic, setTimeout, clearTimeout); omit it for the system clock';
    throw owner === undefined ? new LeaseholdError('INVALID_OPTION', message) : new LeaseholdError('INVALID_STORE', `${owner}: ${message}`);
  }
  return clock as Clock;
}

function sample(clock: Clock, method: 'now' | 'monotonic', owner: string | undefined): number {
  const value: unknown = clock[method]();
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    const got = typeof value === 'number' ? String(value) : typeof value === 'bigint' ? `a bigint (${value}n)` : `a value of type ${typeof value}`;
    const message = `clock.${method}() must return a finite, non-negative number of milliseconds; got ${got}. Nothing was sent`;
    throw owner === undefined ? new LeaseholdError('INVALID_OPTION', message) : new LeaseholdError('INVALID_STORE', `${owner}: ${message}`);
  }
  return value;
}

/** `clock.now()`, checked: a finite number of epoch ms, or `INVALID_OPTION` (`INVALID_STORE` for a store's clock, `owner`). */
export function wallNow(clock: Clock, owner?: string): number {
  return sample(clock, 'now', owner);
}

/** `clock.monotonic()`, checked like {@link wallNow}. */
export function monotonicNow(clock: Clock, owner?: string): number {
  return sample(clock, 'monotonic', owner);
}

/**
 * A signal that aborts when `signal` does (a call's bound, on the caller's clock) or after `ms` of real time,
 * whichever comes first: what a store hands its SDK, so a request is bounded even under an injected clock. For a
 * request whose end the caller cannot mark (a wrapped `fetch` whose body is read later); where it can, prefer
 * {@link requestBound}, which clears its timer when the request ends.
 */
export function abortSignalWithin(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = realTimeout(ms);
  if (!signal) return timeout;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([signal, timeout]);
  const controller = new AbortController();
  for (const s of [signal, timeout]) {
    if (s.aborted) controller.abort(s.reason);
    else s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

/** `AbortSignal.timeout(ms)`, or the same built from a timer where a runtime lacks it. */
function realTimeout(ms: number): AbortSignal {
  if (typeof AbortSignal.timeout === 'function') return AbortSignal.timeout(Math.max(1, Math.ceil(ms)));
  const controller = new AbortController();
  systemClock.setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  return controller.signal;
}

/**
 * Set on signals known to abort on the real clock by a given moment (`performance.now()` ms): a call's bound on the
 * system clock marks its signal so, and a store's {@link requestBound} that would abort no earlier adds nothing to it.
 */
const REAL_TIME_DEADLINE = Symbol('leasehold.realTimeDeadline');

/** Marks `signal` as aborting in real time no later than `deadline` (`performance.now()` ms). Internal to leasehold. */
export function markRealTimeDeadline(signal: AbortSignal, deadline: number): void {
  (signal as { [REAL_TIME_DEADLINE]?: number })[REAL_TIME_DEADLINE] = deadline;
}

const NO_OP = () => {};

/**
 * Like {@link abortSignalWithin}, for one request: a signal that aborts when `signal` does or after `ms` of real
 * time, and `done()` to call when the request settled, which clears the timer and the listener at once (cheaper
 * than `AbortSignal.timeout` + `AbortSignal.any`, whose timer lives on until it fires). When `signal` is a call's
 * bound that already aborts in real time within `ms` (the system clock's), it is returned as is: no second timer.
 */
export function requestBound(signal: AbortSignal | undefined, ms: number): { signal: AbortSignal; done(): void } {
  if (signal) {
    const deadline = (signal as { [REAL_TIME_DEADLINE]?: number })[REAL_TIME_DEADLINE];
    if (deadline !== undefined && deadline <= globalThis.performance.now() + ms) return { signal, done: NO_OP };
  }
  const controller = new AbortController();
  if (signal?.aborted) {
    controller.abort(signal.reason);
    return { signal: controller.signal, done: NO_OP };
  }
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = systemClock.setTimeout(
    () => controller.abort(new DOMException(`no answer within ${Math.round(ms)} ms`, 'TimeoutError')),
    Math.max(1, Math.ceil(ms)),
  );
  return {
    signal: controller.signal,
    done() {
      systemClock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Keeps the process alive while a long-lived component (an `Elector`, a `Tracker`) runs: its own timers are
 * unref'd (a Lambda handler must be able to return), so without this a process whose only work is an elector
 * would exit at once. One real, ref'd, idle interval; `release()` lets the process exit again. A no-op where
 * timers do not keep anything alive (Workers).
 */
export function holdProcessOpen(): () => void {
  const handle = globalThis.setInterval(() => {}, 2 ** 31 - 1);
  return () => globalThis.clearInterval(handle);
}
