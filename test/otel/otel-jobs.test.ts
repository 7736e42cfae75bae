/**
 * `leasehold/otel`'s job metrics (`observeJobs`), read back with the OpenTelemetry SDK's metric reader: missed slots,
 * the overdue state and the age of the last completed run, over the memory store on a manual clock (after runs and
 * after a gap) and over PostgreSQL.
 */
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { runExclusive } from '../../src/jobs.js';
import { tryLead } from '../../src/lead.js';
import { JOB_METRICS, observeJobs } from '../../src/otel/index.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';

const MIN = 60_000;
const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
const provider = new MeterProvider({ readers: [reader] });
const meter = provider.getMeter('leasehold');
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
afterAll(async () => {
  await provider.shutdown();
  await pool.end();
});

/** Each job metric's value for `job` now (undefined when not reported). */
async function read(job: string): Promise<Record<keyof typeof JOB_METRICS, number | undefined>> {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) byName.set(m.descriptor.name, m);
  const value = (name: string) => {
    const metric = byName.get(name);
    if (metric) expect(metric.dataPointType).toBe(DataPointType.GAUGE);
    return metric?.dataPoints.find((p) => p.attributes['leasehold.lease.name'] === job)?.value as number | undefined;
  };
  return { missed: value(JOB_METRICS.missed), overdue: value(JOB_METRICS.overdue), lastCompletedAge: value(JOB_METRICS.lastCompletedAge) };
}

describe('leasehold/otel: observeJobs', () => {
  it('missed, overdue and the age of the last run follow the job: before a run, after it, after a gap, after the next', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const schedule = { cron: '*/5 * * * *' };
    const name = `otel-job-${process.pid}`;
    const observed = observeJobs(store, { [name]: { schedule, overdueAfterMs: 30_000 } }, { meter, clock });
    const run = () => runExclusive(store, { name, schedule, clock, ttlMs: 10_000 }, () => 'done');
    // Never run; its first due slot (now) is not 30 s old yet: not overdue, nothing to count or age.
    expect(await read(name)).toEqual({ missed: undefined, overdue: 0, lastCompletedAge: undefined });
    clock.advance(30_001);
    expect(await read(name)).toMatchObject({ overdue: 1 });
    expect(await run()).toMatchObject({ ran: true });
    clock.advance(90_000);
    expect(await read(name)).toEqual({ missed: 0, overdue: 0, lastCompletedAge: 90 });
    // A gap of three slots, the latest 2 minutes old.
    clock.advance(15 * MIN - 30_001 - 90_000 + 2 * MIN);
    expect(await read(name)).toEqual({ missed: 3, overdue: 1, lastCompletedAge: (17 * MIN - 30_001) / 1000 });
    expect(await run()).toMatchObject({ ran: true, missed: 2 });
    expect(await read(name)).toEqual({ missed: 0, overdue: 0, lastCompletedAge: 0 });
    // stop() ends the reads: the age no longer follows the clock (a cumulative reader keeps the last value seen).
    clock.advance(MIN);
    expect((await read(name)).lastCompletedAge).toBe(60);
    observed.stop();
    clock.advance(MIN);
    expect((await read(name)).lastCompletedAge).toBe(60);
  });

  it('a job whose read fails reports nothing that time; the others still report', async () => {
    const clock = new ManualClock();
    const inner = new MemoryStore({ clock });
    let down = false;
    const flaky: Store = {
      kind: 'flaky',
      clockSource: 'store',
      read: (n) => (down && n.startsWith('otel-down') ? Promise.reject(new Error('connection refused')) : inner.read(n)),
      create: (w) => inner.create(w),
      replace: (v, w) => inner.replace(v, w),
    };
    const observed = observeJobs(flaky, { 'otel-down': { schedule: { everyMs: MIN } }, 'otel-up': { schedule: { everyMs: MIN } } }, { meter, clock });
    down = true;
    expect(await read('otel-down')).toEqual({ missed: undefined, overdue: undefined, lastCompletedAge: undefined });
    expect(await read('otel-up')).toMatchObject({ overdue: 0 });
    observed.stop();
  });

  it('on PostgreSQL: a completed run reads as on time, with its age', async () => {
    const store = new PostgresStore({ pool });
    await store.migrate();
    const name = `otel-job-pg-${process.pid}-${Date.now()}`;
    const schedule = { everyMs: 3_600_000 };
    const observed = observeJobs(store, { [name]: { schedule } }, { meter });
    expect(await runExclusive(store, { name, schedule, ttlMs: 10_000 }, () => 'done')).toMatchObject({ ran: true, slotRecorded: true });
    const held = await tryLead(store, { name, holder: 'runner-1', ttlMs: 10_000 });
    const seen = await read(name);
    await held.release();
    observed.stop();
    expect(seen).toMatchObject({ missed: 0, overdue: 0 });
    expect(seen.lastCompletedAge).toBeGreaterThanOrEqual(0);
    expect(seen.lastCompletedAge).toBeLessThan(60);
  });

  it('bad input is a typed error', () => {
    const store = new MemoryStore();
    const cases: [() => unknown, string][] = [
      [() => observeJobs({} as Store, {}, { meter }), 'INVALID_STORE'],
      [() => observeJobs(store, { 'bad name': { schedule: { everyMs: MIN } } }, { meter }), 'INVALID_NAME'],
      [() => observeJobs(store, { a: { schedule: { cron: 'nope' } } }, { meter }), 'INVALID_OPTION'],
      [() => observeJobs(store, {}, { meter: {} as never }), 'INVALID_OPTION'],
      [() => observeJobs(store, {}, null as never), 'INVALID_OPTION'],
    ];
    for (const [call, code] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(isLeaseholdError(error, code as never), `${code}: ${String(error)}`).toBe(true);
    }
  });
});
