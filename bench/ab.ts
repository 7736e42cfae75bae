/**
 * A/B rows: leasehold against one floor at a time, nothing else in the rounds (two cases alternating, one pool of
 * one connection, one DynamoDB client), so that no third statement's cache traffic lands on either side. This is
 * how an outsider measures, and what the targets are judged on. `npm run bench -- --ab <row>` reruns one row.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { countedDynamoDBClient, DynamoDBStore, expectLeader, lead, lib, PostgresStore } from './harness.js';
import { type ABMeasured, abCompare, type Side } from './measure.js';
import { createPeerTable, peerDynamoDBLockClient } from './peers.js';

/** One A/B row: what it compares and the most A may cost as a multiple of B (p50), if there is a target. */
export interface ABRow {
  id: string;
  engine: 'postgres' | 'dynamodb';
  /** What A is, in the table. */
  what: string;
  /** What B (the floor) is, in the table. */
  vs: string;
  target?: number;
  /** Warm-up rounds for this row, when not the run's (a row that shows the JIT's steady state). */
  warmup?: number;
}

/** Every A/B row, in the order `npm run bench` runs them. */
export const AB_ROWS: ABRow[] = [
  { id: 'pg-renew', engine: 'postgres', what: 'tryLead renew (default)', vs: 'hand-written upsert, prepared', target: 1.05 },
  {
    id: 'pg-renew-steady',
    engine: 'postgres',
    what: 'tryLead renew (default), after 3 000 warm-up rounds (the JIT tiered up)',
    vs: 'hand-written upsert, prepared',
    warmup: 3_000,
  },
  { id: 'pg-refused', engine: 'postgres', what: 'tryLead refused (default)', vs: 'hand-written upsert, prepared (refused)', target: 1.1 },
  { id: 'pg-renew-unprepared', engine: 'postgres', what: 'tryLead renew, prepare: false', vs: 'hand-written upsert, prepared', target: 1.3 },
  {
    id: 'pg-refused-unprepared',
    engine: 'postgres',
    what: 'tryLead refused, prepare: false',
    vs: 'hand-written upsert, prepared (refused)',
    target: 1.3,
  },
  { id: 'ddb-renew', engine: 'dynamodb', what: 'tryLead renew', vs: 'minimal conditional UpdateItem' },
  { id: 'ddb-refused', engine: 'dynamodb', what: 'tryLead refused', vs: 'minimal conditional UpdateItem (refused)', target: 1.1 },
  {
    id: 'ddb-cycle-vs-dlc',
    engine: 'dynamodb',
    what: 'tryLead claim + release',
    vs: 'dynamodb-lock-client FailClosed acquire + release',
    target: 1,
  },
  { id: 'ddb-cycle', engine: 'dynamodb', what: 'tryLead claim + release', vs: 'minimal conditional UpdateItem (one write)' },
  { id: 'ddb-dlc', engine: 'dynamodb', what: 'dynamodb-lock-client FailClosed acquire + release', vs: 'minimal conditional UpdateItem (one write)' },
];

/** A row's two sides, ready to run (checked to do what their labels say). */
type Pairs = Map<string, { a: Side; b: Side; check: () => Promise<void> }>;

/** Postgres rows: one pool of one connection for both sides; the floor has its own table of the same shape. */
export async function postgresPairs(url: string): Promise<{ pairs: Pairs; close: () => Promise<void> }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const T = 'leasehold_ab';
  const F = 'leasehold_ab_floor';
  await pool.query(`DROP TABLE IF EXISTS ${T}, ${F}; DROP FUNCTION IF EXISTS ${T}_claim, ${T}_release`);
  await new PostgresStore({ pool, table: T }).migrate();
  await pool.query(
    `CREATE TABLE ${F} (name text PRIMARY KEY, holder text, token bigint NOT NULL, acquired_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, version text NOT NULL, data text)`,
  );
  const store = new PostgresStore({ pool, table: T });
  const unprepared = new PostgresStore({ pool, table: T, prepare: false });
  // The floor: the conditional upsert one writes by hand for a lease, prepared (named), as the outside harness has it.
  const HAND = `INSERT INTO ${F} AS t (name, holder, token, acquired_at, expires_at, version)
    VALUES ($1, $2, 1, now(), now() + $3 * interval '1 millisecond', $4)
    ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, version = EXCLUDED.version
    WHERE t.holder = EXCLUDED.holder OR t.expires_at <= now() RETURNING *`;
  const hand = (holder: string) => pool.query({ name: 'ab_hand', text: HAND, values: ['steady', holder, 600_000, crypto.randomUUID()] });
  await hand('leader');
  const floorRenew: Side = { label: 'hand-written upsert, prepared', run: () => hand('leader') };
  const floorRefused: Side = { label: 'hand-written upsert, prepared (refused)', run: () => hand('follower') };
  const checkFloor = async () => {
    if ((await hand('leader')).rowCount !== 1 || (await hand('follower')).rowCount !== 0) throw new Error('bench: the floor does not renew, or is not refused');
  };
  const pairs: Pairs = new Map();
  for (const [suffix, s, name] of [
    ['', store, 'steady'],
    ['-unprepared', unprepared, 'steady-unprepared'],
  ] as const) {
    await lead(s, name, 'leader');
    const renew = {
      a: { label: `tryLead renew${suffix ? ', prepare: false' : ''}`, run: () => lead(s, name, 'leader') },
      b: floorRenew,
      check: async () => {
        await checkFloor();
        await expectLeader('Postgres renew', lead(s, name, 'leader'), true);
      },
    };
    pairs.set(`pg-renew${suffix}`, renew);
    if (!suffix) pairs.set('pg-renew-steady', renew);
    pairs.set(`pg-refused${suffix}`, {
      a: { label: `tryLead refused${suffix ? ', prepare: false' : ''}`, run: () => lead(s, name, 'follower') },
      b: floorRefused,
      check: async () => {
        await checkFloor();
        await expectLeader('Postgres refused claim', lead(s, name, 'follower'), false);
      },
    });
  }
  return { pairs, close: () => pool.end() };
}

/** DynamoDB rows: one client for leasehold and the floor (dynamodb-lock-client brings its own v2 SDK, as its users run it). */
export async function dynamodbPairs(endpoint: string): Promise<{ pairs: Pairs; close: () => Promise<void> }> {
  const client = countedDynamoDBClient(endpoint);
  const table = `leasehold-ab-${Date.now()}`;
  const ddb = new DynamoDBStore({ client, table });
  await ddb.createTable();
  const peerTable = `${table}-dlc`;
  await createPeerTable(client, peerTable);
  const dlc = await peerDynamoDBLockClient(endpoint, peerTable);
  // The floor: the least a conditional lease write can be: holder and expiry, taken when absent, mine or expired;
  // a refusal returns the item that refused it (ReturnValuesOnConditionCheckFailure), as leasehold needs.
  const minimal = (name: string, holder: string) => {
    const now = Date.now();
    return client
      .send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: name } },
          UpdateExpression: 'SET #h = :h, #e = :e',
          ConditionExpression: 'attribute_not_exists(#h) OR #h = :h OR #e < :now',
          ExpressionAttributeNames: { '#h': 'holder', '#e': 'expiresAt' },
          ExpressionAttributeValues: { ':h': { S: holder }, ':e': { N: String(now + 60_000) }, ':now': { N: String(now) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      .then(
        () => true,
        (e: { name?: string }) => {
          if (e.name !== 'ConditionalCheckFailedException') throw e;
          return false;
        },
      );
  };
  await minimal('floor-steady', 'leader');
  await lead(ddb, 'steady', 'leader', 60_000);
  const checkFloor = async () => {
    if (!(await minimal('floor-steady', 'leader')) || (await minimal('floor-steady', 'follower')))
      throw new Error('bench: the DynamoDB floor does not renew, or is not refused');
  };
  const oneWrite: Side = { label: 'minimal conditional UpdateItem (one write)', run: () => minimal('floor-steady', 'leader') };
  const cycle: Side = {
    label: 'tryLead claim + release',
    run: () => lead(ddb, 'cycle', 'leader', 60_000).then(() => lib.release(ddb, { name: 'cycle', holder: 'leader' })),
  };
  const peer: Side = { label: 'dynamodb-lock-client FailClosed acquire + release', run: () => dlc.failClosed('dlc-closed') };
  const checkCycle = async () => {
    await expectLeader('DynamoDB claim after release', lead(ddb, 'cycle', 'leader', 60_000), true);
    if (!(await lib.release(ddb, { name: 'cycle', holder: 'leader' }))) throw new Error('bench: the DynamoDB release released nothing');
  };
  const pairs: Pairs = new Map([
    [
      'ddb-renew',
      {
        a: { label: 'tryLead renew', run: () => lead(ddb, 'steady', 'leader', 60_000) },
        b: { label: 'minimal conditional UpdateItem', run: () => minimal('floor-steady', 'leader') },
        check: async () => {
          await checkFloor();
          await expectLeader('DynamoDB renew', lead(ddb, 'steady', 'leader', 60_000), true);
        },
      },
    ],
    [
      'ddb-refused',
      {
        a: { label: 'tryLead refused', run: () => lead(ddb, 'steady', 'follower', 60_000) },
        b: { label: 'minimal conditional UpdateItem (refused)', run: () => minimal('floor-steady', 'follower') },
        check: async () => {
          await checkFloor();
          await expectLeader('DynamoDB refused claim', lead(ddb, 'steady', 'follower', 60_000), false);
        },
      },
    ],
    ['ddb-cycle-vs-dlc', { a: cycle, b: peer, check: checkCycle }],
    [
      'ddb-cycle',
      {
        a: cycle,
        b: oneWrite,
        check: async () => {
          await checkFloor();
          await checkCycle();
        },
      },
    ],
    ['ddb-dlc', { a: peer, b: oneWrite, check: checkFloor }],
  ]);
  return {
    pairs,
    close: async () => {
      dlc.destroy();
      client.destroy();
    },
  };
}

/** Runs `rows` (all of one engine) on `pairs`; returns what each measured. */
export async function runRows(rows: ABRow[], pairs: Pairs, rounds: number, warmup: number): Promise<Map<string, ABMeasured>> {
  const out = new Map<string, ABMeasured>();
  for (const row of rows) {
    const pair = pairs.get(row.id);
    if (!pair) throw new Error(`bench: no sides for A/B row ${row.id}`);
    await pair.check();
    out.set(row.id, await abCompare(`A/B ${row.id}`, pair.a, pair.b, rounds, row.warmup ?? warmup));
  }
  return out;
}
