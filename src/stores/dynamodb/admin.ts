/**
 * The DynamoDB store's administration: creating the table (development and tests) and checking that a table has the
 * store's key and one writable home region.
 * @module
 */
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { isLeaseholdError, LeaseholdError } from '../../errors.js';
import { Refusal } from './expressions.js';
import { type DynamoDBLayout, describeKey, invalid } from './options.js';

/** The store's send: a command's answer, or a failed condition as a {@link Refusal}. */
type Send = <T>(command: object) => Promise<T | Refusal>;

/** What {@link DynamoDBStore.checkTable} does; `send` is the store's (its errors say what to do). */
export async function checkTable(layout: DynamoDBLayout, send: Send): Promise<void> {
  type Described = { Table?: { KeySchema?: { AttributeName?: string; KeyType?: string }[]; Replicas?: unknown[]; MultiRegionConsistency?: string } };
  const out = await send<Described>(new DescribeTableCommand({ TableName: layout.table })).catch((error: unknown) => {
    throw setupFailure(error, layout.table, 'checkTable()', 'dynamodb:DescribeTable');
  });
  if (out instanceof Refusal) throw new LeaseholdError('STORE_CORRUPT', 'dynamodb store: DescribeTable failed a condition');
  const table = out.Table ?? {};
  const hash = table.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = table.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (hash !== layout.partitionKey || range !== layout.sortKey?.name) {
    throw invalid(
      `table ${layout.table} has partition key ${JSON.stringify(hash)}${range ? ` and sort key ${JSON.stringify(range)}` : ''}, but this store writes ${describeKey(layout)}; set partitionKey/sortKey to match`,
    );
  }
  if ((table.Replicas?.length ?? 0) > 0 && table.MultiRegionConsistency !== 'STRONG') {
    throw invalid(
      `table ${layout.table} is a global table with eventually consistent replicas: a conditional write in one region does not see a concurrent one in another, so two leaders could be elected. Keep leases in a single-region table that every region writes to, or use multi-region strong consistency`,
    );
  }
}

/** What {@link DynamoDBStore.createTable} does; `check` is the store's checkTable(). */
export async function createTable(client: DynamoDBClient, layout: DynamoDBLayout, check: () => Promise<void>): Promise<void> {
  const keys = [
    { AttributeName: layout.partitionKey, KeyType: 'HASH' as const },
    ...(layout.sortKey ? [{ AttributeName: layout.sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
  try {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: layout.table,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: keys,
          AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName, AttributeType: 'S' as const })),
        }),
      );
    } catch (error) {
      // The table exists, or another caller is creating it right now: wait for it like for our own.
      if ((error as { name?: unknown }).name !== 'ResourceInUseException') throw error;
    }
    await waitUntilActive(client, layout.table);
    if (layout.ttlAttribute) await enableTtl(client, layout.table, layout.ttlAttribute);
    await check();
  } catch (error) {
    const rights = `dynamodb:CreateTable, dynamodb:DescribeTable${layout.ttlAttribute ? ', dynamodb:UpdateTimeToLive, dynamodb:DescribeTimeToLive' : ''}`;
    throw setupFailure(error, layout.table, 'createTable()', rights);
  }
}

/** Polls `DescribeTable` until the table is `ACTIVE` (at most 5 minutes): 100 ms apart at first, then every second. */
async function waitUntilActive(client: DynamoDBClient, table: string): Promise<void> {
  const deadline = performance.now() + 5 * 60_000;
  for (let i = 0; ; i++) {
    try {
      const out = await client.send(new DescribeTableCommand({ TableName: table }));
      if (out.Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      // DescribeTable is eventually consistent: just after a CreateTable it may not see the table yet.
      if ((error as { name?: unknown }).name !== 'ResourceNotFoundException') throw error;
    }
    if (performance.now() > deadline) throw new LeaseholdError('STORE_UNAVAILABLE', `dynamodb store: table ${table} did not become ACTIVE within 5 minutes`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** i)));
  }
}

/**
 * Enables TTL on `attribute`. DynamoDB takes one change of a table's TTL at a time and refuses the others with a
 * `ValidationException` ("already enabled", or "modified multiple times within a fixed interval" while one is
 * being applied): after a refusal, the table's TTL state decides.
 */
async function enableTtl(client: DynamoDBClient, table: string, attribute: string): Promise<void> {
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
  } catch (error) {
    if ((error as { name?: unknown }).name !== 'ValidationException') throw error;
    const ttl = (await client.send(new DescribeTimeToLiveCommand({ TableName: table }))).TimeToLiveDescription;
    const on = ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING';
    if (on && ttl?.AttributeName === attribute) return;
    if (on) {
      throw invalid(
        `table ${table} has TTL on attribute ${JSON.stringify(ttl?.AttributeName)}, but this store's ttlAttribute is ${JSON.stringify(attribute)}; set ttlAttribute to match (a table has one TTL attribute)`,
      );
    }
    throw error;
  }
}

/** A failed createTable() or checkTable() as a LeaseholdError that says what to do; the SDK's error is its cause. */
function setupFailure(error: unknown, table: string, what: string, rights: string): LeaseholdError {
  if (isLeaseholdError(error)) return error;
  const e = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const detail = typeof e.message === 'string' ? e.message : String(error);
  let advice: string;
  if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|Credentials/.test(name)) {
    advice = `the credentials were refused or lack rights: ${what} needs ${rights} on the table (or create it with your infrastructure tool)`;
  } else if (typeof e.$metadata?.httpStatusCode !== 'number') {
    advice = `DynamoDB could not be reached: check the region, endpoint and network, then call ${what} again`;
  } else {
    advice = `call ${what} again, or create the table with your infrastructure tool`;
  }
  return new LeaseholdError('STORE_UNAVAILABLE', `dynamodb store: ${what} on ${table} failed (${name}: ${detail}); ${advice}`, { cause: error });
}
