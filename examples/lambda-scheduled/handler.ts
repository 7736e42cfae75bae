/**
 * An EventBridge-scheduled singleton job on AWS Lambda, on `runExclusive`: every invocation (including
 * EventBridge's occasional duplicate deliveries, retries and overlapping runs, in every region the function is
 * deployed to) asks to run the job for the event's scheduled time (its slot); at most one run per slot succeeds,
 * with the fencing token and a signal that aborts when leadership is lost. The lease is renewed while the job
 * runs and released at the end, so the next scheduled run can start at once.
 *
 * It imports `leasehold` by its package name, as your project will (this repository resolves the name to its sources).
 * @module
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Clock, type NotRunReason, runExclusive, type Store, slotOf } from 'leasehold';
import { DynamoDBStore } from 'leasehold/dynamodb';

/** The part of the Lambda context object this handler reads (typed structurally: no `@types/aws-lambda` needed). */
export interface LambdaContext {
  /** Unique per invocation: the lease holder id. */
  readonly awsRequestId: string;
  /** Milliseconds until Lambda stops this invocation. */
  getRemainingTimeInMillis(): number;
}

/** The part of an EventBridge scheduled event this handler reads. */
export interface ScheduledEvent {
  /** Event id (a duplicate delivery repeats it). */
  readonly id?: string;
  /** The scheduled time, ISO 8601. */
  readonly time?: string;
}

/** What the job receives while it leads. */
export interface JobInput {
  /**
   * Fencing token of this leadership: strictly larger than any earlier leader's. Pass it to every write the job
   * makes (e.g. a conditional write `lastToken < :token`) so a stale leader's late writes are refused downstream.
   */
  readonly fencingToken: number;
  /** Aborts when this invocation's leadership runs out. Pass it to fetch(), SDK calls (`{ abortSignal }`) and loops. */
  readonly signal: AbortSignal;
  /** True while this invocation may still act as leader; re-checked on both clocks at each call. Check it before each side effect. */
  stillLeader(): boolean;
  /** Milliseconds this invocation may still act as leader. */
  remainingMs(): number;
  /** The event's scheduled time (ISO 8601), e.g. to name the report this run produces. */
  readonly scheduledTime: string | undefined;
}

/** What one invocation did. */
export interface JobOutcome {
  /** True when this invocation led and ran the job. */
  readonly ran: boolean;
  /** Why it did not run: another invocation holds the lease (`held`), or this scheduled time already ran (`done`). */
  readonly reason?: NotRunReason;
  /** The holder that leads (this invocation's request id when `ran`), or `null` when nobody does. */
  readonly leader: string | null;
  /** The leader's fencing token. */
  readonly token: number;
}

/** Options of {@link singletonJob}. */
export interface SingletonJobOptions {
  /** Where the lease lives (a `DynamoDBStore`). Create it once per container, outside the handler. */
  store: Store;
  /** Election name, one per job (e.g. `nightly-report`). */
  name: string;
  /**
   * Lease length in ms. Make it at least the job's longest run plus a margin (about twice the usual run), no
   * longer than the function timeout, and shorter than the schedule period so a crashed run does not block the next.
   */
  ttlMs: number;
  /** Clock-skew margin between Lambda hosts' clocks, in ms (default 1 000). */
  maxClockSkewMs?: number;
  /** The job. Runs only in the invocation that leads. */
  work(input: JobInput): Promise<void>;
  /** Clock (default: the system clock); tests pass a `ManualClock`. */
  clock?: Clock;
}

/**
 * Builds a Lambda handler that runs `work` at most once per scheduled time (the event's `time`), in one
 * invocation at a time. A store failure throws (fail closed: nobody runs the job), which also lets Lambda's retry
 * of asynchronous invocations try again; so does a failed job (its slot is not completed).
 * @example
 * export const handler = singletonJob({ store, name: 'nightly-report', ttlMs: 10 * 60_000, work: runReport })
 */
export function singletonJob(options: SingletonJobOptions): (event: ScheduledEvent, context: LambdaContext) => Promise<JobOutcome> {
  const { store, name, ttlMs, maxClockSkewMs, work, clock } = options;
  return async (event, context) => {
    const holder = context.awsRequestId;
    const outcome = await runExclusive(
      store,
      {
        name,
        holder,
        ttlMs,
        // The scheduled time, as an instant: a redelivery or another region's copy of this event is the same slot.
        ...(event.time ? { slot: slotOf(event) } : {}),
        ...(maxClockSkewMs !== undefined ? { maxClockSkewMs } : {}),
        ...(clock ? { clock } : {}),
      },
      ({ signal, token, lead }) =>
        work({ fencingToken: token, signal, stillLeader: () => lead.stillLeader(), remainingMs: () => lead.remainingMs(), scheduledTime: event.time }),
    );
    if (outcome.ran) return { ran: true, leader: holder, token: outcome.token };
    return { ran: false, reason: outcome.reason, leader: outcome.leader, token: outcome.token };
  };
}

/** Your job. Here: a placeholder that shows where the fencing token and the signal go. */
async function runReport(input: JobInput): Promise<void> {
  for (const step of ['collect', 'render', 'publish']) {
    // A frozen or slow invocation may have lost the lease meanwhile: check before each side effect.
    if (!input.stillLeader()) throw new Error(`lost the lease before ${step}; the next scheduled run will redo the work`);
    // e.g. await s3.send(new PutObjectCommand({ ..., Metadata: { fencingToken: String(input.fencingToken) } }), { abortSignal: input.signal })
  }
}

// The lease table has one home region, and every deployment of this function, whatever region it runs in, must use
// that one table (README safety: "One linearizable home"): a copy in another region that used a table of its
// own region would elect a second leader. LEASE_TABLE_REGION names the home region. Unset, the client uses the
// function's own region (AWS_REGION), which is right only for the deployment in the home region.
const leaseTableRegion = process.env.LEASE_TABLE_REGION || undefined;

// Created once per container and reused by every invocation it serves.
const store = new DynamoDBStore({
  client: new DynamoDBClient(leaseTableRegion ? { region: leaseTableRegion } : {}),
  table: process.env.LEASE_TABLE ?? 'leasehold-leases',
});

/** The Lambda entry point (`handler.handler`), for an EventBridge schedule such as `rate(15 minutes)`. */
export const handler = singletonJob({
  store,
  name: process.env.JOB_NAME ?? 'nightly-report',
  ttlMs: Number(process.env.JOB_TTL_MS ?? 10 * 60_000),
  work: runReport,
});
