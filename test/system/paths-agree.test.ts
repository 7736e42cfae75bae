/**
 * Property test (fast-check): a store's fused one-round-trip path and the core's generic
 * read → create / compare-and-swap path agree on every random sequence of claims, releases and expiries.
 * Replay a failure with the seed and path fast-check prints.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { release, tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { DynamoDBStore } from '../../src/stores/dynamodb/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { genericOnly } from '../../src/testing/faults.js';
import { localClient } from '../support/engines.js';

type Command = { op: 'claim'; holder: number } | { op: 'release'; holder: number } | { op: 'expire' } | { op: 'tick'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('claim' as const), holder: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), holder: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'expire' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 4_000 }) }) },
);

const TTL = 10_000;
const SKEW = 1_000;
let run = 0;

/** Runs `commands` on one name through `store`; returns what a caller observes at each step. */
async function observe(store: Store, clock: ManualClock, name: string, commands: Command[], expire: (name: string) => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  let firstToken: number | undefined;
  let lastAcquiredAt: number | null = null;
  const rel = (t: number) => {
    firstToken ??= t;
    return t - firstToken; // tokens may start at different absolute values; their steps must agree
  };
  for (const c of commands) {
    if (c.op === 'claim') {
      const r = await tryLead(store, { name, holder: `h${c.holder}`, ttlMs: TTL, maxClockSkewMs: SKEW, clock });
      // Whether the acquisition time moved since the last claim's answer (absolute times differ per engine clock).
      const acquiredMoved = r.acquiredAt !== lastAcquiredAt;
      lastAcquiredAt = r.acquiredAt;
      seen.push({
        claim: c.holder,
        isLeader: r.isLeader,
        leader: r.leader,
        token: r.token === 0 ? 0 : rel(r.token),
        remaining: r.remainingMs(),
        acquiredMoved,
      });
    } else if (c.op === 'release') {
      seen.push({ release: c.holder, released: await release(store, { name, holder: `h${c.holder}`, clock }) });
    } else if (c.op === 'expire') {
      await expire(name);
      seen.push('expired');
    } else {
      clock.advance(c.ms);
    }
  }
  return seen;
}

async function agree(makeStore: (clock: ManualClock) => Store, expireWith: (clock: ManualClock) => (name: string) => Promise<void>, numRuns: number) {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
      const results = [];
      for (const path of ['fused', 'generic'] as const) {
        const clock = new ManualClock();
        const store = makeStore(clock);
        const name = `agree-${path}-${run}`;
        results.push(await observe(path === 'fused' ? store : genericOnly(store), clock, name, commands, expireWith(clock)));
      }
      run++;
      expect(results[1]).toEqual(results[0]);
    }),
    { numRuns },
  );
}

describe('fused and generic paths agree (fast-check)', () => {
  for (const clockSource of ['store', 'client'] as const) {
    it(`memory store, ${clockSource} clock`, async () => {
      await agree(
        (clock) => new MemoryStore({ clock, clockSource }),
        (clock) => async () => clock.advance(TTL + SKEW + 1),
        200,
      );
    });
  }

  describe('postgres', () => {
    const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
    const table = `leases_agree_${process.pid}`;
    beforeAll(async () => {
      await new PostgresStore({ pool, table }).migrate();
    });
    afterAll(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    });
    it('postgres (server clock; expiry by ageing the row)', async () => {
      await agree(
        () => new PostgresStore({ pool, table }),
        () => async (name) => {
          await pool.query(`UPDATE ${table} SET expires_at = statement_timestamp() - interval '1 ms' WHERE name = $1`, [name]);
        },
        40,
      );
    }, 60_000);
  });

  describe('dynamodb local', () => {
    const client = localClient(inject('dynamodbEndpoint'));
    const table = `leases-agree-${process.pid}`;
    beforeAll(async () => {
      await new DynamoDBStore({ client, table }).createTable();
    });
    it('dynamodb (client clock)', async () => {
      await agree(
        () => new DynamoDBStore({ client, table }),
        (clock) => async () => clock.advance(TTL + SKEW + 1),
        25,
      );
    }, 120_000);
  });
});
