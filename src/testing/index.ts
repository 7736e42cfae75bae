/**
 * `leasehold/testing`: the one conformance suite every store passes, against a real engine.
 * Third parties call {@link describeStoreConformance} from a vitest file to test their own store.
 * The cases live beside this file, one file per concern (`lease-cases.ts`, `fault-cases.ts`, `job-cases.ts`,
 * `schedule-cases.ts`, `input-cases.ts`), and run in that order.
 * @module
 */
import { afterEach, describe } from 'vitest';
import { type ConformanceHarness, type ConformanceOptions, conformanceContext } from './context.js';
import { faultCases } from './fault-cases.js';
import { inputCases } from './input-cases.js';
import { jobCases } from './job-cases.js';
import { leaseCases } from './lease-cases.js';
import { scheduleCases } from './schedule-cases.js';

export type { ConformanceHarness, ConformanceOptions } from './context.js';
export { type FaultyStore, genericOnly, type WriteFault, withFaults } from './faults.js';

/**
 * Defines the conformance suite for one store, run twice when the store has fused paths: once through
 * them and once through the core's generic read → create/compare-and-swap path, so the two must agree.
 * @example
 * describeStoreConformance('memory', () => { const clock = new ManualClock(); return { clock, store: new MemoryStore({ clock }) } })
 */
export function describeStoreConformance(label: string, setup: () => ConformanceHarness | Promise<ConformanceHarness>, options: ConformanceOptions = {}): void {
  for (const path of ['fused', 'generic'] as const) {
    describe(`${label} conformance (${path} path)`, () => {
      const c = conformanceContext(path, setup, options);
      afterEach(async () => {
        await c.h?.cleanup?.();
      });
      leaseCases(c);
      faultCases(c);
      jobCases(c);
      scheduleCases(c);
      inputCases(c);
    });
  }
}
