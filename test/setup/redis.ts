/**
 * Vitest global setup: a real Redis for the tests. Uses LEASEHOLD_TEST_REDIS_URL when set (a name of its own, so a REDIS_URL meant for something else is never used); otherwise starts a private
 * `redis-server` from the machine's binary (Debian: apt-get install -y redis-server) on a free port of 127.0.0.1,
 * with no persistence (`--save ''`, `--appendonly no`), and stops that process (by its pid) afterwards. The
 * machine's own Redis (6379) is never used.
 */
import type { TestProject } from 'vitest/node';
import { startPrivateRedis } from '../support/engines.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Provides `redisUrl` to the tests: LEASEHOLD_TEST_REDIS_URL, or a private redis-server started here and stopped on teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.LEASEHOLD_TEST_REDIS_URL) {
    project.provide('redisUrl', process.env.LEASEHOLD_TEST_REDIS_URL);
    return async () => {};
  }
  const started = Date.now();
  const redis = await startPrivateRedis();
  process.stderr.write(`[leasehold] private redis-server at ${redis.url} (started in ${Date.now() - started} ms)\n`);
  project.provide('redisUrl', redis.url);
  return redis.stop;
}
