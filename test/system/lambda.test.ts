import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type JobInput, type JobOutcome, type LambdaContext, singletonJob } from '../../examples/lambda-scheduled/handler.js';
import { ManualClock } from '../../src/clock.js';
import { getLeader } from '../../src/lead.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { localClient } from '../support/engines.js';

const client = localClient(inject('dynamodbEndpoint'));
const table = `lambda_test_${process.pid}`;

beforeAll(async () => {
  await new DynamoDBStore({ client, table }).createTable();
});
afterAll(() => {
  client.destroy();
});

const context = (id: string): LambdaContext => ({ awsRequestId: id, getRemainingTimeInMillis: () => 60_000 });
const event = { id: 'evt', time: '2030-01-01T00:00:00Z' };

describe('lambda-scheduled example against DynamoDB Local', () => {
  it('25 concurrent invocations (own container each): exactly one runs the job per round, tokens rising', async () => {
    const name = `lambda-job-${Date.now()}`;
    const invocations = 25;
    let lastToken = 0;
    for (let round = 0; round < 4; round++) {
      const runs: JobInput[] = [];
      let skipped = 0;
      let allSkipped: () => void = () => {};
      const othersDone = new Promise<void>((resolve) => {
        allSkipped = resolve;
      });
      // The job outlasts the burst of invocations (as a real job outlasts EventBridge's duplicate deliveries):
      // it holds the lease until every other invocation has been turned away.
      const work = async (input: JobInput) => {
        runs.push(input);
        await Promise.race([othersDone, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      };
      const outcomes = await Promise.all(
        Array.from({ length: invocations }, async (_, i) => {
          // A new store per invocation: each concurrent invocation runs in its own Lambda container.
          const handler = singletonJob({ store: new DynamoDBStore({ client, table }), name, ttlMs: 30_000, work });
          // Each round is the next scheduled time: a new slot.
          const outcome: JobOutcome = await handler({ ...event, time: `2030-01-01T0${round}:00:00Z` }, context(`req-${round}-${i}`));
          if (!outcome.ran && ++skipped === invocations - 1) allSkipped();
          return outcome;
        }),
      );
      const ran = outcomes.filter((o) => o.ran);
      expect(runs).toHaveLength(1);
      expect(ran).toHaveLength(1);
      const winner = ran[0];
      if (!winner) throw new Error('unreachable');
      expect(runs[0]?.fencingToken).toBe(winner.token);
      expect(winner.token).toBeGreaterThan(lastToken);
      lastToken = winner.token;
      for (const o of outcomes) if (!o.ran) expect(o).toMatchObject({ reason: 'held', leader: winner.leader, token: winner.token });
      // Released in `finally`: the next scheduled run can lead at once.
      expect(await getLeader(new DynamoDBStore({ client, table }), name)).toBeNull();
    }
  });

  it('a duplicate delivery of a scheduled time that already ran does not run the job again; the next time does', async () => {
    const name = `lambda-dup-${Date.now()}`;
    let runs = 0;
    const handler = singletonJob({ store: new DynamoDBStore({ client, table }), name, ttlMs: 30_000, work: async () => void runs++ });
    expect(await handler(event, context('first'))).toMatchObject({ ran: true });
    expect(await handler(event, context('redelivered'))).toMatchObject({ ran: false, reason: 'done', leader: null });
    expect(runs).toBe(1);
    expect(await handler({ ...event, time: '2030-01-01T00:15:00Z' }, context('next'))).toMatchObject({ ran: true });
    expect(runs).toBe(2);
  });

  it('a frozen leader finds its leadership gone before its next side effect, while a newer run leads with a larger token', async () => {
    const clock = new ManualClock();
    const name = `lambda-frozen-${Date.now()}`;
    const store = new DynamoDBStore({ client, table });
    const effects: string[] = [];
    let newer: JobOutcome | undefined;
    const handler = singletonJob({
      store,
      name,
      ttlMs: 30_000,
      clock,
      work: async (input) => {
        effects.push(`frozen:${input.fencingToken}`);
        // Lambda froze this environment for a minute: the wall clock ran on (the monotonic one may not have).
        clock.jumpWall(60_000);
        // Meanwhile the next scheduled run found the lease expired and took it over.
        newer = await singletonJob({ store, name, ttlMs: 30_000, clock, work: async (i) => void effects.push(`newer:${i.fencingToken}`) })(
          event,
          context('next-run'),
        );
        // Thawed: the old leader re-checks before its next side effect, and stops.
        if (input.stillLeader()) effects.push('frozen:after-thaw');
      },
    });
    const outcome = await handler(event, context('frozen-run'));
    expect(outcome.ran).toBe(true);
    expect(newer).toMatchObject({ ran: true, leader: 'next-run' });
    expect(newer?.token).toBeGreaterThan(outcome.token);
    expect(effects).toEqual([`frozen:${outcome.token}`, `newer:${newer?.token}`]);
  });
});
