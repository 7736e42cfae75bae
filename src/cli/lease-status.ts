/**
 * One lease's state as the CLI shows it (`status`, `watch`, and `run` when the lease is held): read once from the
 * store, judged live by the core's own rule (`isLive`: the store's clock where it has one, the skew bound
 * otherwise), with the job's last completed slot beside it.
 * @module
 */
import { boundedStoreCall } from '../call-bound.js';
import { systemClock } from '../clock.js';
import { isLeaseholdError, LeaseholdError } from '../errors.js';
import { type JobStatus, SLOT_RECORD_SUFFIX, summarizeJob } from '../jobs.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, MAX_NAME_LENGTH } from '../options.js';
import { isLive } from '../rule.js';
import type { Timetable } from '../schedule.js';
import { slotInRecordData } from '../slot.js';
import type { ReadResult, Store } from '../store.js';
import { CliError, EXIT } from './exit-codes.js';
import { joinClauses } from './output.js';
import { storeHint } from './store-hints.js';
import type { StoreSpec } from './store-url.js';

/** A lease as `status --json` prints it (times are epoch ms; `null` where there is none). */
export interface LeaseStatus {
  name: string;
  /** `held`: someone holds it now; `free`: released or expired; `never`: never claimed. */
  state: 'held' | 'free' | 'never';
  /** The current holder (`held`), else `null`. */
  holder: string | null;
  /** The last holder when the lease is free but was not released (it expired), else `null`. */
  lastHolder: string | null;
  /** The fencing token of the current (or last) term; `0` when never claimed. */
  token: number;
  /** When the current holder acquired it, or `null`. */
  acquiredAt: number | null;
  /** When it runs out unless renewed, or `null` when free. */
  expiresAt: number | null;
  /** Time left until `expiresAt`, by the judging clock (the store's where it has one), or `0`. */
  timeLeftMs: number;
  /** The job's last completed slot (`run --slot`), or `null`. */
  lastCompletedSlot: string | number | null;
  /** Whose clock judges expiry: `store` (Postgres, Firestore) or `client` (DynamoDB, with the skew bound). */
  clock: 'store' | 'client';
  /** With `--schedule`/`--every`: the job's last run, next due slot, missed count and overdue state. */
  job?: ScheduledStatus;
}

/** A scheduled job's state as `status --schedule` prints it (times in epoch ms, on the store's clock where it has one). */
export interface ScheduledStatus extends JobStatus {
  /** The schedule, e.g. `0 2 * * * (UTC)`. */
  schedule: string;
  /** How long after a slot fell due it counts as overdue, in ms. */
  overdueAfterMs: number;
}

/** What `status` is told about a scheduled job. */
export interface ScheduleQuery {
  timetable: Timetable;
  overdueAfterMs: number;
}

/** Runs one store read within the store's bound (the core's call bound), failing closed as the library does. */
export function boundedRead(store: Store, name: string): Promise<ReadResult> {
  return boundedStoreCall(store, systemClock, `reading ${name}`, (call) =>
    // The store's own failure, said as a read's (the core's wording adds "not leader", which a status read is not about).
    call((options) => store.read(name, options)).catch((error: unknown) => {
      if (isLeaseholdError(error)) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new LeaseholdError('STORE_UNAVAILABLE', `${store.kind} store: reading ${name} failed (${detail})`, { cause: error });
    }),
  );
}

/** Reads `name` (and its completed slot, when the name leaves room for one) and says who holds it. */
export async function readStatus(store: Store, name: string, maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS, scheduled?: ScheduleQuery): Promise<LeaseStatus> {
  const clientNow = Date.now();
  const withSlot = name.length <= MAX_NAME_LENGTH - SLOT_RECORD_SUFFIX.length;
  const [read, slotRead] = await Promise.all([boundedRead(store, name), withSlot ? boundedRead(store, `${name}${SLOT_RECORD_SUFFIX}`) : null]);
  const r = read.record;
  const now = read.now ?? clientNow;
  // The slot as the record keeps it (the core's decoding); none when it is not a slot record leasehold wrote.
  const slot = slotRead?.record?.data ? slotInRecordData(slotRead.record.data) : undefined;
  let lastCompletedSlot: string | number | null = slot ?? null;
  // Slots are instants (kept as epoch ms): shown in ISO 8601, as a crontab line's `date -u` would write them.
  if (typeof slot === 'number' && Number.isFinite(new Date(slot).getTime())) lastCompletedSlot = new Date(slot).toISOString();
  const live = r !== null && r.holder !== null && isLive(store.clockSource, r, read.now, clientNow, maxClockSkewMs);
  let job: ScheduledStatus | undefined;
  if (scheduled !== undefined) {
    // The same two reads: the schedule is judged on the store's clock where it has one.
    const status = summarizeJob(slotRead?.record ?? null, live ? (r?.holder ?? null) : null, scheduled.timetable, now, scheduled.overdueAfterMs);
    job = { schedule: scheduled.timetable.text, overdueAfterMs: scheduled.overdueAfterMs, ...status };
  }
  const base = { name, lastCompletedSlot, clock: store.clockSource };
  const status = leaseState(r, live, now, base);
  return job ? { ...status, job } : status;
}

function leaseState(r: ReadResult['record'], live: boolean, now: number, base: Pick<LeaseStatus, 'name' | 'lastCompletedSlot' | 'clock'>): LeaseStatus {
  if (r === null) return { ...base, state: 'never', holder: null, lastHolder: null, token: 0, acquiredAt: null, expiresAt: null, timeLeftMs: 0 };
  if (live && r.holder !== null) {
    return {
      ...base,
      state: 'held',
      holder: r.holder,
      lastHolder: null,
      token: r.token,
      // Whole milliseconds: Postgres keeps microseconds.
      acquiredAt: Math.round(r.acquiredAt),
      expiresAt: Math.round(r.expiresAt),
      timeLeftMs: Math.max(0, Math.round(r.expiresAt - now)),
    };
  }
  return { ...base, state: 'free', holder: null, lastHolder: r.holder, token: r.token, acquiredAt: null, expiresAt: null, timeLeftMs: 0 };
}

/**
 * Turns a store failure into the CLI's error: exit 69, the store as it may be shown, the driver's message scrubbed of
 * the URL's secrets (pg can embed the connection string), what is missing and how to fix it, and what was not done.
 */
export function storeFailure(error: unknown, spec: StoreSpec, what: string): CliError {
  if (error instanceof CliError) return error;
  const message = spec.scrub(error instanceof Error ? error.message : String(error));
  if (isLeaseholdError(error) && error.code !== 'STORE_UNAVAILABLE' && error.code !== 'STORE_CORRUPT') {
    return new CliError(EXIT.USAGE, message, 'usage', { cause: error });
  }
  return new CliError(
    EXIT.STORE_UNAVAILABLE,
    joinClauses(`cannot use the store ${spec.shown}: ${message}`, storeHint(error, spec), what),
    'store-unavailable',
    {
      cause: error,
    },
  );
}
