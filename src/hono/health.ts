/**
 * Health of one long-lived instance, judged from its `Elector`'s events: the answer behind `GET /health` of
 * `leasehold/hono`, usable on its own too. Imports nothing from Hono.
 * @module
 */
import type { Elector, ElectorEvent } from '../elector.js';
import { isLeaseholdError, type LeaseholdErrorCode } from '../errors.js';
import { getLeader } from '../lead.js';
import { checkDuration } from '../options.js';
import type { Store } from '../store.js';

/** Default bound of a health check's store read: 1 s, below common probe timeouts (1–2 s). */
export const DEFAULT_HEALTH_TIMEOUT_MS = 1_000;
/** Largest bound of a health check's store read accepted: 60 s. */
export const MAX_HEALTH_TIMEOUT_MS = 60_000;

/** A health check's store read that ran past its bound. */
class HealthReadTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`the store did not answer a read within ${timeoutMs} ms (the health check's bound)`);
  }
}

/** The code a failed store call is reported by: its `LeaseholdError` code, else `STORE_UNAVAILABLE` (never its message). */
export function failureCode(error: unknown): LeaseholdErrorCode {
  return isLeaseholdError(error) ? error.code : 'STORE_UNAVAILABLE';
}

/** Whether `error` is a health read that ran past its bound. */
export function storeTimedOut(error: unknown): error is Error {
  return error instanceof HealthReadTimeout;
}

/**
 * `read`, or a rejection once `timeoutMs` has passed, whichever comes first: a probe gets its answer in time even
 * from a silent store (the read itself goes on to the store's own bound; its outcome is then ignored).
 */
export async function withinHealthBound<T>(read: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HealthReadTimeout(timeoutMs)), timeoutMs);
  });
  read.catch(() => {});
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What `GET /health` answers, and with which HTTP status:
 *
 * | status | HTTP | meaning |
 * | --- | --- | --- |
 * | `leader` | 200 | leads, with validity left (even if its last renewal failed: it still leads until that runs out) |
 * | `follower` | 200 | follows; its last attempt reached the store (or a read of the lease succeeds now) |
 * | `expired` | 503 | it led, and its validity ran out before a renewal succeeded (until an attempt succeeds again) |
 * | `store-unreachable` | 503 | its last attempt failed and a read of the lease fails too, or does not answer within the check's bound |
 * | `stopped` | 503 | `elector.stop()` was called |
 *
 * As client-go's leader-election healthz adapter, a 503 means "this instance is not taking part in the election
 * correctly"; a follower is healthy. Liveness probes that restart on 503 restart a stuck instance, never a healthy
 * follower.
 */
export type HealthStatus = 'leader' | 'follower' | 'expired' | 'store-unreachable' | 'stopped';

/** The body of a health answer. */
export interface HealthReport {
  /** See {@link HealthStatus}. */
  status: HealthStatus;
  /** True while this instance leads with validity left. */
  leader: boolean;
  /** This instance's fencing token while it leads. */
  token?: number;
  /** Validity left while it leads, in ms. */
  validForMs?: number;
  /** The error code of the last failed attempt, when the last attempt failed (never a store's message or a stack). */
  lastError?: string;
  /** Why, when the store's read ran past the check's bound (`store-unreachable`): the bound, in leasehold's words. */
  message?: string;
}

/** A health answer: the HTTP status to send and its JSON body. */
export interface HealthAnswer {
  /** 200 or 503 (see {@link HealthStatus}). */
  httpStatus: 200 | 503;
  /** The JSON body. */
  report: HealthReport;
}

/** Options of {@link ElectorHealth}. */
export interface ElectorHealthOptions {
  /** The elector to watch. Create the health before `elector.start()` so it sees the first attempt. */
  elector: Elector;
  /** The store the elector uses: read (once) when the last attempt failed, to tell a passing outage from a lasting one. */
  store: Store;
  /** The elector's election name. */
  name: string;
  /**
   * Bound of the store read a check makes (only when the last attempt failed, or none was seen yet), in ms (default
   * 1 000, {@link DEFAULT_HEALTH_TIMEOUT_MS}): past it the check answers 503 `store-unreachable` at once, without
   * waiting for the store's own timeout (5 s by default), which would outlast a probe's.
   */
  timeoutMs?: number;
}

type Seen = 'none' | 'leader' | 'follower' | 'expired' | 'error' | 'stopped';

/**
 * Watches an `Elector` and answers health checks for this instance (see {@link HealthStatus} for the codes).
 * @example
 * const health = new ElectorHealth({ elector, store, name: 'singleton' })
 * elector.start()
 * const { httpStatus, report } = await health.check()
 */
export class ElectorHealth {
  private readonly elector: Elector;
  private readonly store: Store;
  private readonly name: string;
  private readonly timeoutMs: number;
  private seen: Seen = 'none';
  private lastError: string | undefined;
  /** Stops watching the elector. */
  readonly dispose: () => void;

  constructor(options: ElectorHealthOptions) {
    this.elector = options.elector;
    this.store = options.store;
    this.name = options.name;
    this.timeoutMs = checkDuration(options.timeoutMs, 'timeoutMs', DEFAULT_HEALTH_TIMEOUT_MS, MAX_HEALTH_TIMEOUT_MS, 1);
    this.dispose = this.elector.on((event) => this.observe(event));
  }

  private observe(event: ElectorEvent): void {
    if (event.type === 'error') {
      this.lastError = failureCode(event.error);
      // An instance whose validity ran out stays "expired" until an attempt succeeds again.
      if (this.seen !== 'expired' && this.seen !== 'stopped') this.seen = 'error';
      return;
    }
    this.lastError = undefined;
    if (event.type === 'elected' || event.type === 'renewed') this.seen = 'leader';
    else if (event.type === 'leader') this.seen = 'follower';
    else if (event.reason === 'expired') this.seen = 'expired';
    else if (event.reason === 'stopped') this.seen = 'stopped';
    else this.seen = 'follower';
  }

  /** The answer for a health check now. Reads the lease once only when the last attempt failed (or none was seen yet). */
  async check(): Promise<HealthAnswer> {
    const lead = this.elector.current;
    if (lead) {
      const report: HealthReport = { status: 'leader', leader: true, token: lead.token, validForMs: lead.remainingMs() };
      if (this.lastError) report.lastError = this.lastError;
      return { httpStatus: 200, report };
    }
    const down = (status: HealthStatus): HealthAnswer => ({
      httpStatus: 503,
      report: { status, leader: false, ...(this.lastError ? { lastError: this.lastError } : {}) },
    });
    if (this.seen === 'stopped') return down('stopped');
    // Validity ran out (the elector's own timer may not have fired yet): expired, as the timer will say.
    if (this.seen === 'expired' || this.seen === 'leader') return down('expired');
    if (this.seen === 'follower') return { httpStatus: 200, report: { status: 'follower', leader: false } };
    // The last attempt failed, or none was seen: a follower's successful poll is silent when nothing changed,
    // so ask the store directly whether it answers now.
    try {
      await withinHealthBound(getLeader(this.store, this.name), this.timeoutMs);
      return { httpStatus: 200, report: { status: 'follower', leader: false } };
    } catch (error) {
      this.lastError = failureCode(error);
      const answer = down('store-unreachable');
      if (storeTimedOut(error)) answer.report.message = error.message;
      return answer;
    }
  }
}
