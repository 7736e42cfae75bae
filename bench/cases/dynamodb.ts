/**
 * The DynamoDB Local cases: leasehold's calls against the raw `UpdateItem`/`GetItem` requests shaped as the store
 * sends them, and against dynamodb-lock-client and @deliveryhero/dynamodb-lock; then the hot loop, contention and
 * failover (on client clocks, so with the skew margin).
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocument } from '@aws-sdk/lib-dynamodb';
import { dynamoDBLockClientFactory } from '@deliveryhero/dynamodb-lock';
import type { Store } from '../../src/index.js';
import { countedDynamoDBClient, DynamoDBStore, expectLeader, lead, lib } from '../harness.js';
import { compare, ratios } from '../measure.js';
import { createPeerTable, peerDynamoDBLockClient } from '../peers.js';
import { emptyPart, type ReportPart } from '../report.js';
import { SCALE } from '../settings.js';
import { contention } from './contention.js';
import { failover } from './failover.js';
import { hotLoop } from './hot-loop.js';

const { getLeader, ManualClock, release, tryLead } = lib;

/** Runs the DynamoDB cases on DynamoDB Local at `endpoint`. */
export async function dynamodbCases(endpoint: string): Promise<ReportPart> {
  const part = emptyPart();
  const client = countedDynamoDBClient(endpoint);
  const table = `leasehold-bench-${Date.now()}`;
  const ddb = new DynamoDBStore({ client, table });
  await ddb.createTable();
  // The peers' tables: dynamodb-lock-client's (partition key only), @deliveryhero's (lockId + lockGroup).
  const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
  const peerTable = `${table}-dlc`;
  const dhTable = `${table}-dh`;
  await createPeerTable(client, peerTable);
  await client.send(
    new CreateTableCommand({
      TableName: dhTable,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'lockId', KeyType: 'HASH' },
        { AttributeName: 'lockGroup', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'lockId', AttributeType: 'S' },
        { AttributeName: 'lockGroup', AttributeType: 'S' },
      ],
    }),
  );
  const dh = dynamoDBLockClientFactory(DynamoDBDocument.from(client), { tableName: dhTable });
  const dlc = await peerDynamoDBLockClient(endpoint, peerTable);

  const rounds = Math.ceil(400 * SCALE);
  // Warm-up as long as the group's pg counterpart (~300 calls of each case): every case runs once per round, so the
  // SDK's code (shared by all cases) is optimised long before any one case's own code is; medians of the steady state.
  const warmup = Math.ceil(300 * SCALE);
  const anHourAgo = new ManualClock(Date.now() - 3_600_000);
  const coldStores = Array.from({ length: warmup + rounds }, () => new DynamoDBStore({ client, table }));
  for (let i = 0; i < warmup + rounds; i++) await tryLead(ddb, { name: `expired-${i}`, holder: 'previous', ttlMs: 60_000, clock: anHourAgo });
  // The same lease length as the cases below: a renewal may only lengthen a lease, so a shorter one is refused.
  await lead(ddb, 'steady', 'leader', 60_000);
  await lead(ddb, 'cycle', 'leader', 60_000);
  await expectLeader('DynamoDB renew', lead(ddb, 'steady', 'leader', 60_000), true);
  await expectLeader('DynamoDB refused claim', lead(ddb, 'steady', 'follower', 60_000), false);
  // Raw requests shaped as the store sends them (same attributes, conditions and return values), for the floors.
  const raw = (input: Record<string, unknown>, abortSignal?: AbortSignal) =>
    client.send(
      new UpdateItemCommand({ TableName: table, ReturnValues: 'ALL_NEW', ReturnValuesOnConditionCheckFailure: 'ALL_OLD', ...input } as never),
      abortSignal ? { abortSignal } : undefined,
    );
  let rawVersion = 'v0';
  const rawRenew = async (abortSignal?: AbortSignal) => {
    const v = crypto.randomUUID();
    const now = Date.now();
    await raw(
      {
        Key: { pk: { S: 'raw-steady' } },
        UpdateExpression: 'SET #e = :e, #v = :v REMOVE #d',
        ConditionExpression: '#h = :h AND #v = :seen AND #e >= :cut AND #e <= :e',
        ExpressionAttributeNames: { '#e': 'expiresAt', '#v': 'version', '#d': 'data', '#h': 'holder' },
        ExpressionAttributeValues: {
          ':e': { N: String(now + 600_000) },
          ':v': { S: v },
          ':h': { S: 'leader' },
          ':seen': { S: rawVersion },
          ':cut': { N: String(now - 1000) },
        },
      },
      abortSignal,
    );
    rawVersion = v;
  };
  const rawAcquire = (name: string, holder: string) => {
    const now = Date.now();
    return raw({
      Key: { pk: { S: name } },
      UpdateExpression: 'SET #h = :h, #t = if_not_exists(#t, :seed) + :one, #a = :now, #e = :e, #v = :v REMOVE #d',
      ConditionExpression: 'attribute_not_exists(#pk) OR attribute_not_exists(#h) OR #e < :cut',
      ExpressionAttributeNames: { '#h': 'holder', '#t': 'token', '#a': 'acquiredAt', '#e': 'expiresAt', '#v': 'version', '#d': 'data', '#pk': 'pk' },
      ExpressionAttributeValues: {
        ':h': { S: holder },
        ':seed': { N: String(now - 1) },
        ':one': { N: '1' },
        ':now': { N: String(now) },
        ':e': { N: String(now + 600_000) },
        ':v': { S: crypto.randomUUID() },
        ':cut': { N: String(now - 1000) },
      },
    }).catch((e: { name?: string }) => {
      if (e.name !== 'ConditionalCheckFailedException') throw e;
    });
  };
  const rawRelease = (name: string, holder: string) =>
    raw({
      Key: { pk: { S: name } },
      UpdateExpression: 'SET #e = :now, #v = :v REMOVE #h, #a, #d',
      ConditionExpression: '#h = :h',
      ExpressionAttributeNames: { '#h': 'holder', '#a': 'acquiredAt', '#e': 'expiresAt', '#v': 'version', '#d': 'data' },
      ExpressionAttributeValues: { ':h': { S: holder }, ':now': { N: String(Date.now()) }, ':v': { S: crypto.randomUUID() } },
    });
  await raw({
    Key: { pk: { S: 'raw-steady' } },
    UpdateExpression: 'SET #h = :h, #e = :e, #v = :v, #t = :one',
    ExpressionAttributeNames: { '#h': 'holder', '#e': 'expiresAt', '#v': 'version', '#t': 'token' },
    ExpressionAttributeValues: { ':h': { S: 'leader' }, ':e': { N: String(Date.now() + 600_000) }, ':v': { S: rawVersion }, ':one': { N: '1' } },
  });
  const FLOOR = 'floor: raw UpdateItem, shaped as a renewal';
  const FLOOR_REFUSED = 'floor: raw UpdateItem refused (ConditionalCheckFailed, ALL_OLD)';
  const FLOOR_CYCLE = 'floor: raw UpdateItem acquire + UpdateItem release';
  const rows = await compare('DynamoDB Local', rounds, warmup, [
    { label: FLOOR, kind: 'floor', run: () => rawRenew() },
    {
      // What any request bounded by an abort signal costs the SDK (leasehold passes one, so a call past its bound stops).
      label: 'reference: raw UpdateItem, shaped as a renewal, with an abort signal',
      kind: 'reference',
      run: () => rawRenew(new AbortController().signal),
    },
    {
      label: 'reference: raw UpdateItem, minimal (one attribute)',
      kind: 'reference',
      run: (i) =>
        client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: { S: 'minimal' } },
            UpdateExpression: 'SET #n = :n',
            ExpressionAttributeNames: { '#n': 'n' },
            ExpressionAttributeValues: { ':n': { N: String(i) } },
          }),
        ),
    },
    { label: FLOOR_REFUSED, kind: 'floor', floor: FLOOR_REFUSED, run: () => rawAcquire('raw-steady', 'follower') },
    { label: FLOOR_CYCLE, kind: 'floor', floor: FLOOR_CYCLE, run: () => rawAcquire('raw-cycle', 'leader').then(() => rawRelease('raw-cycle', 'leader')) },
    {
      label: 'floor: raw GetItem (consistent)',
      kind: 'floor',
      floor: 'floor: raw GetItem (consistent)',
      run: () => client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'steady' } }, ConsistentRead: true })),
    },
    { label: 'tryLead renew', kind: 'leasehold', run: () => lead(ddb, 'steady', 'leader', 60_000) },
    { label: 'tryLead refused', kind: 'leasehold', floor: FLOOR_REFUSED, run: () => lead(ddb, 'steady', 'follower', 60_000) },
    { label: 'tryLead claim from nothing', kind: 'leasehold', run: (i) => lead(ddb, `fresh-${i}`, 'leader', 60_000) },
    {
      label: 'tryLead takeover of an expired lease, cold store',
      kind: 'leasehold',
      // A new store's first call (nothing cached), as a cold Lambda's; the store is built beforehand, at "init".
      run: (i) => lead(coldStores[i] as Store, `expired-${i}`, 'leader', 60_000),
    },
    {
      label: 'tryLead + release (2 calls)',
      kind: 'leasehold',
      floor: FLOOR_CYCLE,
      run: () => lead(ddb, 'cycle', 'leader', 60_000).then(() => release(ddb, { name: 'cycle', holder: 'leader' })),
    },
    { label: 'getLeader', kind: 'leasehold', floor: 'floor: raw GetItem (consistent)', run: () => getLeader(ddb, 'steady') },
    { label: 'peer: dynamodb-lock-client FailClosed acquire + release', kind: 'peer', floor: FLOOR_CYCLE, run: () => dlc.failClosed('dlc-closed') },
    { label: 'peer: dynamodb-lock-client FailOpen (fencing) acquire + release', kind: 'peer', floor: FLOOR_CYCLE, run: () => dlc.failOpen('dlc-open') },
    {
      label: 'peer: @deliveryhero/dynamodb-lock lock + release',
      kind: 'peer',
      floor: FLOOR_CYCLE,
      run: async () => dh.releaseLock(await dh.lock('bench', 'dh', { leaseDurationInMs: 60_000, prolongLeaseEnabled: false, maxRetryCount: 0 })),
    },
  ]);
  part.sections.push({
    title: 'DynamoDB Local (the real AWS engine, loopback)',
    intro:
      'Each leasehold case is divided by the raw SDK request(s) that do the same work through the same client: a renewal, a claim from nothing and a cold takeover by one `UpdateItem` shaped as the store sends it; a refused claim by an `UpdateItem` whose condition fails (`ConditionalCheckFailedException` with `ALL_OLD`; leasehold’s refused case is a store that saw the lease live, so it reads); claim + release by two; `getLeader` by one consistent `GetItem`. The peers are divided by the raw acquire + release. dynamodb-lock-client counts its requests through its own (v2) SDK.',
    rows,
  });
  const r = new Map(ratios(rows).map((x) => [x.label, x]));
  part.abortSignalCost = r.get('reference: raw UpdateItem, shaped as a renewal, with an abort signal');
  for (const label of [
    'tryLead renew',
    'tryLead refused',
    'tryLead + release (2 calls)',
    'tryLead claim from nothing',
    'tryLead takeover of an expired lease, cold store',
  ]) {
    part.targets.push({ what: `group: DynamoDB ${label} (p50 ÷ matching raw)`, ratio: r.get(label)?.r50 ?? Number.NaN, target: 1.1 });
  }
  part.hotRows.push(await hotLoop('DynamoDB Local', ddb, rows[0]?.p50 ?? Number.NaN));
  part.contentionRows.push(...(await contention('DynamoDB Local', ddb, (name, holder) => rawAcquire(name, holder))));
  part.failoverRows.push(...(await failover('DynamoDB Local', ddb, 100)));
  dlc.destroy();
  client.destroy();
  return part;
}
