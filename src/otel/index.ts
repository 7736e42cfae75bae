/**
 * `leasehold/otel`: OpenTelemetry spans and metrics for a store, through `@opentelemetry/api` (an optional peer
 * dependency: only this entry point imports it; `leasehold` and every other entry point load no OpenTelemetry
 * package). Wrap a store once with {@link instrument} and use the result wherever you used the store.
 *
 * A span per store call, and four metrics: leadership per lease name (gauge), leadership transitions (counter),
 * claim latency (histogram) and errors by code (counter). Names follow the OpenTelemetry semantic conventions: the
 * database attributes where they apply (`db.system.name`, `db.operation.name`, `error.type`), the rest under
 * `leasehold.*`. Never lease `data`, credentials or an error's message. For scheduled jobs, {@link observeJobs} reports
 * three gauges more (missed slots, overdue, age of the last completed run: {@link JOB_METRICS}).
 * @module
 */
import {
  type Attributes,
  type Counter,
  context,
  type Histogram,
  type Meter,
  metrics,
  type ObservableCallback,
  type ObservableGauge,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Clock } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import type { LeadershipTracker } from '../observe/leadership.js';
import { type LeaseholdLogger, type LogLevel, type LogStyle, loggerObserver } from '../observe/log-lines.js';
import { observeStore, type StoreObserver } from '../observe/observed-store.js';
import { describeValue } from '../options.js';
import type { Store } from '../store.js';
import { PerMeter } from './per-meter.js';

export type { JobView, WatchedJob } from '../watched-jobs.js';
export { JOB_METRICS, type ObserveJobsOptions, observeJobs } from './jobs.js';

/** The instrumentation scope's name: what {@link instrument} passes to `trace.getTracer` and `metrics.getMeter`. */
export const INSTRUMENTATION_SCOPE = 'leasehold';

/** Metric names. */
export const METRICS = {
  /** Gauge, `{leader}`: 1 while a term won through this store for the name is valid, else 0. */
  leadership: 'leasehold.leadership',
  /** Counter, `{transition}`: leadership gained or lost through this store (`leasehold.transition`). */
  transitions: 'leasehold.leadership.transitions',
  /** Histogram, seconds: one claim (what `tryLead()` waits on the store for). */
  claimDuration: 'leasehold.claim.duration',
  /** Counter, `{error}`: failed store calls, by `error.type`. */
  errors: 'leasehold.errors',
} as const;

/** Attribute names. The `db.*` and `error.type` ones are the semantic conventions'; the rest are leasehold's. */
export const ATTRIBUTES = {
  /** `postgresql`, `redis` or `aws.dynamodb` (the conventions' values); absent for stores the conventions name no value for. */
  dbSystemName: 'db.system.name',
  /** The Store method: `claim`, `read`, `create`, `replace`, `releaseHolder`. */
  dbOperationName: 'db.operation.name',
  /** A failed call's LeaseholdError code (`STORE_UNAVAILABLE`, …), or `untyped` for an error of another kind. */
  errorType: 'error.type',
  /** The store's `kind` (`postgres`, `dynamodb`, `firestore`, `memory`, …). */
  storeKind: 'leasehold.store.kind',
  /** Election name. */
  leaseName: 'leasehold.lease.name',
  /** The holder claiming or releasing (spans only). */
  leaseHolder: 'leasehold.lease.holder',
  /** The fencing token in the answer (spans only). */
  leaseToken: 'leasehold.lease.token',
  /** The lease's holder in the answer, empty string when released (spans only). */
  leaseLeader: 'leasehold.lease.leader',
  /** How the call ended: `won`, `lost`, `written`, `conflict`, `found`, `absent`, `released`, `not_holder`, `error`. */
  outcome: 'leasehold.outcome',
  /** What the library was doing: `claim`, `release`, `read`, `slot` (spans only). */
  intent: 'leasehold.intent',
  /** Which request of its library call this span is (1 = the first; spans only). */
  roundTrip: 'leasehold.round_trip',
  /** A failed call's error `name`, e.g. `TimeoutError` (spans only; never the message). */
  errorName: 'leasehold.error.name',
  /** `fused` (one round trip) or `generic` (read, then write): the claim duration's path. */
  claimPath: 'leasehold.claim.path',
  /** `gained` or `lost`. */
  transition: 'leasehold.transition',
  /** Why leadership was lost: `released`, `expired`, `superseded`. */
  transitionReason: 'leasehold.transition.reason',
} as const;

/** The conventions' `db.system.name` for a store kind, where they define one. */
const DB_SYSTEM_NAMES: Record<string, string> = { postgres: 'postgresql', redis: 'redis', dynamodb: 'aws.dynamodb' };

/** Bucket boundaries (seconds) the claim histogram advises: those of the conventions' `db.client.operation.duration`. */
const CLAIM_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Tracer for the spans (default `trace.getTracer('leasehold')`, the globally registered provider's). `null`: no spans. */
  tracer?: Tracer | null;
  /** Meter for the metrics (default `metrics.getMeter('leasehold')`, the globally registered provider's). `null`: no metrics. */
  meter?: Meter | null;
  /** A logger too (`console`, pino, a Powertools `Logger`): see `leasehold/logger`. Default: none (silent). */
  logger?: LeaseholdLogger;
  /** The logger's argument order (default `'auto'`); see `leasehold/logger`'s `LogStyle`. */
  logStyle?: LogStyle;
  /** The least severe line logged (default `'info'`); see `leasehold/logger`. */
  logLevel?: LogLevel;
  /** Clock for durations and leadership validity (default: the system clock). Pass the one your calls use. */
  clock?: Clock;
  /**
   * The skew margin your calls use, in ms (default 1 000). On a store without a fused claim the write does not
   * carry it, and the leadership gauge counts validity as `tryLead()` does: `ttlMs - maxClockSkewMs` from the send.
   */
  maxClockSkewMs?: number;
}

interface Instruments {
  leadership: ObservableGauge;
  transitions: Counter;
  claimDuration: Histogram;
  errors: Counter;
}

/** One set of instruments per meter: every instrumented store reports into the same four. */
const instrumentsByMeter = new PerMeter<Instruments>((meter) => ({
  leadership: meter.createObservableGauge(METRICS.leadership, {
    description: 'Whether this process leads the lease through this store: 1 while a term it won is valid, else 0',
    unit: '{leader}',
  }),
  transitions: meter.createCounter(METRICS.transitions, {
    description: 'Leadership gained or lost through this store',
    unit: '{transition}',
  }),
  claimDuration: meter.createHistogram(METRICS.claimDuration, {
    description: "Duration of one claim (tryLead's store round trips): the fused claim, or the generic path's read and write",
    unit: 's',
    advice: { explicitBucketBoundaries: CLAIM_BUCKETS },
  }),
  errors: meter.createCounter(METRICS.errors, {
    description: 'Failed store calls, by LeaseholdError code (untyped: another error)',
    unit: '{error}',
  }),
}));

/** The methods {@link instrument} calls on each handle it is given, and on the instruments a meter makes. */
const TRACER_METHODS = ['startSpan'] as const;
const METER_METHODS = ['createObservableGauge', 'createCounter', 'createHistogram'] as const;
const INSTRUMENT_METHODS: Record<keyof Instruments, readonly string[]> = {
  leadership: ['addCallback', 'removeCallback'],
  transitions: ['add'],
  claimDuration: ['record'],
  errors: ['add'],
};

/** The methods of `methods` that `value` lacks (all of them when it is not an object). */
function missing(value: unknown, methods: readonly string[]): string[] {
  if (typeof value !== 'object' || value === null) return [...methods];
  return methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
}

function checkHandle(value: unknown, name: 'tracer' | 'meter'): void {
  if (value === undefined || value === null) return;
  const methods = name === 'tracer' ? TRACER_METHODS : METER_METHODS;
  const lacks = missing(value, methods);
  if (lacks.length > 0) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `${name} must be an OpenTelemetry ${name === 'tracer' ? 'Tracer' : 'Meter'} (with ${methods.join(', ')}), null, or omitted; ${
        typeof value === 'object' ? `it has no ${lacks.join(', ')}` : `got ${describeValue(value)}`
      }`,
    );
  }
}

/** The meter's instruments, checked now (at wrap time): a meter that throws or makes incomplete ones is refused. */
function checkedInstruments(meter: Meter): Instruments {
  let made: Instruments;
  try {
    made = instrumentsByMeter.of(meter);
  } catch (error) {
    throw new LeaseholdError('INVALID_OPTION', 'meter threw while making the leasehold instruments; pass an OpenTelemetry Meter, null, or omit it', {
      cause: error,
    });
  }
  for (const [key, methods] of Object.entries(INSTRUMENT_METHODS) as [keyof Instruments, readonly string[]][]) {
    const lacks = missing(made[key], methods);
    if (lacks.length > 0) {
      instrumentsByMeter.forget(meter);
      throw new LeaseholdError(
        'INVALID_OPTION',
        `meter made a ${METRICS[key]} instrument without ${lacks.join(', ')}; pass an OpenTelemetry Meter, null, or omit it`,
      );
    }
  }
  return made;
}

/** Attributes every signal shares. */
function base(storeKind: string, name: string): Attributes {
  const system = DB_SYSTEM_NAMES[storeKind];
  return { [ATTRIBUTES.storeKind]: storeKind, [ATTRIBUTES.leaseName]: name, ...(system ? { [ATTRIBUTES.dbSystemName]: system } : {}) };
}

function tracingObserver(tracer: Tracer): StoreObserver {
  return {
    onCall(call) {
      const span = tracer.startSpan(
        `leasehold ${call.operation}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...base(call.storeKind, call.name),
            [ATTRIBUTES.dbOperationName]: call.operation,
            [ATTRIBUTES.intent]: call.intent,
            [ATTRIBUTES.roundTrip]: call.roundTrip,
            ...(call.holder !== null ? { [ATTRIBUTES.leaseHolder]: call.holder } : {}),
          },
        },
        context.active(),
      );
      const active = trace.setSpan(context.active(), span);
      return {
        // The SDK's own instrumentation (pg, the AWS SDK) nests its spans under this one.
        run: (request) => context.with(active, request),
        end(end) {
          span.setAttribute(ATTRIBUTES.outcome, end.outcome);
          if (end.token !== undefined) span.setAttribute(ATTRIBUTES.leaseToken, end.token);
          if (end.leader !== undefined) span.setAttribute(ATTRIBUTES.leaseLeader, end.leader ?? '');
          if (end.outcome === 'error') {
            span.setAttribute(ATTRIBUTES.errorType, end.errorCode ?? 'untyped');
            if (end.errorName) span.setAttribute(ATTRIBUTES.errorName, end.errorName);
            // The code, not the message: an SDK's message is not ours to ship.
            span.setStatus({ code: SpanStatusCode.ERROR, message: end.errorCode ?? 'untyped' });
          }
          span.end();
        },
      };
    },
  };
}

/**
 * The metrics observer, and `watch`, which registers the leadership gauge's callback for a tracker once the store is
 * wrapped. The callback holds the tracker weakly: a wrapped store that is dropped stops reporting.
 */
function metricsObserver(meter: Meter): { observer: StoreObserver; watch(tracker: LeadershipTracker): void } {
  const instruments = checkedInstruments(meter);
  const watch = (tracker: LeadershipTracker) => {
    const ref = new WeakRef(tracker);
    const observe: ObservableCallback = (result) => {
      const t = ref.deref();
      if (!t) {
        instruments.leadership.removeCallback(observe);
        return;
      }
      for (const { name, leading } of t.snapshot()) result.observe(leading ? 1 : 0, base(t.storeKind, name));
    };
    instruments.leadership.addCallback(observe);
  };
  const observer: StoreObserver = {
    onCall(call) {
      return {
        end(end) {
          if (end.outcome !== 'error') return;
          instruments.errors.add(1, {
            ...base(call.storeKind, call.name),
            [ATTRIBUTES.dbOperationName]: call.operation,
            [ATTRIBUTES.errorType]: end.errorCode ?? 'untyped',
          });
        },
      };
    },
    onClaim(claim) {
      instruments.claimDuration.record(claim.durationMs / 1000, {
        ...base(claim.storeKind, claim.name),
        [ATTRIBUTES.claimPath]: claim.path,
        [ATTRIBUTES.outcome]: claim.outcome,
        ...(claim.errorCode ? { [ATTRIBUTES.errorType]: claim.errorCode } : {}),
      });
    },
    onTransition(t) {
      instruments.transitions.add(1, {
        ...base(t.storeKind, t.name),
        [ATTRIBUTES.transition]: t.direction,
        ...(t.reason ? { [ATTRIBUTES.transitionReason]: t.reason } : {}),
      });
    },
  };
  return { observer, watch };
}

/**
 * Wraps `store` with OpenTelemetry spans and metrics (and, with `logger`, log lines); use the result wherever you
 * used the store. Everything else is unchanged: same `kind`, clock model, limits, timeout and identity (a release
 * through the original store ends the results won through the wrapper at once, and the other way round), the same
 * fused paths, the same answers (an exporter or logger that throws is ignored). Keep the original for store-specific methods
 * (`migrate()`, `createTable()`). Wrap once, at module scope: leadership is tracked per wrapped store, and the gauge
 * reports each wrapped store's names.
 *
 * Spans: one per store call, `leasehold <operation>`, kind CLIENT, a child of the active span. Metrics: see
 * {@link METRICS}; attributes: see {@link ATTRIBUTES}. With no OpenTelemetry SDK registered (and no `tracer`/`meter`
 * passed) the API's no-op implementations make this nearly free.
 *
 * `leasehold.claim.duration` is per claim call: on stores with a fused claim (Postgres, DynamoDB, Firestore, the
 * memory store) exactly `tryLead()`'s store round trip; on a store without one, from the read to the write's answer,
 * and a claim refused at the read (a follower, nothing written) is not recorded. A `tryLead()` answered without a
 * store call records nothing.
 *
 * Throws `INVALID_STORE` for a non-store, `INVALID_OPTION` for a bad option.
 * @example
 * import { instrument } from 'leasehold/otel'
 * const store = instrument(new PostgresStore({ pool }))
 * const lead = await tryLead(store, { name: 'nightly-report', holder: context.awsRequestId })
 */
export function instrument(store: Store, options: InstrumentOptions = {}): Store {
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', 'instrument options must be an object like { tracer, meter, logger }, or omitted');
  }
  checkHandle(options.tracer, 'tracer');
  checkHandle(options.meter, 'meter');
  const observers: StoreObserver[] = [];
  const tracer = options.tracer === undefined ? trace.getTracer(INSTRUMENTATION_SCOPE) : options.tracer;
  if (tracer) observers.push(tracingObserver(tracer));
  const meter = options.meter === undefined ? metrics.getMeter(INSTRUMENTATION_SCOPE) : options.meter;
  const measured = meter ? metricsObserver(meter) : undefined;
  if (measured) observers.push(measured.observer);
  if (options.logger !== undefined) observers.push(loggerObserver(options.logger, { style: options.logStyle, level: options.logLevel }));
  const observed = observeStore(store, observers, { clock: options.clock, maxClockSkewMs: options.maxClockSkewMs });
  measured?.watch(observed.leadership);
  return observed.store;
}
