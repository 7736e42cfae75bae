import { configDefaults, defineConfig } from 'vitest/config';

// The AWS SDK warns once per process that its releases after January 2027 need Node 22; vitest runs many processes,
// so say it once here and silence the copies (the SDK's own switch; set before any worker starts, so they inherit it).
if (Number(process.versions.node.split('.')[0]) < 22 && process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.stderr.write(
    `[leasehold] note: AWS SDK v3 releases after January 2027 need Node 22; this is Node ${process.versions.node} (the SDK's per-process warning is silenced)\n`,
  );
}

// Two projects, by one rule: the unit project is `test/core/**` and every `*.unit.test.ts` anywhere under `test/`
// (the memory store and a manual clock: no engine, no engine global setup, seconds); the engines project is every
// other test file, with the global setups that start PostgreSQL, DynamoDB Local, the Firestore emulator and Redis.
// `vitest run` runs both; `vitest run --project unit` (npm run test:unit) only the first, and starts no engine.
const UNIT = ['test/core/**/*.test.ts', 'test/**/*.unit.test.ts'];

export default defineConfig({
  // `leasehold/...` (as the examples and infra import it) resolves through tsconfig.json "paths" to the sources.
  resolve: { tsconfigPaths: true },
  test: {
    // The default reporter, then what was skipped and why (test/support/skip-summary.ts).
    reporters: ['default', './test/support/skip-summary.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'engines',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT],
          globalSetup: ['test/setup/postgres.ts', 'test/setup/dynamodb.ts', 'test/setup/firestore.ts', 'test/setup/redis.ts'],
        },
      },
    ],
  },
});
