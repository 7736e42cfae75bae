/**
 * `leasehold/postgres`: leases in one Postgres table. Expiry is judged by the server's clock, and every
 * `tryLead()` is exactly one statement (one round trip): on node-postgres a named (prepared) statement; with
 * unnamed statements, a call of the claim function that `migrate()` installs beside the table (PL/pgSQL, so its
 * plans are cached per connection), or the same rule inline where the function is absent. No session state (the
 * one advisory lock, `migrate()`'s, is transaction-scoped): works behind PgBouncer (transaction pooling), RDS Proxy
 * and with serverless drivers.
 * @module
 */
import { isLeaseholdError, LeaseholdError } from '../errors.js';
import { storeIdentity } from '../identity.js';
import { checkStoreTimeout, describeValue } from '../options.js';
import type { ClaimRequest, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, WriteOutcome } from '../store.js';
import { type ListenSource, type PostgresListenConnection, PostgresListener } from './postgres-notify.js';

export type { PostgresListenConnection } from './postgres-notify.js';

/**
 * Anything with `pg`'s `query(text, values)`: a `pg.Pool`, a `pg.Client`, `@neondatabase/serverless`, PGlite.
 * Typed structurally so leasehold does not depend on `pg` at type level.
 */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** A `pg` query config: named when the `prepare` option is on; `query_timeout` on node-postgres. */
interface QueryConfig {
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
 * The schema, as SQL: the table, and the claim and release functions that `tryLead()` and `release()` call (one
 * statement each, planned once per connection even when not prepared). `sql/postgres.sql` holds the same for
 * the default name, for people who run their own migrations. The record is never deleted (release clears
 * `holder`), so the fencing token never goes back. The functions are optional: without them (or without `EXECUTE`
 * on them) the store sends the same rule as one inline statement.
 *
 * One `DO` statement, so every driver takes it in one query (PGlite and serverless drivers refuse several) and it
 * runs in one transaction. Safe to run again and concurrently: installs wait for one another on a
 * transaction-scoped advisory lock, and one that finds this very version installed (the functions' source carries
 * a hash of this text) changes nothing, so it needs no right to create anything.
 */
export function postgresSchema(options: { table?: string; schema?: string } = {}): string {
  // The version is a hash of the text itself (with the version left empty), so any change to it reinstalls.
  return installStatement(options, hash(installStatement(options, '')));
}

/**
 * Key of the advisory lock that installs wait on: "leasehol" in ASCII. One key for every table: installs are
 * rare and short, and one key cannot deadlock with itself.
 */
const INSTALL_LOCK = '7810756276994469740';

function installStatement(options: { table?: string; schema?: string }, version: string): string {
  const table = qualifiedTable(options);
  const name = options.table ?? DEFAULT_POSTGRES_TABLE;
  const fn = functionNames(options);
  // The function bodies name the table with its schema (the schema given, or the one CREATE TABLE uses: the first
  // of the search_path), so a caller with another search_path still reaches this table and no other.
  const schema = options.schema === undefined ? 'current_schema()' : `'${options.schema}'`;
  const claimSignature = fn && `%1$I.${fn.claimName}(text, text, float8, text, text, text)`;
  const releaseSignature = fn && `%1$I.${fn.releaseName}(text, text, text, text)`;
  // Installed at this version: the table, and both functions with this version in their source (a comment line).
  // In the source, not a COMMENT ON: an older leasehold that replaced a function since would keep the comment.
  const installed = [
    `to_regclass(format('%I.%I', s, '${name}')) IS NOT NULL`,
    ...(claimSignature && releaseSignature
      ? [claimSignature, releaseSignature].map(
          (signature) => `strpos((SELECT prosrc FROM pg_catalog.pg_proc WHERE oid = to_regprocedure(format('${signature}', s))), v) > 0`,
        )
      : []),
  ].join('\n    AND ');
  const stamp = `-- leasehold schema ${version}: what a later install looks for to find this version installed.`;
  const t = `%1$I.${quoteIdentifier(name, 'table')}`;
  const record = (r: string) =>
    `json_build_array(${r}.holder, ${r}.token, ${ms(`${r}.acquired_at`)}, ${ms(`${r}.expires_at`)}, ${r}.version, ${r}.data, ${ms('statement_timestamp()')})::text`;
  const functions =
    fn &&
    `  -- The claim and release, one call each (see src/stores/postgres.ts): PL/pgSQL caches their plans per connection,
  -- so even an unprepared call is cheap to plan. Each answers the lease after the attempt as JSON (built in the
  -- statement itself), or NULL when there is none. statement_timestamp() is the same throughout one call.
  EXECUTE format($sql$
DROP FUNCTION IF EXISTS %1$I.${fn.claimName}(text, text, float8, text, text, boolean);
CREATE OR REPLACE FUNCTION %1$I.${fn.claimName}(p_name text, p_holder text, p_ttl_ms float8, p_version text, p_data text, p_expected text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
${stamp}
DECLARE
  result text;
BEGIN
  IF p_expected IS NOT NULL THEN
    -- The caller last won this lease, at version p_expected: a plain conditional update of exactly that state (a
    -- renewal, or a new term if it lapsed meanwhile). No row: the lease changed since, and the claim below decides.
    -- Answered as the inline renewal is: "<token> <server clock ms>", all the caller does not know already.
    ${renewalUpdate(t, 'p_ttl_ms', 'p_version', 'p_data', 'p_name', 'p_holder', 'p_expected')}
    RETURNING t.token || ' ' || ${ms('statement_timestamp()')} INTO result;
    IF result IS NOT NULL THEN
      RETURN result;
    END IF;
  END IF;
  -- Refused by another holder's live lease: answered by this read alone (no attempt, so no row lock).
  SELECT ${record('c')} INTO result FROM ${t} AS c WHERE c.name = p_name AND c.holder <> p_holder AND c.expires_at > statement_timestamp();
  IF result IS NOT NULL THEN
    RETURN result;
  END IF;
  -- Create, or renew if mine and live (same term), or take over if released or expired (token + 1).
  ${functionUpsert(t, "VALUES (p_name, p_holder, 1, statement_timestamp(), statement_timestamp() + p_ttl_ms * interval '1 millisecond', p_version, p_data)")}
  RETURNING ${record('t')} INTO result;
  IF result IS NULL THEN
    -- Refused by a write that committed meanwhile: this statement's fresh snapshot sees it (under the upsert's lock).
    SELECT ${record('c')} INTO result FROM ${t} AS c WHERE c.name = p_name;
  END IF;
  RETURN result;
END
$fn$;
CREATE OR REPLACE FUNCTION %1$I.${fn.releaseName}(p_name text, p_holder text, p_version text, p_expected text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
${stamp}
DECLARE
  result text;
BEGIN
  -- Keeps the row and its token; with p_expected, clears only exactly that state (a late release changes nothing newer).
  UPDATE ${t} AS t SET holder = NULL, expires_at = statement_timestamp(), version = p_version, data = NULL
  WHERE t.name = p_name AND t.holder = p_holder AND (p_expected IS NULL OR t.version = p_expected)
  RETURNING ${record('t')} INTO result;
  IF result IS NULL THEN
    SELECT ${record('c')} INTO result FROM ${t} AS c WHERE c.name = p_name;
  ELSE
    -- Followers that LISTEN claim at once (delivered at commit; nobody listening costs nothing).
    PERFORM pg_notify('${postgresChannel(options)}', p_name);
  END IF;
  RETURN result;
END
$fn$;
$sql$, s);
`;
  return `-- leasehold's lease table and its claim and release functions (see postgresSchema() in src/stores/postgres.ts).
-- Safe to run again and concurrently: installs wait for one another, and one that finds this version installed
-- changes nothing.
DO $install$
DECLARE
  s text := ${schema};
  v text := 'leasehold schema ${version}';
BEGIN
  IF s IS NULL THEN
    RAISE EXCEPTION 'no schema has been selected to create in' USING ERRCODE = 'invalid_schema_name';
  END IF;
  -- Concurrent installs (cold starts at once) would race on the catalog ("tuple concurrently updated", a duplicate
  -- key in pg_type): they queue here instead. Held until this statement's transaction ends, so the next one sees
  -- everything this one installed. Transaction-scoped: fine behind PgBouncer in transaction mode.
  PERFORM pg_advisory_xact_lock(${INSTALL_LOCK});
  IF ${installed} THEN
    RETURN;
  END IF;
  CREATE TABLE IF NOT EXISTS ${table} (
    name        text PRIMARY KEY,
    holder      text,
    token       bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    version     text NOT NULL,
    data        text
  );
${functions ?? ''}END $install$;
`;
}

/** The claim's upsert inside the claim function, with `rows` as its source (VALUES, or a SELECT with a condition). */
function functionUpsert(t: string, rows: string): string {
  return `INSERT INTO ${t} AS t (name, holder, token, acquired_at, expires_at, version, data)
    ${rows}
    ON CONFLICT (name) DO UPDATE SET
      holder = EXCLUDED.holder,
      token = CASE WHEN t.holder = EXCLUDED.holder AND t.expires_at > statement_timestamp() THEN t.token ELSE t.token + 1 END,
      acquired_at = CASE WHEN t.holder = EXCLUDED.holder AND t.expires_at > statement_timestamp() THEN t.acquired_at ELSE EXCLUDED.acquired_at END,
      expires_at = EXCLUDED.expires_at, version = EXCLUDED.version, data = EXCLUDED.data
    WHERE t.holder = EXCLUDED.holder OR t.holder IS NULL OR t.expires_at <= statement_timestamp()`;
}

/**
 * A warm holder's renewal: a plain conditional `UPDATE` of exactly the state it last won (name, holder and version),
 * with no speculative insertion. It keeps the term while the lease is live and starts a new one (token + 1) if it
 * lapsed with nobody taking it meanwhile (the version still matches). Pinned to that version, a renewal delivered
 * late changes nothing newer (DESIGN rule "Late writes are harmless"). Parameters by name (SQL placeholders or
 * PL/pgSQL variables).
 */
function renewalUpdate(t: string, ttl: string, version: string, data: string, name: string, holder: string, expected: string): string {
  const live = 't.expires_at > statement_timestamp()';
  return `UPDATE ${t} AS t SET
      token = CASE WHEN ${live} THEN t.token ELSE t.token + 1 END,
      acquired_at = CASE WHEN ${live} THEN t.acquired_at ELSE statement_timestamp() END,
      expires_at = statement_timestamp() + ${ttl}::float8 * interval '1 millisecond', version = ${version}, data = ${data}
    WHERE t.name = ${name} AND t.holder = ${holder} AND t.version = ${expected}`;
}

/**
 * Names of the claim and release functions: the table's name with `_claim` / `_release`, quoted, or `undefined`
 * when that would pass Postgres' 63-character limit (the store then sends inline statements only).
 */
function functionNames(options: { table?: string }): { claimName: string; releaseName: string } | undefined {
  const table = options.table ?? DEFAULT_POSTGRES_TABLE;
  if (table.length + '_release'.length > 63) return undefined;
  return { claimName: `"${table}_claim"`, releaseName: `"${table}_release"` };
}

/**
 * The `NOTIFY` channel of a table: derived from its qualified name (so every process on the same table agrees),
 * short enough for Postgres' 63-byte limit whatever the table is called.
 */
export function postgresChannel(options: { table?: string; schema?: string } = {}): string {
  return `leasehold_${hash(qualifiedTable(options))}`;
}

/** One listener per pool and table in this process (keyed by the store's identity), shared by its stores. */
const listeners = new WeakMap<object, PostgresListener>();

function qualifiedTable(options: { table?: string; schema?: string }): string {
  const table = quoteIdentifier(options.table ?? DEFAULT_POSTGRES_TABLE, 'table');
  return options.schema === undefined ? table : `${quoteIdentifier(options.schema, 'schema')}.${table}`;
}

// date_part, not extract: extract returns numeric since PostgreSQL 14, and numeric arithmetic costs more than float8.
const ms = (column: string) => `date_part('epoch', ${column}) * 1000`;
/** One text column `r`: the lease and the server's clock as a JSON array (one column parses faster than seven). */
const RECORD = (r: string) =>
  `json_build_array(${r}.holder, ${r}.token, ${ms(`${r}.acquired_at`)}, ${ms(`${r}.expires_at`)}, ${r}.version, ${r}.data, ${ms('statement_timestamp()')})::text AS r`;
// statement_timestamp(), not now(): now() is the transaction's start, which could be long before this
// statement was sent, and a lease stamped from it would end before the caller's validity does.
const TTL = (param: string) => `statement_timestamp() + ${param}::float8 * interval '1 millisecond'`;
// A renewal (mine and live) keeps the term; anything else the claim may do starts a new one, token + 1.
const RENEWAL = 't.holder = EXCLUDED.holder AND t.expires_at > statement_timestamp()';
const ACQUIRED = (param: string) => `COALESCE(to_timestamp(${param}::float8 / 1000), statement_timestamp())`;

/** Names whose last winner a store remembers. */
const WINNERS_LIMIT = 1_024;

/** SQLSTATEs after which the store stops naming statements (see {@link PostgresStoreOptions.prepare}). */
const STATEMENT_NOT_PREPARED = new Set(['26000', '42P05']);
/** How many times migrate() sends the schema when it races with an install that takes no lock. */
const MIGRATE_ATTEMPTS = 5;

/**
 * The errors Postgres gives the loser of two concurrent installs of the same objects: `tuple concurrently updated`
 * (XX000), a duplicate key in a catalog (23505: the schema inserts into no table of its own), or the object created
 * meanwhile (42P07, 42710, 42723); a deadlock between them (40P01).
 */
function isCatalogRace(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'XX000') return typeof message === 'string' && /concurrently (updated|deleted)/.test(message);
  return code === '23505' || code === '42P07' || code === '42710' || code === '42723' || code === '40P01';
}

/** undefined_function: the claim or release function is absent (or has another signature). */
const UNDEFINED_FUNCTION = '42883';

/** Whether `pool` is node-postgres (a `pg.Pool`, a `pg.Client`, or a driver built on them), which takes named statements. */
function isNodePostgres(pool: PostgresQueryable): boolean {
  const p = pool as unknown as { Client?: unknown; connectionParameters?: unknown };
  return typeof p.Client === 'function' || (typeof p.connectionParameters === 'object' && p.connectionParameters !== null);
}

interface Statement {
  /** The text sent. */
  text: string;
  /** Its statement name when prepared (derived from the text, so one name always means one text). */
  name: string;
}

const statement = (text: string): Statement => ({ text, name: `leasehold_${hash(text)}` });

/** What the stores of each identity remember of the leases they saw won (see {@link PostgresStore}). */
const winnersByIdentity = new WeakMap<object, Map<string, Winner>>();
/** The names each identity's stores saw refused by a live lease. */
const contendedByIdentity = new WeakMap<object, Set<string>>();

/** A lease this store saw a holder win: who, and what that write left (updated in place on each renewal). */
interface Winner {
  readonly holder: string;
  version: string;
  token: number;
  acquiredAt: number;
}

/**
 * The lease after a warm holder's renewal, from what the store remembers of the state it renewed and the statement's
 * answer (`"<token> <server clock ms>"`): the same term (token kept) or, if the lease had lapsed, a new one that
 * began at the statement's time. The expiry is the statement's time + ttl, as the statement set it.
 */
function renewed(winner: Winner, request: ClaimRequest, r: string): { record: LeaseRecord; now: number } {
  const space = r.indexOf(' ');
  if (space < 0) throw new LeaseholdError('STORE_CORRUPT', `postgres store: the renewal came back as ${JSON.stringify(r.slice(0, 80))}`);
  const token = toNumber(r.slice(0, space), 'token');
  const now = toNumber(r.slice(space + 1), 'now');
  if (token !== winner.token) {
    winner.token = token;
    winner.acquiredAt = now;
  }
  winner.version = request.version;
  return {
    now,
    record: {
      name: request.name,
      holder: winner.holder,
      token,
      acquiredAt: winner.acquiredAt,
      expiresAt: now + request.ttlMs,
      version: request.version,
      data: request.data,
    },
  };
}

/**
 * Postgres store.
 *
 * Its {@link PostgresStore.identity} is its pool and qualified table: stores built on the same pool object and the
 * same `schema`/`table` options share this process's memory of each lease (DESIGN rule "One identity per lease
 * table"), so a release through one ends the results won through another at once. Build your stores on one pool.
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
  private readonly sql: {
    read: Statement;
    create: Statement;
    replace: Statement;
    claim: Statement;
    renew: Statement;
    release: Statement;
    claimFunction: Statement | undefined;
    releaseFunction: Statement | undefined;
  };
  /** Whether statements are named (prepared); `'auto'` turns this off for good on a pooler that cannot keep them. */
  private prepared: boolean;
  private readonly fallBackFromPrepared: boolean;
  /** Whether to call the claim and release functions; off once the server says they are absent, on again after migrate(). */
  private useFunctions: boolean;
  /** Bound of one library call, in ms (see {@link PostgresStoreOptions.timeoutMs}). */
  readonly timeoutMs: number;
  /** pg's `query_timeout` for each statement (node-postgres only): {@link timeoutMs}. */
  private readonly queryTimeout: number | undefined;
  /**
   * The holder each lease name was last won by through a store of this identity, and the version that win wrote (a hint: it only
   * picks the statement; the renewal it picks is conditional on exactly that version, so a stale hint costs one
   * statement more, never a wrong answer).
   */
  private readonly winners: Map<string, Winner>;
  /** Names whose last claim through a store of this identity was refused by a live lease (a hint: it picks the statement). */
  private readonly contended: Set<string>;
  /**
   * What this process's memory of a lease is keyed by: one object per pool and qualified table (`storeIdentity`).
   * Stores on another pool object, or naming the table once with and once without its schema, get another.
   */
  readonly identity: object;
  /** Where push wake-ups listen, or `undefined` when they are off (see {@link PostgresStoreOptions.listen}). */
  private readonly listenSource: ListenSource | undefined;

  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null || typeof options.pool?.query !== 'function') {
      throw new LeaseholdError('INVALID_STORE', 'postgres store: pass { pool } with a pg.Pool, pg.Client or anything with query(text, values)');
    }
    this.pool = options.pool;
    const prepare = options.prepare ?? 'auto';
    if (prepare !== 'auto' && typeof prepare !== 'boolean') {
      throw new LeaseholdError('INVALID_STORE', `postgres store: prepare must be true, false or 'auto'; got ${describeValue(options.prepare)}`);
    }
    this.prepared = prepare === 'auto' ? isNodePostgres(options.pool) : prepare;
    this.fallBackFromPrepared = prepare === 'auto';
    this.timeoutMs = checkStoreTimeout(options.timeoutMs, this.kind);
    // pg cannot abort a query, but gives one up after its query_timeout, and a pg.Pool then closes that connection:
    // a query stuck on a lock or a dead peer does not hold a pool slot past the bound of one call.
    this.queryTimeout = isNodePostgres(options.pool) ? this.timeoutMs : undefined;
    this.options = { ...(options.table !== undefined ? { table: options.table } : {}), ...(options.schema !== undefined ? { schema: options.schema } : {}) };
    const t = qualifiedTable(this.options);
    this.table = t;
    this.identity = storeIdentity(options.pool, `postgres table ${t}`);
    // Shared by the stores of one identity (DESIGN rule "One identity per lease table"): a renewal through one leaves
    // the version the next renewal through another is pinned to.
    let winners = winnersByIdentity.get(this.identity);
    if (!winners) {
      winners = new Map();
      winnersByIdentity.set(this.identity, winners);
    }
    this.winners = winners;
    let contended = contendedByIdentity.get(this.identity);
    if (!contended) {
      contended = new Set();
      contendedByIdentity.set(this.identity, contended);
    }
    this.contended = contended;
    const fn = functionNames(this.options);
    const channel = postgresChannel(this.options);
    this.listenSource = listenSource(options.pool, options.listen);
    const inSchema = (name: string) => (this.options.schema === undefined ? name : `${quoteIdentifier(this.options.schema, 'schema')}.${name}`);
    this.useFunctions = fn !== undefined;
    // Create, or renew if mine and live (same term), or take over if released or expired by the server's clock
    // (token + 1). A refused claim updates nothing.
    const upsert = (rows: string) => `INSERT INTO ${t} AS t (name, holder, token, acquired_at, expires_at, version, data)
          ${rows}
          ON CONFLICT (name) DO UPDATE SET
            holder = EXCLUDED.holder,
            token = CASE WHEN ${RENEWAL} THEN t.token ELSE t.token + 1 END,
            acquired_at = CASE WHEN ${RENEWAL} THEN t.acquired_at ELSE EXCLUDED.acquired_at END,
            expires_at = EXCLUDED.expires_at,
            version = EXCLUDED.version,
            data = EXCLUDED.data
          WHERE t.holder = EXCLUDED.holder OR t.holder IS NULL OR t.expires_at <= statement_timestamp()`;
    this.sql = {
      read: statement(`SELECT ${RECORD('l')} FROM (SELECT 1) AS clock LEFT JOIN ${t} AS l ON l.name = $1`),
      create: statement(`INSERT INTO ${t} AS l (name, holder, token, acquired_at, expires_at, version, data)
        VALUES ($1, $2, $3, ${ACQUIRED('$4')}, ${TTL('$5')}, $6, $7)
        ON CONFLICT (name) DO NOTHING RETURNING ${RECORD('l')}`),
      // With $9, notifies listeners in the same statement (a release or a handover through the generic path).
      replace: statement(`WITH done AS (
          UPDATE ${t} AS l SET holder = $2, token = $3, acquired_at = ${ACQUIRED('$4')}, expires_at = ${TTL('$5')}, version = $6, data = $7
          WHERE l.name = $1 AND l.version = $8 RETURNING ${RECORD('l')}
        )
        SELECT d.r, (SELECT pg_notify('${channel}', $1::text) WHERE $9::boolean) AS n FROM done AS d`),
      // The fused claim, inline (named, or where the claim function is absent): the same rule as the function in
      // one statement. When the statement's snapshot already shows another holder's live lease, the claim is refused
      // without an attempt, so a refused contender takes no row lock (contenders do not queue behind the holder's
      // renewal); that lease was live when the statement began, so the refusal is right as of then. Otherwise the
      // upsert decides, under the row lock. The report of a refused claim is the snapshot's row (COALESCE stops at
      // its first non-null argument); when a concurrent write refused it, that row is older, and claim() reads again.
      claim: statement(`WITH seen AS (SELECT * FROM ${t} AS l WHERE l.name = $1),
        attempt AS (${upsert(`SELECT $1::text, $2::text, 1, statement_timestamp(), ${TTL('$3')}, $4::text, $5::text
          WHERE NOT EXISTS (SELECT 1 FROM seen WHERE seen.holder <> $2 AND seen.expires_at > statement_timestamp())`)}
          RETURNING t.holder, t.token, t.acquired_at, t.expires_at, t.version, t.data)
        SELECT COALESCE((SELECT ${RECORD('a')} FROM attempt AS a), (SELECT ${RECORD('s')} FROM seen AS s)) AS r`),
      // A holder this store saw win the lease last (a warm Elector's renewal): a plain conditional UPDATE of exactly
      // the state it won ($6, its version). No row: the lease changed since, and the claim above decides.
      // It answers only what the caller does not know: the token (kept, or + 1 for a new term) and the server's clock
      // (the new expiry is that + ttl; a new term's acquired_at is that), as one text column: the least to build and parse.
      renew: statement(
        `${renewalUpdate(t, '$3', '$4::text', '$5::text', '$1::text', '$2::text', '$6::text')} RETURNING t.token || ' ' || ${ms('statement_timestamp()')} AS r`,
      ),
      // Release keeps the row and its token: the next holder's token must still be larger. With $4 (the
      // version of the state the holder gives up), it clears only exactly that state: a release delivered late
      // must not clear a renewal the holder made after it.
      release: statement(`WITH done AS (
          UPDATE ${t} SET holder = NULL, expires_at = statement_timestamp(), version = $3, data = NULL
          WHERE name = $1 AND holder = $2 AND ($4::text IS NULL OR version = $4::text)
          RETURNING holder, token, acquired_at, expires_at, version, data
        )
        SELECT COALESCE((SELECT ${RECORD('d')} FROM done AS d), (SELECT ${RECORD('l')} FROM ${t} AS l WHERE l.name = $1)) AS r,
          (SELECT pg_notify('${channel}', $1::text) FROM done) AS n`),
      claimFunction: fn && statement(`SELECT ${inSchema(fn.claimName)}($1, $2, $3, $4, $5, $6) AS r`),
      releaseFunction: fn && statement(`SELECT ${inSchema(fn.releaseName)}($1, $2, $3, $4) AS r`),
    };
  }

  /**
   * Creates the table and the claim and release functions if they are missing or from another version. Same SQL as
   * `sql/postgres.sql` with your table name, sent as one statement (so it works on PGlite and serverless drivers).
   *
   * Safe to call at every cold start, and concurrently from any number of processes: installs queue on a
   * transaction-scoped advisory lock, and one that finds this version installed changes nothing. Creating needs
   * `CREATE` on the schema (and, to replace the functions, owning them); once they are installed, a role with only
   * `SELECT, INSERT, UPDATE` on the table may call it too. A race with an install that takes no lock (an older
   * leasehold, a migration tool) is retried a few times. Bounded by `timeoutMs` on node-postgres.
   * @throws {LeaseholdError} `STORE_UNAVAILABLE` when the server cannot be reached or refuses (the message says
   * what to do; the driver's error is the `cause`).
   */
  async migrate(): Promise<void> {
    const text = postgresSchema(this.options);
    for (let attempt = 1; ; attempt++) {
      try {
        await (this.queryTimeout === undefined ? this.pool.query(text) : this.send(statement(text), [], false));
        break;
      } catch (error) {
        if (attempt >= MIGRATE_ATTEMPTS || !isCatalogRace(error)) throw this.migrateFailure(error);
        // Jittered, so the racers do not meet again at the same instant.
        await new Promise((resolve) => setTimeout(resolve, attempt * (20 + Math.random() * 80)));
      }
    }
    this.useFunctions = this.sql.claimFunction !== undefined;
  }

  /** A failed migrate() as a LeaseholdError that says what to do; the driver's error is its cause. */
  private migrateFailure(error: unknown): LeaseholdError {
    if (isLeaseholdError(error)) return error;
    const e = error as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : undefined;
    // An AggregateError (every address of a host refused) has an empty message but a code.
    const detail = (typeof e.message === 'string' && e.message) || code || String(error);
    const schema = this.options.schema === undefined ? 'the first schema of the search_path' : `schema ${this.options.schema}`;
    const sqlstate = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
    let advice: string;
    if (sqlstate === '42501') {
      advice = `creating it needs CREATE on ${schema} (and owning the functions to replace them): run migrate() or sql/postgres.sql once as a role that has it; after that a role with SELECT, INSERT, UPDATE on the table may call migrate() too`;
    } else if (sqlstate === '3F000') {
      advice =
        this.options.schema === undefined
          ? "no schema of the search_path exists: create one, or set the store's schema option"
          : `schema ${this.options.schema} does not exist: create it (CREATE SCHEMA), or set the store's schema option`;
    } else if (sqlstate === undefined || /^(08|28|53|57)/.test(sqlstate)) {
      advice = 'the server could not be reached or refused the connection: check the connection settings and that it is up, then call migrate() again';
    } else {
      advice = 'nothing was installed; call migrate() again, or apply sql/postgres.sql yourself';
    }
    return new LeaseholdError(
      'STORE_UNAVAILABLE',
      `postgres store: migrate() of ${this.table} failed (${sqlstate ? `${sqlstate} ` : ''}${detail}); ${advice}`,
      {
        cause: error,
      },
    );
  }

  /** The quoted, possibly schema-qualified table name this store uses. */
  get tableName(): string {
    return this.table;
  }

  /** Runs one statement: one round trip, one `r` column back. */
  private query(s: Statement, values: unknown[]): Promise<unknown> {
    const named = this.prepared && values.length > 0;
    return this.send(s, values, named).then(firstColumn, (error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (named && this.fallBackFromPrepared && typeof code === 'string' && STATEMENT_NOT_PREPARED.has(code)) {
        // The server never ran this statement (Postgres reports both before executing): send it unnamed, and
        // name no statement again on this store (calls already in flight land here too, and are re-sent alike).
        this.prepared = false;
        return this.send(s, values, false).then(firstColumn);
      }
      if (code === '42P01') {
        throw new LeaseholdError('STORE_UNAVAILABLE', `postgres store: table ${this.table} does not exist; call store.migrate() or apply sql/postgres.sql`, {
          cause: error,
        });
      }
      throw error;
    });
  }

  private send(s: Statement, values: unknown[], named: boolean): Promise<{ rows: Record<string, unknown>[] }> {
    if (named || this.queryTimeout !== undefined) {
      // pg takes a config object; the structural type keeps the plain (text, values) form for other drivers.
      const query: QueryConfig = named ? { name: s.name, text: s.text, values } : { text: s.text, values };
      if (this.queryTimeout !== undefined) query.query_timeout = this.queryTimeout;
      return (this.pool.query as unknown as (q: QueryConfig) => Promise<{ rows: Record<string, unknown>[] }>).call(this.pool, query);
    }
    return this.pool.query(s.text, values);
  }

  /**
   * Calls the claim or release function when statements go unnamed (planning a function call is cheap; planning
   * the inline statement is not), or the function is absent; named, the inline statement is planned once per
   * connection and measured a little faster than the function call (BENCHMARKS.md), so it is sent instead.
   */
  private call(fn: Statement | undefined, inline: Statement, values: unknown[], fnValues: unknown[] = values): Promise<unknown> {
    if (fn && this.useFunctions && !this.prepared) return this.callFunction(fn, inline, values, fnValues);
    return this.query(inline, values);
  }

  /** Calls `fn`, or sends `inline` (for good) when the server says the function is absent. */
  private callFunction(fn: Statement, inline: Statement, values: unknown[], fnValues: unknown[]): Promise<unknown> {
    return this.query(fn, fnValues).catch((error: unknown) => {
      // Absent (never migrated, or another signature): reported while the call is analysed, before anything ran.
      if ((error as { code?: unknown }).code !== UNDEFINED_FUNCTION) throw error;
      this.useFunctions = false;
      return this.query(inline, values);
    });
  }

  async read(name: string): Promise<ReadResult> {
    const r = await this.query(this.sql.read, [name]);
    const parsed = parseRecord(r, name);
    if (!parsed) throw new LeaseholdError('STORE_CORRUPT', 'postgres store: the read returned no row');
    return parsed;
  }

  async create(write: LeaseWrite): Promise<WriteOutcome> {
    return outcome(
      await this.query(this.sql.create, [write.name, write.holder, write.token, write.acquiredAt, write.ttlMs, write.version, write.data]),
      write.name,
    );
  }

  async replace(expectedVersion: string, write: LeaseWrite): Promise<WriteOutcome> {
    // A release or a new term (a handover) wakes followers; a renewal (acquiredAt kept) does not.
    const notify = write.holder === null || write.acquiredAt === null;
    const values = [write.name, write.holder, write.token, write.acquiredAt, write.ttlMs, write.version, write.data, expectedVersion, notify];
    return outcome(await this.query(this.sql.replace, values), write.name);
  }

  async claim(request: ClaimRequest): Promise<{ record: LeaseRecord; now?: number }> {
    const { name, holder } = request;
    const winner = this.winners.get(name);
    const expected = winner !== undefined && winner.holder === holder ? winner.version : null;
    // Unnamed, the claim function (its plans are cached per connection; the inline statement's are not). Named, the
    // function too for a name this store saw refused by a live lease (a contender polling): its refusal is one read
    // before any attempt, measured cheaper than the inline statement's, which always sets up its insert; otherwise
    // the inline statement, whose single upsert is the cheaper way to win. A warm holder's renewal is the plain
    // UPDATE when named; unnamed, the function makes it.
    const functions = this.sql.claimFunction !== undefined && this.useFunctions && (!this.prepared || this.contended.has(name));
    const lean = expected !== null && (this.prepared || !functions);
    if (lean) {
      // A warm holder: a plain conditional UPDATE of the state it won. A row back is this very write; none means
      // the lease changed since (another holder, a release, a write through another store), and the claim decides.
      const r = await this.query(this.sql.renew, [name, holder, request.ttlMs, request.version, request.data, expected]);
      if (typeof r === 'string') return renewed(winner as Winner, request, r);
      this.winners.delete(name);
    }
    const values = [name, holder, request.ttlMs, request.version, request.data];
    // The function takes the hint as its last argument and makes the same conditional update first, answering it
    // as the inline renewal does; anything else it answers is the lease as JSON (an array).
    const pass = functions && !lean ? expected : null;
    const r = functions
      ? await this.callFunction(this.sql.claimFunction as Statement, this.sql.claim, values, [...values, pass])
      : await this.query(this.sql.claim, values);
    if (pass !== null && typeof r === 'string' && r.charCodeAt(0) !== 91 /* [ */) return renewed(winner as Winner, request, r);
    const parsed = parseRecord(r, name);
    if (parsed?.record) {
      const { record, now } = parsed;
      if (record.version === request.version) {
        this.won(name, record);
        this.contended.delete(name);
        return { record, now };
      }
      // Another state than the one remembered: the remembered winner no longer holds it as it was won.
      if (winner !== undefined && winner.version !== record.version) this.winners.delete(name);
      const refusedByLiveHolder = record.holder !== null && record.holder !== holder && record.expiresAt > now;
      if (refusedByLiveHolder) {
        this.contend(name);
        return { record, now };
      }
    }
    // Only under a race, and only on the inline statement: the row that refused this claim was written by a
    // transaction that committed after this statement's snapshot, so the reporting branch saw an older row (or
    // none). Read the current one. (The function's report reads with a fresh snapshot, under the row lock.)
    return this.current(name);
  }

  /**
   * Push wake-ups ({@link Store.watch}): `onChange` runs soon after a release or a handover of `name` on this table,
   * by any process, while the listening connection is up (see {@link PostgresStoreOptions.listen}). Returns a
   * function that unsubscribes. Without listening (option off, or not a `pg.Pool`), it never calls and followers poll.
   */
  watch(name: string, onChange: () => void): () => void {
    const source = this.listenSource;
    if (!source) return () => undefined;
    let listener = listeners.get(this.identity);
    if (!listener) {
      listener = new PostgresListener(source, postgresChannel(this.options));
      listeners.set(this.identity, listener);
    }
    return listener.watch(name, onChange);
  }

  /** Notes that a claim on `name` was refused by a live lease, so the next one starts with the refusal's read (bounded). */
  private contend(name: string): void {
    if (this.contended.has(name)) return;
    this.contended.add(name);
    if (this.contended.size > WINNERS_LIMIT) {
      const oldest = this.contended.values().next();
      if (!oldest.done) this.contended.delete(oldest.value);
    }
  }

  /** Notes that `record`'s holder won `name` through this store, so its next claim may be the lean renewal (bounded). */
  private won(name: string, record: LeaseRecord): void {
    const winner = this.winners.get(name);
    if (winner !== undefined && winner.holder === record.holder) {
      winner.version = record.version;
      winner.token = record.token;
      winner.acquiredAt = record.acquiredAt;
      return;
    }
    this.winners.set(name, { holder: record.holder as string, version: record.version, token: record.token, acquiredAt: record.acquiredAt });
    if (this.winners.size > WINNERS_LIMIT) {
      const oldest = this.winners.keys().next();
      if (!oldest.done) this.winners.delete(oldest.value);
    }
  }

  /** The current record, for a refused claim's answer. */
  private async current(name: string): Promise<{ record: LeaseRecord; now?: number }> {
    const read = await this.read(name);
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
    if (this.winners.get(name)?.holder === holder) this.winners.delete(name);
    const r = await this.call(this.sql.releaseFunction, this.sql.release, [name, holder, version, options?.expectedVersion ?? null]);
    return parseRecord(r, name) ?? { record: null };
  }
}

/** Where a store listens for pushes: the user's client, the pool (a `pg.Pool` with room), or nowhere. */
function listenSource(pool: PostgresQueryable, listen: PostgresStoreOptions['listen']): ListenSource | undefined {
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

/** The `r` column of the first row, if any. */
function firstColumn(result: { rows: Record<string, unknown>[] }): unknown {
  return result.rows[0]?.r;
}

/** FNV-1a over the text twice (two seeds), hex: a 64-bit statement name unique to the statement's text (and so to its table). */
function hash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

function outcome(r: unknown, name: string): WriteOutcome {
  const parsed = parseRecord(r, name);
  // A failed condition returns no row; the core reads the current record itself.
  return parsed?.record ? { ok: true, record: parsed.record, now: parsed.now } : { ok: false, current: null };
}

function toNumber(value: unknown, field: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' || typeof value === 'bigint' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw new LeaseholdError('STORE_CORRUPT', `postgres store: column ${field} holds ${String(value)}, not a number`);
  return n;
}

/**
 * The `r` column: `[holder, token, acquired_ms, expires_ms, version, data, now_ms]` as JSON text (a driver that
 * parses JSON itself may hand over the array), with `version` `null` when there is no record; `undefined` when
 * the statement returned no row (or a function returned `null`).
 */
function parseRecord(r: unknown, name: string): { record: LeaseRecord | null; now: number } | undefined {
  if (r === undefined || r === null) return undefined;
  let row: unknown;
  try {
    row = typeof r === 'string' ? JSON.parse(r) : r;
  } catch (error) {
    throw new LeaseholdError('STORE_CORRUPT', `postgres store: the lease came back as ${JSON.stringify(String(r).slice(0, 80))}, not JSON`, { cause: error });
  }
  if (!Array.isArray(row) || row.length !== 7) throw new LeaseholdError('STORE_CORRUPT', 'postgres store: the lease came back in an unknown shape');
  const [holder, token, acquired, expires, version, data, now] = row as unknown[];
  const at = toNumber(now, 'now');
  if (version === null || version === undefined) return { record: null, now: at };
  return {
    now: at,
    record: {
      name,
      holder: holder === null || holder === undefined ? null : String(holder),
      token: toNumber(token, 'token'),
      acquiredAt: toNumber(acquired, 'acquired_at'),
      expiresAt: toNumber(expires, 'expires_at'),
      version: String(version),
      data: data === null || data === undefined ? null : String(data),
    },
  };
}
