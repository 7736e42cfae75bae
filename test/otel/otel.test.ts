/**
 * `leasehold/otel` against real engines (the memory store, Postgres): spans and metrics read back with the
 * OpenTelemetry SDK's in-memory exporters, and the instrumented store still passes the conformance suite.
 */

import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { getLeader, release, tryLead } from '../../src/lead.js';
import { ATTRIBUTES, instrument, METRICS } from '../../src/otel/index.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { describeStoreConformance, genericOnly, withFaults } from '../../src/testing/index.js';

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const tracer = tracerProvider.getTracer('leasehold-test');
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const meter = meterProvider.getMeter('leasehold');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  context.disable();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

/** Lease data that must never appear in any span or metric. */
const SECRET = 'lease-data-must-not-leak-7f3a';
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

/** The metrics collected now (cumulative), by name. */
async function collect(): Promise<Map<string, MetricData>> {
  metricExporter.reset();
  await reader.forceFlush();
  const byName = new Map<string, MetricData>();
  for (const resource of metricExporter.getMetrics())
    for (const scope of resource.scopeMetrics) for (const m of scope.metrics) byName.set(m.descriptor.name, m);
  return byName;
}

/** The data points of metric `name` for lease `lease`, each with its attributes and value. */
async function points(name: string, lease: string): Promise<{ attributes: Record<string, unknown>; value: unknown }[]> {
  const metric = (await collect()).get(name);
  return (metric?.dataPoints ?? [])
    .filter((p) => p.attributes[ATTRIBUTES.leaseName] === lease)
    .map((p) => ({ attributes: p.attributes as Record<string, unknown>, value: p.value }));
}

/** Sum of counter `name` for lease `lease` over points whose attributes include `where`. */
async function count(name: string, lease: string, where: Record<string, unknown> = {}): Promise<number> {
  return (await points(name, lease))
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (p.value as number), 0);
}

/** The leadership gauge for `lease` (undefined when not reported). */
async function gauge(lease: string): Promise<number | undefined> {
  const [p] = await points(METRICS.leadership, lease);
  return p?.value as number | undefined;
}

/** Histogram points of the claim duration for `lease`: count per outcome and path. */
async function claims(lease: string): Promise<Record<string, number>> {
  const metric = (await collect()).get(METRICS.claimDuration);
  expect(metric?.dataPointType).toBe(DataPointType.HISTOGRAM);
  expect(metric?.descriptor.unit).toBe('s');
  const out: Record<string, number> = {};
  for (const p of metric?.dataPoints ?? []) {
    if (p.attributes[ATTRIBUTES.leaseName] !== lease) continue;
    const value = p.value as { count: number; sum?: number; min?: number };
    expect(value.sum ?? 0).toBeGreaterThanOrEqual(0);
    out[`${p.attributes[ATTRIBUTES.claimPath]}:${p.attributes[ATTRIBUTES.outcome]}`] = value.count;
  }
  return out;
}

function spansOf(lease: string): ReadableSpan[] {
  return spans.getFinishedSpans().filter((s) => s.attributes[ATTRIBUTES.leaseName] === lease);
}

function summary(s: ReadableSpan) {
  return {
    name: s.name,
    operation: s.attributes[ATTRIBUTES.dbOperationName],
    outcome: s.attributes[ATTRIBUTES.outcome],
    holder: s.attributes[ATTRIBUTES.leaseHolder],
    leader: s.attributes[ATTRIBUTES.leaseLeader],
    token: s.attributes[ATTRIBUTES.leaseToken],
    roundTrip: s.attributes[ATTRIBUTES.roundTrip],
    intent: s.attributes[ATTRIBUTES.intent],
  };
}

/** Nothing any exporter holds mentions the lease data. */
async function expectNoLeak(): Promise<void> {
  const everything = JSON.stringify({
    spans: spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events })),
    metrics: [...(await collect()).values()].map((m) => m.dataPoints.map((p) => p.attributes)),
  });
  expect(everything).not.toContain(SECRET);
}

beforeEach(() => spans.reset());

describe('leasehold/otel on the memory store (fused path)', () => {
  it('a span per store call, and leadership, transitions and claim latency as metrics', async () => {
    const clock = new ManualClock();
    const store = instrument(new MemoryStore({ clock }), { tracer, meter, clock });
    const name = unique('otel-mem');
    const opts = (holder: string) => ({ name, holder, ttlMs: 10_000, maxClockSkewMs: 1_000, clock, data: SECRET });

    const a = await tryLead(store, opts('a'));
    expect(a.isLeader).toBe(true);
    const b = await tryLead(store, opts('b'));
    expect(b.isLeader).toBe(false);
    expect(spansOf(name).map(summary)).toEqual([
      { name: 'leasehold claim', operation: 'claim', outcome: 'won', holder: 'a', leader: 'a', token: 1, roundTrip: 1, intent: 'claim' },
      { name: 'leasehold claim', operation: 'claim', outcome: 'lost', holder: 'b', leader: 'a', token: 1, roundTrip: 1, intent: 'claim' },
    ]);
    const [first] = spansOf(name);
    expect(first?.kind).toBe(SpanKind.CLIENT);
    expect(first?.status.code).toBe(SpanStatusCode.UNSET);
    expect(first?.attributes[ATTRIBUTES.storeKind]).toBe('memory');
    // The conventions name no db.system.name for an in-process map.
    expect(first?.attributes[ATTRIBUTES.dbSystemName]).toBeUndefined();
    expect(await gauge(name)).toBe(1);
    expect(await count(METRICS.transitions, name, { [ATTRIBUTES.transition]: 'gained' })).toBe(1);

    // A renewal of the same term is no transition.
    clock.advance(4_000);
    expect((await tryLead(store, opts('a'))).isLeader).toBe(true);
    expect(await count(METRICS.transitions, name)).toBe(1);

    // A release ends it at once: the span, the gauge and a "lost (released)" transition.
    spans.reset();
    expect(await release(store, { name, holder: 'a', clock })).toBe(true);
    expect(spansOf(name).map(summary)).toEqual([
      { name: 'leasehold releaseHolder', operation: 'releaseHolder', outcome: 'released', holder: 'a', leader: '', token: 1, roundTrip: 1, intent: 'release' },
    ]);
    expect(await gauge(name)).toBe(0);
    expect(await count(METRICS.transitions, name, { [ATTRIBUTES.transition]: 'lost', [ATTRIBUTES.transitionReason]: 'released' })).toBe(1);

    // b takes over (token 2); its validity (ttl - skew from the send) runs out with no renewal: lost, expired.
    expect((await tryLead(store, opts('b'))).token).toBe(2);
    expect(await gauge(name)).toBe(1);
    clock.advance(8_999);
    expect(await gauge(name)).toBe(1);
    clock.advance(2);
    expect(await gauge(name)).toBe(0);
    expect(await count(METRICS.transitions, name, { [ATTRIBUTES.transition]: 'lost', [ATTRIBUTES.transitionReason]: 'expired' })).toBe(1);
    expect(await count(METRICS.transitions, name, { [ATTRIBUTES.transition]: 'gained' })).toBe(2);

    // Claim latency: one histogram point per claim call, by path and outcome.
    expect(await claims(name)).toEqual({ 'fused:won': 3, 'fused:lost': 1 });
    expect(await count(METRICS.errors, name)).toBe(0);
    await expectNoLeak();
  });

  it('an answer showing a newer term ends the term this process tracked (superseded)', async () => {
    const clock = new ManualClock();
    const shared = new MemoryStore({ clock });
    const here = instrument(shared, { tracer, meter, clock });
    // Another process on the same lease table (its own wrapper, no metrics of ours).
    const elsewhere = instrument(shared, { tracer: null, meter: null, clock });
    const name = unique('otel-superseded');
    expect((await tryLead(here, { name, holder: 'a', ttlMs: 10_000, clock })).isLeader).toBe(true);
    // Elsewhere, a's id is released (a cold release, by holder alone) and b takes the lease: token 2.
    expect(await release(elsewhere, { name, holder: 'a', clock })).toBe(true);
    expect((await tryLead(elsewhere, { name, holder: 'b', ttlMs: 10_000, clock })).token).toBe(2);
    expect(await gauge(name)).toBe(1); // this process has not seen it yet
    await getLeader(here, name, { clock });
    expect(await gauge(name)).toBe(0);
    expect(await count(METRICS.transitions, name, { [ATTRIBUTES.transition]: 'lost', [ATTRIBUTES.transitionReason]: 'superseded' })).toBe(1);
  });

  it('errors by code: untyped for a failing SDK call, STORE_UNAVAILABLE for a silent one; an ambiguous write read back still leads', async () => {
    const clock = new ManualClock();
    const faulty = withFaults(new MemoryStore({ clock }));
    const store = instrument(faulty, { tracer, meter, clock });
    const name = unique('otel-errors');
    const opts = { name, holder: 'a', ttlMs: 10_000, clock };

    faulty.failNextWrite('fail-before');
    faulty.failReads(true);
    await expect(tryLead(store, opts)).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    expect(
      spansOf(name).map((s) => [s.name, s.attributes[ATTRIBUTES.outcome], s.attributes[ATTRIBUTES.errorType], s.attributes[ATTRIBUTES.roundTrip]]),
    ).toEqual([
      ['leasehold claim', 'error', 'untyped', 1],
      ['leasehold read', 'error', 'untyped', 2],
    ]);
    const [failed] = spansOf(name);
    expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'untyped' });
    expect(failed?.attributes[ATTRIBUTES.errorName]).toBe('Error');
    expect(await count(METRICS.errors, name, { [ATTRIBUTES.errorType]: 'untyped', [ATTRIBUTES.dbOperationName]: 'claim' })).toBe(1);
    expect(await count(METRICS.errors, name, { [ATTRIBUTES.errorType]: 'untyped', [ATTRIBUTES.dbOperationName]: 'read' })).toBe(1);
    expect(await gauge(name)).toBe(0);
    faulty.failReads(false);

    // The write applied and its answer was lost: the core reads it back and leads; so does the gauge.
    spans.reset();
    faulty.failNextWrite('lose-answer');
    expect((await tryLead(store, opts)).isLeader).toBe(true);
    expect(spansOf(name).map((s) => [s.attributes[ATTRIBUTES.outcome], s.attributes[ATTRIBUTES.roundTrip]])).toEqual([
      ['error', 1],
      ['found', 2],
    ]);
    expect(await gauge(name)).toBe(1);
    expect(await claims(name)).toEqual({ 'fused:error': 2 });

    // A release that fails still ends the holder's results in this process at once (the core's rule): so the gauge.
    faulty.failNextWrite('fail-before');
    await expect(release(store, { name, holder: 'a', clock })).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    expect(await gauge(name)).toBe(0);
    expect(await count(METRICS.transitions, name, { [ATTRIBUTES.transition]: 'lost', [ATTRIBUTES.transitionReason]: 'released' })).toBe(1);

    // A silent store: the call's bound runs out; the span ends then, with the core's code.
    spans.reset();
    faulty.silence(true);
    const pending = tryLead(store, { ...opts, name: `${name}-silent` });
    clock.advance(10_000);
    await expect(pending).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    faulty.silence(false);
    expect(spansOf(`${name}-silent`).map((s) => s.attributes[ATTRIBUTES.errorType])).toEqual(['STORE_UNAVAILABLE']);
    expect(await count(METRICS.errors, `${name}-silent`, { [ATTRIBUTES.errorType]: 'STORE_UNAVAILABLE' })).toBe(1);
  });

  it('spans are children of the active span, and carry nothing of the lease data', async () => {
    const clock = new ManualClock();
    const store = instrument(new MemoryStore({ clock }), { tracer, meter, clock });
    const name = unique('otel-parent');
    await tracer.startActiveSpan('nightly job', async (parent) => {
      await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock, data: SECRET });
      await getLeader(store, name, { clock });
      parent.end();
    });
    const parent = spans.getFinishedSpans().find((s) => s.name === 'nightly job');
    const children = spansOf(name);
    expect(children.map((s) => s.name)).toEqual(['leasehold claim', 'leasehold read']);
    for (const child of children) {
      expect(child.spanContext().traceId).toBe(parent?.spanContext().traceId);
      expect(child.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    }
    await expectNoLeak();
  });
});

describe('leasehold/otel on the generic path (a store without fused calls)', () => {
  it('round trips per call, the claim latency from read to write, and a generic release', async () => {
    const clock = new ManualClock();
    const store = instrument(genericOnly(new MemoryStore({ clock })), { tracer, meter, clock });
    expect(store.claim).toBeUndefined();
    expect(store.releaseHolder).toBeUndefined();
    const name = unique('otel-generic');
    const a = await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock, data: SECRET });
    expect(a.isLeader).toBe(true);
    expect(await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock }).then((r) => r.isLeader)).toBe(false);
    expect(await release(store, { name, holder: 'a', clock })).toBe(true);
    expect(spansOf(name).map(summary)).toEqual([
      { name: 'leasehold read', operation: 'read', outcome: 'absent', holder: undefined, leader: undefined, token: undefined, roundTrip: 1, intent: 'read' },
      { name: 'leasehold create', operation: 'create', outcome: 'won', holder: 'a', leader: 'a', token: 1, roundTrip: 2, intent: 'claim' },
      { name: 'leasehold read', operation: 'read', outcome: 'found', holder: undefined, leader: 'a', token: 1, roundTrip: 1, intent: 'read' },
      { name: 'leasehold read', operation: 'read', outcome: 'found', holder: undefined, leader: 'a', token: 1, roundTrip: 1, intent: 'read' },
      { name: 'leasehold replace', operation: 'replace', outcome: 'released', holder: undefined, leader: '', token: 1, roundTrip: 2, intent: 'release' },
    ]);
    // b's claim was refused at the read: nothing written, no claim recorded (the documented approximation).
    expect(await claims(name)).toEqual({ 'generic:won': 1 });
    expect(await count(METRICS.transitions, name, { [ATTRIBUTES.transition]: 'lost', [ATTRIBUTES.transitionReason]: 'released' })).toBe(1);
    expect(await gauge(name)).toBe(0);
    await expectNoLeak();
  });

  it('the generic claim’s duration counts from the read', async () => {
    const clock = new ManualClock();
    const inner = genericOnly(new MemoryStore({ clock }));
    // A store whose read takes 300 ms and write 200 ms on the injected clock.
    const slow: Store = {
      ...inner,
      read: async (n, o) => {
        clock.advance(300);
        return inner.read(n, o);
      },
      create: async (w, o) => {
        clock.advance(200);
        return inner.create(w, o);
      },
    };
    const store = instrument(slow, { tracer, meter, clock });
    const name = unique('otel-duration');
    await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock });
    const metric = (await collect()).get(METRICS.claimDuration);
    const point = metric?.dataPoints.find((p) => p.attributes[ATTRIBUTES.leaseName] === name);
    expect((point?.value as { sum: number } | undefined)?.sum).toBeCloseTo(0.5, 6);
  });
});

describe('leasehold/otel on Postgres', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 8 });
  const table = `leases_otel_${process.pid}`;
  const raw = new PostgresStore({ pool, table });
  const clock = new ManualClock();
  const store = instrument(raw, { tracer, meter, clock });

  beforeAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await raw.migrate();
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  it('spans say postgresql; metrics read back; a missing table is STORE_UNAVAILABLE, an SDK error untyped', async () => {
    const name = unique('otel-pg');
    const a = await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock, data: SECRET });
    expect(a.isLeader).toBe(true);
    expect((await tryLead(store, { name, holder: 'b', ttlMs: 10_000, clock })).isLeader).toBe(false);
    expect(await release(store, { name, holder: 'a', clock })).toBe(true);
    expect(
      spansOf(name).map((s) => [s.name, s.attributes[ATTRIBUTES.dbSystemName], s.attributes[ATTRIBUTES.storeKind], s.attributes[ATTRIBUTES.outcome]]),
    ).toEqual([
      ['leasehold claim', 'postgresql', 'postgres', 'won'],
      ['leasehold claim', 'postgresql', 'postgres', 'lost'],
      ['leasehold releaseHolder', 'postgresql', 'postgres', 'released'],
    ]);
    expect(await claims(name)).toEqual({ 'fused:won': 1, 'fused:lost': 1 });
    const [won] = (await collect()).get(METRICS.claimDuration)?.dataPoints.filter((p) => p.attributes[ATTRIBUTES.leaseName] === name) ?? [];
    expect(won?.attributes[ATTRIBUTES.dbSystemName]).toBe('postgresql');
    expect(await count(METRICS.transitions, name)).toBe(2);
    expect(await gauge(name)).toBe(0);

    const missing = instrument(new PostgresStore({ pool, table: `${table}_missing` }), { tracer, meter, clock });
    await expect(tryLead(missing, { name, holder: 'a', ttlMs: 10_000, clock })).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    expect(await count(METRICS.errors, name, { [ATTRIBUTES.errorType]: 'STORE_UNAVAILABLE', [ATTRIBUTES.dbOperationName]: 'claim' })).toBe(1);

    const faulty = withFaults(raw);
    const failing = instrument(faulty, { tracer, meter, clock });
    faulty.failAll(true);
    await expect(getLeader(failing, name, { clock })).rejects.toSatisfy((e) => isLeaseholdError(e, 'STORE_UNAVAILABLE'));
    expect(await count(METRICS.errors, name, { [ATTRIBUTES.errorType]: 'untyped', [ATTRIBUTES.dbOperationName]: 'read' })).toBe(1);
    await expectNoLeak();
  });

  const expire = async (n: string) => {
    await pool.query(`UPDATE ${table} SET expires_at = statement_timestamp() - interval '1 millisecond' WHERE name = $1`, [n]);
  };
  // The decorator changes no answer: the instrumented store passes the one conformance suite.
  describeStoreConformance('postgres, instrumented', () => ({ store: instrument(raw, { tracer, meter }), clock: new ManualClock(), expire }), {
    contenders: 8,
    rounds: 5,
    names: 20,
  });
});

describeStoreConformance('memory, instrumented (otel and a logger)', () => {
  const clock = new ManualClock();
  const lines: unknown[] = [];
  const logger = {
    debug: (...a: unknown[]) => lines.push(a),
    info: (...a: unknown[]) => lines.push(a),
    warn: (...a: unknown[]) => lines.push(a),
    error: (...a: unknown[]) => lines.push(a),
  };
  return { clock, store: instrument(new MemoryStore({ clock }), { tracer, meter, clock, logger, logLevel: 'debug' }) };
});

describe('instrument: bad input', () => {
  it('refuses a non-store and bad options with typed errors', () => {
    const store = new MemoryStore();
    expect(() => instrument(null as unknown as Store)).toThrow(expect.objectContaining({ code: 'INVALID_STORE' }));
    expect(() => instrument(store, 5 as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => instrument(store, { tracer: {} as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/tracer/) }),
    );
    expect(() => instrument(store, { meter: 'm' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/meter/) }),
    );
    expect(() => instrument(store, { logger: { info() {} } as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/logger/) }),
    );
    expect(() => instrument(store, { maxClockSkewMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => instrument(store, { clock: {} as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('refuses an incomplete meter or tracer at wrap time, naming what is missing (a TypeError before, or later)', () => {
    const store = new MemoryStore();
    const refused = (options: object, pattern: RegExp) =>
      expect(() => instrument(store, options as never)).toThrow(
        expect.objectContaining({ name: 'LeaseholdError', code: 'INVALID_OPTION', message: expect.stringMatching(pattern) }),
      );
    const counter = () => ({ add() {} });
    refused({ meter: { createCounter: counter } }, /meter must be an OpenTelemetry Meter .*; it has no createObservableGauge, createHistogram$/);
    refused({ meter: { createCounter: counter, createHistogram: () => ({ record() {} }) } }, /it has no createObservableGauge$/);
    refused({ meter: Object.create(null) }, /meter must be an OpenTelemetry Meter/);
    // Its instruments are checked too, when they are made (at wrap time).
    refused(
      { meter: { createCounter: counter, createHistogram: () => ({}), createObservableGauge: () => ({ addCallback() {}, removeCallback() {} }) } },
      /meter made a leasehold\.claim\.duration instrument without record/,
    );
    refused(
      {
        meter: {
          createCounter: () => {
            throw new Error('meter bug');
          },
          createHistogram: counter,
          createObservableGauge: counter,
        },
      },
      /meter threw/,
    );
    refused({ tracer: Object.create(null) }, /tracer must be an OpenTelemetry Tracer \(with startSpan\), null, or omitted; it has no startSpan/);
    refused({ logger: console, logLevel: Object.create(null) }, /logger level/);
  });

  it('an async logger whose promises reject changes no answer and leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const rejecting = async () => {
        throw new Error('log shipper down');
      };
      const clock = new ManualClock();
      const logger = { debug: rejecting, info: rejecting, warn: rejecting, error: rejecting };
      const store = instrument(new MemoryStore({ clock }), { tracer: null, meter: null, logger, logLevel: 'debug', clock });
      const name = unique('otel-async-logger');
      expect((await tryLead(store, { name, holder: 'a', ttlMs: 10_000, clock })).isLeader).toBe(true);
      await clock.tick(12_000, 1_000);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('keeps the store’s kind, clock model, limits, timeout, and exactly its fused paths; null tracer and meter turn signals off', async () => {
    const limited: Store = { ...genericOnly(new MemoryStore()), kind: 'custom', limits: { minTtlMs: 2_000, minWriteIntervalMs: 500 }, timeoutMs: 1_234 };
    const wrapped = instrument(limited, { tracer: null, meter: null });
    expect([wrapped.kind, wrapped.clockSource, wrapped.limits, wrapped.timeoutMs, wrapped.claim, wrapped.releaseHolder]).toEqual([
      'custom',
      'store',
      { minTtlMs: 2_000, minWriteIntervalMs: 500 },
      1_234,
      undefined,
      undefined,
    ]);
    const fused = instrument(new MemoryStore({ clockSource: 'client' }), { tracer: null, meter: null });
    expect([fused.clockSource, typeof fused.claim, typeof fused.releaseHolder, 'limits' in fused, 'timeoutMs' in fused]).toEqual([
      'client',
      'function',
      'function',
      false,
      false,
    ]);
    const name = unique('otel-off');
    expect((await tryLead(fused, { name, holder: 'a' })).isLeader).toBe(true);
    expect(spansOf(name)).toEqual([]);
  });

  it('an exporter or tracer that throws never changes an answer', async () => {
    const throwing = {
      startSpan() {
        throw new Error('tracer bug');
      },
    };
    const store = instrument(new MemoryStore(), { tracer: throwing as never, meter: null });
    expect((await tryLead(store, { name: unique('otel-throw'), holder: 'a' })).isLeader).toBe(true);
  });
});

it('uses the global providers when no tracer or meter is passed', async () => {
  const globalSpans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(globalSpans)] });
  expect(trace.setGlobalTracerProvider(provider)).toBe(true);
  try {
    const name = unique('otel-global');
    await tryLead(instrument(new MemoryStore()), { name, holder: 'a' });
    expect(globalSpans.getFinishedSpans().map((s) => [s.name, s.instrumentationScope.name])).toEqual([['leasehold claim', 'leasehold']]);
  } finally {
    trace.disable();
    await provider.shutdown();
  }
});
