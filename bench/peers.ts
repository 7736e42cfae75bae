/**
 * dynamodb-lock-client (a peer) as its README runs it: the AWS SDK v2 DocumentClient, callbacks. Its requests are
 * counted by wrapping that client's get/put/delete.
 */
import { createRequire } from 'node:module';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requests } from './measure.js';

const require = createRequire(import.meta.url);

interface Lock {
  release(callback: (error?: Error) => void): void;
  fencingToken?: number;
}
type Acquire = (id: string, callback: (error: Error | null, lock: Lock) => void) => void;

/** Creates dynamodb-lock-client's table `peerTable` (a partition key `id` only). */
export async function createPeerTable(client: DynamoDBClient, peerTable: string): Promise<void> {
  const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
  await client.send(
    new CreateTableCommand({
      TableName: peerTable,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    }),
  );
}

/** FailClosed and FailOpen (with fencing tokens) acquire + release, each one promise. */
export async function peerDynamoDBLockClient(
  endpoint: string,
  table: string,
): Promise<{ failClosed: (id: string) => Promise<void>; failOpen: (id: string) => Promise<void>; destroy: () => void }> {
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
  const AWS = require('aws-sdk') as { DynamoDB: { DocumentClient: new (o: object) => Record<string, (...a: unknown[]) => unknown> } };
  const DynamoDBLockClient = require('dynamodb-lock-client') as {
    FailClosed: new (o: object) => { acquireLock: Acquire };
    FailOpen: new (o: object) => { acquireLock: Acquire };
  };
  const doc = new AWS.DynamoDB.DocumentClient({ endpoint, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local' });
  for (const method of ['get', 'put', 'delete', 'update']) {
    const original = doc[method] as (...a: unknown[]) => unknown;
    doc[method] = (...args: unknown[]) => {
      requests.n++;
      return original.apply(doc, args);
    };
  }
  const closed = new DynamoDBLockClient.FailClosed({ dynamodb: doc, lockTable: table, partitionKey: 'id', acquirePeriodMs: 10_000, retryCount: 0 });
  const open = new DynamoDBLockClient.FailOpen({
    dynamodb: doc,
    lockTable: table,
    partitionKey: 'id',
    leaseDurationMs: 60_000,
    trustLocalTime: true,
    retryCount: 0,
  });
  const cycle = (client: { acquireLock: Acquire }, id: string) =>
    new Promise<void>((resolve, reject) => {
      client.acquireLock(id, (error, lock) => {
        if (error) return reject(error);
        lock.release((e) => (e ? reject(e) : resolve()));
      });
    });
  return { failClosed: (id) => cycle(closed, id), failOpen: (id) => cycle(open, id), destroy: () => {} };
}
