/** Collects the fault tests' figures in .tmp/safety/ for `npm run safety` to write into SAFETY.md. */
import { mkdirSync, writeFileSync } from 'node:fs';

/** Writes `figures` as `.tmp/safety/<kind>-<engine>.json`; `scripts/safety-report.ts` reads them back by kind. */
export function recordFigures(engine: string, kind: string, figures: object): void {
  mkdirSync('.tmp/safety', { recursive: true });
  writeFileSync(`.tmp/safety/${kind}-${engine.replace(/[^a-z0-9-]/gi, '_')}.json`, JSON.stringify({ engine, kind, figures }, null, 2));
}

/** What `test/system/load.test.ts` records per engine (kind `load`), and `scripts/safety-report.ts` reads back. */
export interface LoadFigures {
  names: number;
  contenders: number;
  rounds: number;
  writes: number;
  reads: number;
  roundMs: number[];
  verifyMs: number;
  totalMs: number;
  boundMs: number;
  mismatches: number;
  renewed: number;
  released: number;
  expired: number;
}
