/**
 * Vitest global setup: a real PostgreSQL for the tests. Uses DATABASE_URL when set; otherwise starts a throwaway
 * cluster (test/support/engines.ts: initdb into a temp dir, trust auth, a free port on 127.0.0.1, fsync off) and
 * removes it afterwards.
 */
import type { TestProject } from 'vitest/node';
import { startThrowawayPostgres } from '../support/engines.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** Provides `databaseUrl` to the tests: DATABASE_URL, or a throwaway cluster started here and removed on teardown. */
export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.DATABASE_URL) {
    project.provide('databaseUrl', process.env.DATABASE_URL);
    return () => {};
  }
  const started = Date.now();
  const pg = await startThrowawayPostgres();
  process.stderr.write(`[leasehold] throwaway PostgreSQL at ${pg.url} (started in ${Date.now() - started} ms)\n`);
  project.provide('databaseUrl', pg.url);
  return pg.stop;
}
