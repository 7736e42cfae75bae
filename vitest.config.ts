import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/postgres.ts', 'test/setup/dynamodb.ts', 'test/setup/firestore.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
