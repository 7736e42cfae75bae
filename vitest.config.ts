import { defineConfig } from 'vitest/config';

// The AWS SDK warns once per process that its releases after January 2027 need Node 22; vitest runs many processes,
// so say it once here and silence the copies (the SDK's own switch; set before any worker starts, so they inherit it).
if (Number(process.versions.node.split('.')[0]) < 22 && process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.stderr.write(
    `[leasehold] note: AWS SDK v3 releases after January 2027 need Node 22; this is Node ${process.versions.node} (the SDK's per-process warning is silenced)\n`,
  );
}

export default defineConfig({
  // `leasehold/...` (as the examples and infra import it) resolves through tsconfig.json "paths" to the sources.
  resolve: { tsconfigPaths: true },
  test: {
    include: ['test/**/*.test.ts'],
    // The default reporter, then what was skipped and why (test/support/skip-summary.ts).
    reporters: ['default', './test/support/skip-summary.ts'],
    globalSetup: ['test/setup/postgres.ts', 'test/setup/dynamodb.ts', 'test/setup/firestore.ts', 'test/setup/redis.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
