import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `leasehold/...` (as the examples and infra import it) resolves through tsconfig.json "paths" to the sources.
  resolve: { tsconfigPaths: true },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/postgres.ts', 'test/setup/dynamodb.ts', 'test/setup/firestore.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
