/**
 * The Postgres store's schema: the table and the claim and release functions that `migrate()` installs (the same
 * text as `sql/postgres.sql` for the default name), and what a failed install tells the user to do.
 * @module
 */
import { isLeaseholdError, LeaseholdError } from '../../errors.js';
import { DEFAULT_POSTGRES_TABLE, functionNames, qualifiedTable, quoteIdentifier } from './options.js';
import { claimUpsert, hash, leaseJson, ms, postgresChannel, releaseUpdate, renewalUpdate } from './statements.js';

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

// The text below still says "src/stores/postgres.ts" (now this folder): any byte changed here changes the schema's
// version, and every deployment's next migrate() would reinstall (failing for a role without CREATE). Update those
// two comments together with the next real change to the SQL.
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
  const record = leaseJson;
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
  ${claimUpsert(t, "VALUES (p_name, p_holder, 1, statement_timestamp(), statement_timestamp() + p_ttl_ms * interval '1 millisecond', p_version, p_data)")}
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
  ${releaseUpdate(t, 'p_name', 'p_holder', 'p_version', 'p_expected')}
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

/** How many times migrate() sends the schema when it races with an install that takes no lock. */
export const MIGRATE_ATTEMPTS = 5;

/**
 * The errors Postgres gives the loser of two concurrent installs of the same objects: `tuple concurrently updated`
 * (XX000), a duplicate key in a catalog (23505: the schema inserts into no table of its own), or the object created
 * meanwhile (42P07, 42710, 42723); a deadlock between them (40P01).
 */
export function isCatalogRace(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'XX000') return typeof message === 'string' && /concurrently (updated|deleted)/.test(message);
  return code === '23505' || code === '42P07' || code === '42710' || code === '42723' || code === '40P01';
}

/**
 * A failed migrate() as a LeaseholdError that says what to do; the driver's error is its cause.
 * @param table the quoted, possibly schema-qualified table name
 * @param schemaOption the store's `schema` option
 */
export function migrateFailure(error: unknown, table: string, schemaOption: string | undefined): LeaseholdError {
  if (isLeaseholdError(error)) return error;
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // An AggregateError (every address of a host refused) has an empty message but a code.
  const detail = (typeof e.message === 'string' && e.message) || code || String(error);
  const schema = schemaOption === undefined ? 'the first schema of the search_path' : `schema ${schemaOption}`;
  const sqlstate = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  let advice: string;
  if (sqlstate === '42501') {
    advice = `creating it needs CREATE on ${schema} (and owning the functions to replace them): run migrate() or sql/postgres.sql once as a role that has it; after that a role with SELECT, INSERT, UPDATE on the table may call migrate() too`;
  } else if (sqlstate === '3F000') {
    advice =
      schemaOption === undefined
        ? "no schema of the search_path exists: create one, or set the store's schema option"
        : `schema ${schemaOption} does not exist: create it (CREATE SCHEMA), or set the store's schema option`;
  } else if (sqlstate === undefined || /^(08|28|53|57)/.test(sqlstate)) {
    advice = 'the server could not be reached or refused the connection: check the connection settings and that it is up, then call migrate() again';
  } else {
    advice = 'nothing was installed; call migrate() again, or apply sql/postgres.sql yourself';
  }
  return new LeaseholdError('STORE_UNAVAILABLE', `postgres store: migrate() of ${table} failed (${sqlstate ? `${sqlstate} ` : ''}${detail}); ${advice}`, {
    cause: error,
  });
}
