/** Collects the fault tests' figures in .tmp/safety/ for `npm run safety` to write into SAFETY.md. */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { SimulationReport } from './fault-simulation.js';

export function recordFigures(engine: string, kind: string, figures: SimulationReport[] | Record<string, unknown>): void {
  mkdirSync('.tmp/safety', { recursive: true });
  writeFileSync(`.tmp/safety/${kind}-${engine.replace(/[^a-z0-9-]/gi, '_')}.json`, JSON.stringify({ engine, kind, figures }, null, 2));
}
