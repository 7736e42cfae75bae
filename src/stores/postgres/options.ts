/**
 * The Postgres store's options and the checks of them: the structural pool type, table and schema names (validated
 * and quoted), whether the pool is node-postgres (named statements), and where push wake-ups listen.
 * @module
 */
import { LeaseholdError } from '../../errors.js';
import { describeValue } from '../../options.js';
import type { ListenSource, PostgresListenConnection } from './notify.js';

/**
 * Anything with `pg`'s `query(text, values)`: a `pg.Pool`, a `pg.Client`, `@neondatabase/serverless`, PGlite.
 * Typed structurally so leasehold does not depend on `pg` at type level.
 */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** A `pg` query config: named when the `prepare` option is on; `query_timeout` on node-postgres. */
export interface QueryConfig {
  name?: string;
  text: string;
  values: unknown[];
  query_timeout?: number;
}

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** Your pool or client (e.g. `new pg.Pool({ connectionString })`). leasehold never closes it. */
  pool: PostgresQueryable;
  /** Table name (default `leasehold_leases`): letters, digits and `_`, at most 63 characters. */
  table?: string;
  /** Schema (default: the connection's `search_path`): same rules as `table`. */
  schema?: string;
  /**
   * Named prepared statements (`pg`'s `{ name, text, values }`), parsed once per connection: the fastest mode.
   * - `'auto'` (default): on when `pool` is node-postgres (a `pg.Pool`, `pg.Client`, or a driver built on it such
   *   as `@neondatabase/serverless`'s `Pool`), off for anything else (PGlite, HTTP drivers). If the server then
   *   says a statement is missing or already exists (`26000`/`42P05`: a pooler that moves a connection's
   *   statements between server connections, as PgBouncer before 1.21 in transaction mode does), the store
   *   switches to unnamed statements for good and sends that statement again, which is safe because Postgres
   *   reports both before it executes anything.
   * - `true`: always, with no fallback. `false`: never (each statement is planned on every call; a call of the
   *   claim function stays cheap to plan, the inline statement does not).
   * With RDS Proxy, prepared statements pin the client to one database connection: use `false` there if the
   * proxy's multiplexing matters more to you than the few tens of microseconds per call.
   */
  prepare?: boolean | 'auto';
  /**
   * Bound of one library call on this store, in ms (default 5 000): `release()` and `getLeader()` settle within
   * it, `tryLead()` within it or the lease's validity window if shorter, then fail closed (`STORE_UNAVAILABLE`).
   * `pg` takes no abort signal: on node-postgres the store gives each statement this as pg's `query_timeout`, so
   * pg gives a stuck query up then and a `pg.Pool` closes its connection (the slot is free again). Also give your
   * pool a `connectionTimeoutMillis` (a connection that never completes is not a query yet), and the server a
   * `statement_timeout` if a query left behind must not run on.
   */
  timeoutMs?: number;
  /**
   * Push wake-ups (`LISTEN/NOTIFY`): a release or a handover notifies (in its own statement, no extra round trip),
   * and a following `Elector` claims at once instead of at its next poll. Polling stays the fallback: a notification
   * lost while the listening connection is down only costs the wait until the next poll.
   * - `'auto'` (default): on when `pool` is a `pg.Pool` with room for it (`max` of 2 or more): one connection of the
   *   pool per store table is held while any `Elector` of this process watches, taken on the first watch and closed
   *   when the last one stops; on an error it is dropped and taken again with a backoff (give the pool an
   *   `on('error')` listener, as for any `pg.Pool`). Off for anything else.
   * - A connected `pg.Client` (or `PoolClient`) of your own: listened on, never closed by leasehold. Use this behind
   *   PgBouncer in transaction mode (where `LISTEN` does not work): connect this one client to Postgres directly.
   * - `false`: never listen; followers poll (releases still notify, which costs nothing when nobody listens).
   */
  listen?: boolean | 'auto' | PostgresListenConnection;
}

/** Default table name. */
export const DEFAULT_POSTGRES_TABLE = 'leasehold_leases';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A table or schema name, checked (`INVALID_STORE` naming `option` otherwise) and double-quoted. */
export function quoteIdentifier(value: unknown, option: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new LeaseholdError(
      'INVALID_STORE',
      `postgres store: ${option} must be 1-63 letters, digits or _ not starting with a digit; got ${describeValue(value)}`,
    );
  }
  // Validated above, and quoted too: a reserved word or mixed case still names exactly this table.
  return `"${value}"`;
}

/** The store's table as SQL names it: quoted, and qualified with the schema when one is given. */
export function qualifiedTable(options: { table?: string; schema?: string }): string {
  const table = quoteIdentifier(options.table ?? DEFAULT_POSTGRES_TABLE, 'table');
  return options.schema === undefined ? table : `${quoteIdentifier(options.schema, 'schema')}.${table}`;
}

/**
 * Names of the claim and release functions: the table's name with `_claim` / `_release`, quoted, or `undefined`
 * when that would pass Postgres' 63-character limit (the store then sends inline statements only).
 */
export function functionNames(options: { table?: string }): { claimName: string; releaseName: string } | undefined {
  const table = options.table ?? DEFAULT_POSTGRES_TABLE;
  if (table.length + '_release'.length > 63) return undefined;
  return { claimName: `"${table}_claim"`, releaseName: `"${table}_release"` };
}

/** Whether `pool` is node-postgres (a `pg.Pool`, a `pg.Client`, or a driver built on them), which takes named statements. */
export function isNodePostgres(pool: PostgresQueryable): boolean {
  const p = pool as unknown as { Client?: unknown; connectionParameters?: unknown };
  return typeof p.Client === 'function' || (typeof p.connectionParameters === 'object' && p.connectionParameters !== null);
}

/** Where a store listens for pushes: the user's client, the pool (a `pg.Pool` with room), or nowhere. */
export function listenSource(pool: PostgresQueryable, listen: PostgresStoreOptions['listen']): ListenSource | undefined {
  if (listen === false) return undefined;
  if (listen === undefined || listen === true || listen === 'auto') {
    const p = pool as unknown as { connect?: unknown; Client?: unknown; options?: { max?: unknown } };
    // A pg.Pool (a pg.Client has connect() too, but it connects itself): one connection of it, if it has room.
    const isPool = typeof p.connect === 'function' && typeof p.Client === 'function';
    const max = typeof p.options?.max === 'number' ? p.options.max : 10;
    if (isPool && max >= 2) return { pool: pool as unknown as { connect(): Promise<PostgresListenConnection> } };
    if (listen === true) {
      throw new LeaseholdError(
        'INVALID_STORE',
        'postgres store: listen: true needs a pg.Pool with max of 2 or more (one connection listens); pass a connected pg.Client as listen, or use listen: false',
      );
    }
    return undefined;
  }
  const c = listen as Partial<PostgresListenConnection> | null;
  if (typeof c !== 'object' || c === null || typeof c.query !== 'function' || typeof c.on !== 'function' || typeof c.removeListener !== 'function') {
    throw new LeaseholdError(
      'INVALID_STORE',
      `postgres store: listen must be 'auto', true, false, or a connected pg.Client to LISTEN on; got ${describeValue(listen)}`,
    );
  }
  return { client: listen as PostgresListenConnection };
}
