/**
 * `leasehold/postgres`: leases in one Postgres table. Expiry is judged by the server's clock, and every
 * `tryLead()` is exactly one statement (one round trip). No session state, no advisory locks: works
 * behind PgBouncer (transaction pooling) and with serverless drivers.
 * @module
 */
import { LeaseholdError } from '../errors.js';
import { checkStoreTimeout, describeValue } from '../options.js';
import type { ClaimRequest, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, WriteOutcome } from '../store.js';

/**
 * Anything with `pg`'s `query(text, values)`: a `pg.Pool`, a `pg.Client`, `@neondatabase/serverless`, PGlite.
 * Typed structurally so leasehold does not depend on `pg` at type level.
 */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** A `pg`-style named query, sent only when the `prepare` option is on. */
interface NamedQuery {
  name: string;
  text: string;
  values: unknown[];
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
   * Send named prepared statements (`pg`'s `{ name, text, values }`), planned once per connection: about
   * half the server time per call. Default `false`, because transaction-pooling PgBouncer before 1.21 and
   * some serverless drivers (and PGlite) do not support them. Turn it on with a direct `pg.Pool`.
   */
  prepare?: boolean;
  /**
   * Bound of one library call on this store, in ms (default 5 000): `release()` and `getLeader()` settle within
   * it, `tryLead()` within it or the lease's validity window if shorter, then fail closed (`STORE_UNAVAILABLE`).
   * `pg` takes no abort signal, so also give your pool a `connectionTimeoutMillis` and `query_timeout` (or the
   * server a `statement_timeout`) so a request past it does not hold a connection for long.
   */
  timeoutMs?: number;
}

/** Default table name. */
export const DEFAULT_POSTGRES_TABLE = 'leasehold_leases';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function quoteIdentifier(value: unknown, option: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new LeaseholdError(
      'INVALID_STORE',
      `postgres store: ${option} must be 1-63 letters, digits or _ not starting with a digit; got ${describeValue(value)}`,
    );
  }
  // Validated above, and quoted too: a reserved word or mixed case still names exactly this table.
  return `"${value}"`;
}

/**
 * The table, as SQL. `sql/postgres.sql` holds the same for the default name, for people who run their own migrations.
 * The record is never deleted (release clears `holder`), so the fencing token never goes back.
 */
export function postgresSchema(options: { table?: string; schema?: string } = {}): string {
  const table = qualifiedTable(options);
  return `CREATE TABLE IF NOT EXISTS ${table} (
  name        text PRIMARY KEY,
  holder      text,
  token       bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  version     text NOT NULL,
  data        text
);
`;
}

function qualifiedTable(options: { table?: string; schema?: string }): string {
  const table = quoteIdentifier(options.table ?? DEFAULT_POSTGRES_TABLE, 'table');
  return options.schema === undefined ? table : `${quoteIdentifier(options.schema, 'schema')}.${table}`;
}

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
const COLUMNS = `name, holder, token, ${ms('acquired_at')} AS acquired_ms, ${ms('expires_at')} AS expires_ms, version, data`;
const NOW = `${ms('statement_timestamp()')} AS now_ms`;
// statement_timestamp(), not now(): now() is the transaction's start, which could be long before this
// statement was sent, and a lease stamped from it would end before the caller's validity does.
const TTL = (param: string) => `statement_timestamp() + ${param}::float8 * interval '1 millisecond'`;
// A renewal (mine and live) keeps the term; anything else the claim may do starts a new one, token + 1.
const RENEWAL = 't.holder = EXCLUDED.holder AND t.expires_at > statement_timestamp()';
const ACQUIRED = (param: string) => `COALESCE(to_timestamp(${param}::float8 / 1000), statement_timestamp())`;

/**
 * Postgres store.
 * @example
 * import pg from 'pg'
 * import { PostgresStore } from 'leasehold/postgres'
 * const store = new PostgresStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) })
 * await store.migrate()
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly clockSource = 'store' as const;
  private readonly pool: PostgresQueryable;
  private readonly table: string;
  private readonly options: { table?: string; schema?: string };
  private readonly sql: { read: string; create: string; replace: string; claim: string; release: string };
  private readonly prepare: boolean;
  /** Bound of one library call, in ms (see {@link PostgresStoreOptions.timeoutMs}). */
  readonly timeoutMs: number;

  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null || typeof options.pool?.query !== 'function') {
      throw new LeaseholdError('INVALID_STORE', 'postgres store: pass { pool } with a pg.Pool, pg.Client or anything with query(text, values)');
    }
    this.pool = options.pool;
    if (options.prepare !== undefined && typeof options.prepare !== 'boolean') {
      throw new LeaseholdError('INVALID_STORE', `postgres store: prepare must be true or false; got ${describeValue(options.prepare)}`);
    }
    this.prepare = options.prepare ?? false;
    this.timeoutMs = checkStoreTimeout(options.timeoutMs, this.kind);
    this.options = { ...(options.table !== undefined ? { table: options.table } : {}), ...(options.schema !== undefined ? { schema: options.schema } : {}) };
    const t = qualifiedTable(this.options);
    this.table = t;
    this.sql = {
      read: `SELECT ${COLUMNS}, ${NOW} FROM (SELECT 1) AS clock LEFT JOIN ${t} ON name = $1`,
      create: `INSERT INTO ${t} (name, holder, token, acquired_at, expires_at, version, data)
        VALUES ($1, $2, $3, ${ACQUIRED('$4')}, ${TTL('$5')}, $6, $7)
        ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}, ${NOW}`,
      replace: `UPDATE ${t} SET holder = $2, token = $3, acquired_at = ${ACQUIRED('$4')}, expires_at = ${TTL('$5')}, version = $6, data = $7
        WHERE name = $1 AND version = $8 RETURNING ${COLUMNS}, ${NOW}`,
      // The fused claim: create, or renew if mine and live, or take over if released or expired by the server's clock.
      // A refused claim updates nothing, and the second branch reports the holder in the same statement.
      claim: `WITH attempt AS (
          INSERT INTO ${t} AS t (name, holder, token, acquired_at, expires_at, version, data)
          VALUES ($1, $2, 1, statement_timestamp(), ${TTL('$3')}, $4, $5)
          ON CONFLICT (name) DO UPDATE SET
            holder = EXCLUDED.holder,
            token = CASE WHEN ${RENEWAL} THEN t.token ELSE t.token + 1 END,
            acquired_at = CASE WHEN ${RENEWAL} THEN t.acquired_at ELSE EXCLUDED.acquired_at END,
            expires_at = EXCLUDED.expires_at,
            version = EXCLUDED.version,
            data = EXCLUDED.data
          WHERE t.holder = EXCLUDED.holder OR t.holder IS NULL OR t.expires_at <= statement_timestamp()
          RETURNING t.*
        )
        SELECT ${COLUMNS}, ${NOW} FROM attempt
        UNION ALL
        SELECT ${COLUMNS}, ${NOW} FROM ${t} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM attempt)`,
      // Release keeps the row and its token: the next holder's token must still be larger. With $4 (the
      // version of the state the holder gives up), it clears only exactly that state: a release delivered late
      // must not clear a renewal the holder made after it.
      release: `WITH done AS (
          UPDATE ${t} SET holder = NULL, expires_at = statement_timestamp(), version = $3, data = NULL
          WHERE name = $1 AND holder = $2 AND ($4::text IS NULL OR version = $4::text) RETURNING *
        )
        SELECT ${COLUMNS}, ${NOW} FROM done
        UNION ALL
        SELECT ${COLUMNS}, ${NOW} FROM ${t} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM done)`,
    };
  }

  /** Creates the table if it does not exist (idempotent). Same SQL as `sql/postgres.sql` with your table name. */
  async migrate(): Promise<void> {
    await this.query(postgresSchema(this.options), []);
  }

  /** The quoted, possibly schema-qualified table name this store uses. */
  get tableName(): string {
    return this.table;
  }

  private async query(text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      if (this.prepare && values.length > 0) {
        // pg accepts a config object; the structural type keeps the plain (text, values) form for other drivers.
        const named: NamedQuery = { name: `leasehold_${hash(text)}`, text, values };
        return (await (this.pool.query as unknown as (q: NamedQuery) => Promise<{ rows: Record<string, unknown>[] }>).call(this.pool, named)).rows;
      }
      return (await this.pool.query(text, values)).rows;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '42P01') {
        throw new LeaseholdError('STORE_UNAVAILABLE', `postgres store: table ${this.table} does not exist; call store.migrate() or apply sql/postgres.sql`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async read(name: string): Promise<ReadResult> {
    const [row] = await this.query(this.sql.read, [name]);
    if (!row) throw new LeaseholdError('STORE_CORRUPT', 'postgres store: the read returned no row');
    return { record: toRecord(row), now: toNumber(row.now_ms, 'now') };
  }

  async create(write: LeaseWrite): Promise<WriteOutcome> {
    const rows = await this.query(this.sql.create, [write.name, write.holder, write.token, write.acquiredAt, write.ttlMs, write.version, write.data]);
    return outcome(rows);
  }

  async replace(expectedVersion: string, write: LeaseWrite): Promise<WriteOutcome> {
    const values = [write.name, write.holder, write.token, write.acquiredAt, write.ttlMs, write.version, write.data, expectedVersion];
    return outcome(await this.query(this.sql.replace, values));
  }

  async claim(request: ClaimRequest): Promise<{ record: LeaseRecord; now?: number }> {
    const [row] = await this.query(this.sql.claim, [request.name, request.holder, request.ttlMs, request.version, request.data]);
    const record = row ? toRecord(row) : null;
    if (row && record) {
      const now = toNumber(row.now_ms, 'now');
      const refusedByLiveHolder = record.holder !== null && record.holder !== request.holder && record.expiresAt > now;
      if (record.version === request.version || refusedByLiveHolder) return { record, now };
    }
    // Only under a race: the row that refused this claim was written by a transaction that committed after
    // this statement's snapshot, so the reporting branch saw an older row (or none). Read the current one.
    const read = await this.read(request.name);
    if (!read.record) throw new LeaseholdError('STORE_CORRUPT', 'postgres store: claim neither wrote nor found a lease');
    return { record: read.record, ...(read.now !== undefined ? { now: read.now } : {}) };
  }

  async releaseHolder(
    name: string,
    holder: string,
    version: string,
    _clientNow?: number,
    options?: ReleaseCallOptions,
  ): Promise<{ record: LeaseRecord | null; now?: number }> {
    const [row] = await this.query(this.sql.release, [name, holder, version, options?.expectedVersion ?? null]);
    return row ? { record: toRecord(row), now: toNumber(row.now_ms, 'now') } : { record: null };
  }
}

/** FNV-1a, hex: a statement name unique to the statement's text (and so to its table). */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}

function outcome(rows: Record<string, unknown>[]): WriteOutcome {
  const [row] = rows;
  const record = row ? toRecord(row) : null;
  // A failed condition returns no row; the core reads the current record itself.
  return row && record ? { ok: true, record, now: toNumber(row.now_ms, 'now') } : { ok: false, current: null };
}

function toNumber(value: unknown, field: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' || typeof value === 'bigint' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw new LeaseholdError('STORE_CORRUPT', `postgres store: column ${field} holds ${String(value)}, not a number`);
  return n;
}

function toRecord(row: Record<string, unknown>): LeaseRecord | null {
  if (row.name === null || row.name === undefined) return null;
  return {
    name: String(row.name),
    holder: row.holder === null ? null : String(row.holder),
    token: toNumber(row.token, 'token'),
    acquiredAt: toNumber(row.acquired_ms, 'acquired_at'),
    expiresAt: toNumber(row.expires_ms, 'expires_at'),
    version: String(row.version),
    data: row.data === null || row.data === undefined ? null : String(row.data),
  };
}
