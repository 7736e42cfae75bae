/**
 * Scheduled jobs as OpenTelemetry metrics: for each job, the slots missed since its last completed one, whether it is
 * overdue, and the age of its last completed run. Observable gauges, read from the store (with `jobStatus`) when the
 * SDK collects, so they tell a job that stopped running even when no process that runs it is alive to report.
 * @module
 */
import { type BatchObservableCallback, type Meter, metrics, type Observable, type ObservableGauge } from '@opentelemetry/api';
import { type Clock, checkClock, wallNow } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { checkDuration, DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS } from '../options.js';
import type { Store } from '../store.js';
import { checkStore } from '../store-checks.js';
import { checkJobs, jobView, type WatchedJob } from '../watched-jobs.js';
import { PerMeter } from './per-meter.js';

/** Names of the job metrics {@link observeJobs} reports (attributes: `leasehold.lease.name`, `leasehold.store.kind`). */
export const JOB_METRICS = {
  /** Gauge, `{slot}`: scheduled slots after the last completed one, up to now (not reported before a first completion). */
  missed: 'leasehold.job.missed',
  /** Gauge, `1`: 1 while the job is overdue (its latest due slot went `overdueAfterMs` without completing), else 0. */
  overdue: 'leasehold.job.overdue',
  /** Gauge, seconds: how long ago the last completed run completed (not reported before a first completion). */
  lastCompletedAge: 'leasehold.job.last_completed.age',
} as const;

/** Options of {@link observeJobs}. */
export interface ObserveJobsOptions {
  /** Meter for the gauges (default `metrics.getMeter('leasehold')`, the globally registered provider's). */
  meter?: Meter;
  /** Clock for "now" (default: the system clock). */
  clock?: Clock;
  /** Skew margin for client-clock stores when judging whether a run holds the lease (default 1 000 ms). */
  maxClockSkewMs?: number;
}

interface JobGauges {
  missed: ObservableGauge;
  overdue: ObservableGauge;
  age: ObservableGauge;
}

/** One set of job gauges per meter: every {@link observeJobs} on a meter reports into the same three. */
const gaugesByMeter = new PerMeter<JobGauges>((meter) => ({
  missed: meter.createObservableGauge(JOB_METRICS.missed, {
    description: 'Scheduled slots of the job after its last completed one, up to now, not run',
    unit: '{slot}',
  }),
  overdue: meter.createObservableGauge(JOB_METRICS.overdue, {
    description: 'Whether the job is overdue: 1 when its latest due slot went overdueAfterMs without completing, else 0',
    unit: '1',
  }),
  age: meter.createObservableGauge(JOB_METRICS.lastCompletedAge, {
    description: "Time since the job's last completed run completed",
    unit: 's',
  }),
}));

/**
 * Reports scheduled jobs as metrics (see {@link JOB_METRICS}): at each collection, every job's status is read from
 * `store` (one round trip per job, in parallel, each within the store's bound); a job whose read fails reports
 * nothing that time. Returns `stop()`, which unregisters the callback. Pair it with an alert on
 * `leasehold.job.overdue == 1` for a dead-man check, or on `leasehold.job.last_completed.age` for a simpler one.
 *
 * Throws `INVALID_STORE`, or `INVALID_OPTION` / `INVALID_NAME` for a bad job or option.
 * @example
 * import { metrics } from '@opentelemetry/api'
 * import { observeJobs } from 'leasehold/otel'
 * observeJobs(store, { 'nightly-report': { schedule: { cron: '0 2 * * *' }, overdueAfterMs: 15 * 60_000 } }, { meter: metrics.getMeter('ops') })
 */
export function observeJobs(store: Store, jobs: Readonly<Record<string, WatchedJob>>, options: ObserveJobsOptions = {}): { stop(): void } {
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', 'observeJobs options must be an object like { meter, clock }, or omitted');
  }
  const s = checkStore(store);
  const checked = checkJobs(jobs, 'observeJobs');
  const clock = checkClock(options.clock, 'observeJobs');
  const skew = checkDuration(options.maxClockSkewMs, 'maxClockSkewMs', DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS);
  // The instrumentation scope of leasehold/otel (INSTRUMENTATION_SCOPE).
  const meter = options.meter === undefined ? metrics.getMeter('leasehold') : options.meter;
  for (const method of ['createObservableGauge', 'addBatchObservableCallback', 'removeBatchObservableCallback'] as const) {
    if (typeof (meter as unknown as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new LeaseholdError('INVALID_OPTION', `observeJobs: meter must be an OpenTelemetry Meter (it has no ${method})`);
    }
  }
  const gauges = gaugesByMeter.of(meter);
  const observables: Observable[] = [gauges.missed, gauges.overdue, gauges.age];
  const callback: BatchObservableCallback = async (result) => {
    const views = await Promise.all([...checked.values()].map((job) => jobView(s, job, clock, skew).catch(() => undefined)));
    const now = wallNow(clock);
    for (const view of views) {
      if (view === undefined) continue;
      const attributes = { 'leasehold.lease.name': view.name, 'leasehold.store.kind': s.kind };
      result.observe(gauges.overdue, view.overdue ? 1 : 0, attributes);
      if (view.missed !== null && view.missed !== undefined) result.observe(gauges.missed, view.missed, attributes);
      if (view.lastCompletedAt !== null && view.lastCompletedAt !== undefined) {
        result.observe(gauges.age, Math.max(0, now - view.lastCompletedAt) / 1000, attributes);
      }
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return { stop: () => meter.removeBatchObservableCallback(callback, observables) };
}
