/**
 * `npx tsx bench/instrument-overhead.ts`: the CPU that `leasehold/otel` and `leasehold/logger` add to a `tryLead()`,
 * measured on the memory store (no I/O, so only the library's own time shows). Cases run interleaved, 9 rounds of
 * 10 000 renewals each; the best round of each case is printed, in µs per call. A database round trip (hundreds of
 * µs on a local Postgres, milliseconds on DynamoDB) is the figure to hold these against.
 */
import { Writable } from 'node:stream';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { type Store, tryLead } from '../src/index.js';
import { withLogger } from '../src/logger/index.js';
import { instrument } from '../src/otel/index.js';
import { MemoryStore } from '../src/stores/memory.js';

const spans = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('bench');
const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
const meter = new MeterProvider({ readers: [reader] }).getMeter('leasehold');
const sink = new Writable({
  write(_chunk, _encoding, done) {
    done();
  },
});

const cases: [string, Store][] = [
  ['memory store, bare', new MemoryStore()],
  ['instrument(), no OpenTelemetry SDK registered', instrument(new MemoryStore())],
  ['instrument(), tracer and meter null (decorator alone)', instrument(new MemoryStore(), { tracer: null, meter: null })],
  ['instrument(), SDK with in-memory exporters', instrument(new MemoryStore(), { tracer, meter })],
  ["withLogger(pino), level 'info'", withLogger(new MemoryStore(), pino({ level: 'info' }, sink))],
  ["withLogger(pino), level 'debug' (a line per call)", withLogger(new MemoryStore(), pino({ level: 'debug' }, sink), { level: 'debug' })],
];
const CALLS = 10_000;
const best = new Map<string, number>();
for (let round = 0; round < 9; round++) {
  for (const [label, store] of cases) {
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) await tryLead(store, { name: `bench-${i % 10}`, holder: 'a', ttlMs: 60_000 });
    best.set(label, Math.min(best.get(label) ?? Number.POSITIVE_INFINITY, ((performance.now() - start) / CALLS) * 1000));
    spans.reset();
  }
}
console.log('| case | µs per tryLead (best of 9 rounds) |\n| --- | --- |');
for (const [label, us] of best) console.log(`| ${label} | ${us.toFixed(1)} |`);
await reader.shutdown();
