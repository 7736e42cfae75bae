/**
 * Vitest global setup: DynamoDB Local, the real AWS engine, for the tests. Uses DYNAMODB_ENDPOINT when set;
 * otherwise starts DynamoDB Local (test/support/engines.ts: `DynamoDBLocal.jar` from the npm package
 * `amplify-dynamodb-simulator`, cached in `.tmp/dynamodb-local/`, run with Java in memory on a free port of
 * 127.0.0.1) and stops that process (by its pid) afterwards.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDBLocal } from '../support/engines.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

/** Provides `dynamodbEndpoint` to the tests: DYNAMODB_ENDPOINT, or a DynamoDB Local started here and stopped on teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DYNAMODB_ENDPOINT) {
    project.provide('dynamodbEndpoint', process.env.DYNAMODB_ENDPOINT);
    return async () => {};
  }
  const started = Date.now();
  const local = await startDynamoDBLocal();
  process.stderr.write(`[leasehold] DynamoDB Local at ${local.endpoint} (started in ${Date.now() - started} ms)\n`);
  project.provide('dynamodbEndpoint', local.endpoint);
  return local.stop;
}
