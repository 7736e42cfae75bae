/**
 * What every part of the bench shares: the built package (dist/, as users import it), the request counter on `pg`,
 * and the checks that a case does what its label says.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import type { Store } from '../src/index.js';
import { localClient } from '../test/support/engines.js';
import { requests } from './measure.js';

// What is measured is the built package (dist/, the tsc output users import; `npm run bench` builds it first), not
// the sources through tsx, whose transform adds helpers to every function the library defines. Typed by the sources.
const dist = (path: string) => import(new URL(`../dist/${path}`, import.meta.url).href);
export const lib = (await dist('index.js')) as typeof import('../src/index.js');
export const { DynamoDBStore } = (await dist('stores/dynamodb/index.js')) as typeof import('../src/stores/dynamodb/index.js');
export const { MemoryStore } = (await dist('stores/memory.js')) as typeof import('../src/stores/memory.js');
export const { PostgresStore } = (await dist('stores/postgres/index.js')) as typeof import('../src/stores/postgres/index.js');

// Every pg request is one Client.query (a pool's too, and advisory-lock's own clients): count round trips there.
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  requests.n++;
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

/** A client of DynamoDB Local whose every request counts in `requests` (leasehold's and the floors' alike). */
export function countedDynamoDBClient(endpoint: string): DynamoDBClient {
  const client = localClient(endpoint);
  client.middlewareStack.add(
    (next) => (args) => {
      requests.n++;
      return next(args);
    },
    { step: 'initialize', name: 'benchRequestCounter' },
  );
  return client;
}

/** `tryLead` on the system clock, as users run it (an injected clock would also cost DynamoDB a second real-time timer per request). */
export const lead = (store: Store, name: string, holder: string, ttlMs = 600_000) => lib.tryLead(store, { name, holder, ttlMs });

/** Checks before measuring that a case does what its label says (a renewal leads, a refused claim does not). */
export async function expectLeader(what: string, call: Promise<{ isLeader: boolean }>, leads: boolean): Promise<void> {
  const { isLeader } = await call;
  if (isLeader !== leads)
    throw new Error(`bench: ${what} should ${leads ? '' : 'not '}lead, and it did${leads ? ' not' : ''}: the case would measure something else`);
}

/** Prints a line. */
export const say = (line: string) => process.stdout.write(`${line}\n`);
