/**
 * The options of an {@link Elector}, their defaults and their checks (a typed `LeaseholdError`, nothing sent).
 * @module
 */
import { type Clock, checkClock } from './clock.js';
import { LeaseholdError } from './errors.js';
import {
  checkDuration,
  checkKeepAlive,
  checkLeadOptions,
  checkRenewInterval,
  type LeadParams,
  MAX_NAME_LENGTH,
  MAX_TTL_MS,
  PREFER_REQUEST_SUFFIX,
} from './options.js';
import type { Store } from './store.js';
import { checkStoreLimits } from './store-checks.js';

/** Options of {@link Elector}. */
export interface ElectorOptions {
  /** Election name. */
  name: string;
  /** This process's id, unique among contenders. */
  holder: string;
  /** Lease length in ms (default 15 000). */
  ttlMs?: number;
  /** Clock-skew margin in ms (default 1 000). */
  maxClockSkewMs?: number;
  /** How often the leader renews, in ms (default `ttlMs / 3`, or half of `ttlMs - maxClockSkewMs` when that is shorter). Must be shorter than `ttlMs - maxClockSkewMs`. */
  renewEveryMs?: number;
  /**
   * How often a follower tries to claim, in ms (default `ttlMs / 3`, less up to 10% jitter). Failover takes at most
   * ttl + skew + this. On a store with push wake-ups ({@link Store.watch}: Postgres `LISTEN/NOTIFY`), a release or a
   * handover wakes followers at once and this is only the fallback.
   */
  retryEveryMs?: number;
  /**
   * Whether a follower subscribes to the store's push wake-ups ({@link Store.watch}) and claims at once when the
   * lease is released or handed over (default `true`; ignored on stores without them, which only poll).
   */
  wakeOnPush?: boolean;
  /** Payload stored with the lease while this process leads. */
  data?: string;
  /** Clock (default: the system clock). */
  clock?: Clock;
  /**
   * Whether a started elector keeps the process alive until {@link Elector.stop} (default `true`): its own timers do
   * not, so a process whose only work is an elector would otherwise exit at once. `false` leaves that to the caller.
   */
  keepAlive?: boolean;
  /**
   * Preferred leaders, for long-lived processes (prefer a region, or the newer version during a rollout). Omitted
   * (default): preference plays no part. `true`: while it follows, this process asks the leader to hand over to it,
   * by holding the request lease `<name>@prefer` (one more write per poll, only while it follows). `false`: this
   * process yields to a preferred one: at each renewal while it leads it reads that request (one more read per
   * renewal) and, when another contender holds it, hands over to that one ({@link Elector.handover}, window twice
   * `retryEveryMs`), once per request (a requester that died is not handed the lease again). A preferred leader
   * never yields. Give every process of a fleet `true` or `false`.
   */
  preferred?: boolean;
}

/** An elector's checked options, defaults filled in. */
export interface ElectorParams {
  params: LeadParams;
  clock: Clock;
  renewEveryMs: number;
  retryEveryMs: number;
  minWriteIntervalMs: number;
  keepAlive: boolean;
  wakeOnPush: boolean;
  preferred: boolean | undefined;
}

/** Checks an elector's options against its (checked) store and fills in defaults. */
export function checkElectorOptions(store: Store, options: ElectorOptions): ElectorParams {
  const params = checkLeadOptions(options);
  checkStoreLimits(store, params.ttlMs);
  const clock = checkClock(options.clock);
  const renewEveryMs = checkRenewInterval(options.renewEveryMs, 'renewEveryMs', params, store);
  const retryEveryMs = checkDuration(options.retryEveryMs, 'retryEveryMs', params.ttlMs / 3, MAX_TTL_MS, 1);
  const minWriteIntervalMs = store.limits?.minWriteIntervalMs ?? 0;
  const keepAlive = checkKeepAlive(options.keepAlive);
  if (options.wakeOnPush !== undefined && typeof options.wakeOnPush !== 'boolean') {
    throw new LeaseholdError('INVALID_OPTION', `wakeOnPush must be true or false (default true); got ${typeof options.wakeOnPush}`);
  }
  const wakeOnPush = options.wakeOnPush ?? true;
  if (options.preferred !== undefined && typeof options.preferred !== 'boolean') {
    throw new LeaseholdError('INVALID_OPTION', `preferred must be true, false or omitted; got ${typeof options.preferred}`);
  }
  const preferred = options.preferred;
  if (preferred !== undefined && params.name.length + PREFER_REQUEST_SUFFIX.length > MAX_NAME_LENGTH) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `with preferred set, name must be at most ${MAX_NAME_LENGTH - PREFER_REQUEST_SUFFIX.length} characters (the request is kept under name${PREFER_REQUEST_SUFFIX})`,
    );
  }
  return { params, clock, renewEveryMs, retryEveryMs, minWriteIntervalMs, keepAlive, wakeOnPush, preferred };
}
