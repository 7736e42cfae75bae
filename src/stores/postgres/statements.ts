/**
 * The Postgres store's SQL, built once per store: the pieces shared by the claim and release functions that
 * `migrate()` installs (schema.ts) and by the inline statements the store sends (the upsert of a claim, a warm
 * holder's renewal, a release and the lease's projection as one JSON column), so both forms of a statement are the
 * same text from one builder; and the statements themselves, each with the name it is prepared under.
 * @module
 */
import { functionNames, qualifiedTable, quoteIdentifier } from './options.js';

/** FNV-1a over the text twice (two seeds), hex: a 64-bit statement name unique to the statement's text (and so to its table). */
export function hash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** A timestamp column as epoch milliseconds (float8). */
// date_part, not extract: extract returns numeric since PostgreSQL 14, and numeric arithmetic costs more than float8.
export const ms = (column: string) => `date_part('epoch', ${column}) * 1000`;

/**
 * The lease `r` (a table alias) and the server's clock as one JSON array of text:
 * `[holder, token, acquired_ms, expires_ms, version, data, now_ms]` (one column parses faster than seven).
 */
export const leaseJson = (r: string) =>
  `json_build_array(${r}.holder, ${r}.token, ${ms(`${r}.acquired_at`)}, ${ms(`${r}.expires_at`)}, ${r}.version, ${r}.data, ${ms('statement_timestamp()')})::text`;
// statement_timestamp(), not now(): now() is the transaction's start, which could be long before this
// statement was sent, and a lease stamped from it would end before the caller's validity does.
const TTL = (param: string) => `statement_timestamp() + ${param}::float8 * interval '1 millisecond'`;
// A renewal (mine and live) keeps the term; anything else the claim may do starts a new one, token + 1.
const RENEWAL = 't.holder = EXCLUDED.holder AND t.expires_at > statement_timestamp()';
const ACQUIRED = (param: string) => `COALESCE(to_timestamp(${param}::float8 / 1000), statement_timestamp())`;

/**
 * The claim's upsert, with `rows` as its source (VALUES, or a SELECT with a condition): create, or renew if mine and
 * live (same term), or take over if released or expired by the server's clock (token + 1). A refused claim updates
 * nothing. The claim function and the inline claim both use it.
 */
export function claimUpsert(t: string, rows: string): string {
  return `INSERT INTO ${t} AS t (name, holder, token, acquired_at, expires_at, version, data)
    ${rows}
    ON CONFLICT (name) DO UPDATE SET
      holder = EXCLUDED.holder,
      token = CASE WHEN ${RENEWAL} THEN t.token ELSE t.token + 1 END,
      acquired_at = CASE WHEN ${RENEWAL} THEN t.acquired_at ELSE EXCLUDED.acquired_at END,
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
export function renewalUpdate(t: string, ttl: string, version: string, data: string, name: string, holder: string, expected: string): string {
  const live = 't.expires_at > statement_timestamp()';
  return `UPDATE ${t} AS t SET
      token = CASE WHEN ${live} THEN t.token ELSE t.token + 1 END,
      acquired_at = CASE WHEN ${live} THEN t.acquired_at ELSE statement_timestamp() END,
      expires_at = statement_timestamp() + ${ttl}::float8 * interval '1 millisecond', version = ${version}, data = ${data}
    WHERE t.name = ${name} AND t.holder = ${holder} AND t.version = ${expected}`;
}

/**
 * A release: keeps the row and its token (the next holder's token must still be larger) and clears the holder. With
 * `expected` (the version of the state the holder gives up, or NULL), it clears only exactly that state: a release
 * delivered late must not clear a renewal the holder made after it. Parameters by name, as {@link renewalUpdate}.
 */
export function releaseUpdate(t: string, name: string, holder: string, version: string, expected: string): string {
  return `UPDATE ${t} AS t SET holder = NULL, expires_at = statement_timestamp(), version = ${version}, data = NULL
  WHERE t.name = ${name} AND t.holder = ${holder} AND (${expected} IS NULL OR t.version = ${expected})`;
}

/** One statement the store sends. */
export interface Statement {
  /** The text sent. */
  text: string;
  /** Its statement name when prepared (derived from the text, so one name always means one text). */
  name: string;
}

/** A statement of `text`, named after its hash. */
export const statement = (text: string): Statement => ({ text, name: `leasehold_${hash(text)}` });

/**
 * The `NOTIFY` channel of a table: derived from its qualified name (so every process on the same table agrees),
 * short enough for Postgres' 63-byte limit whatever the table is called.
 */
export function postgresChannel(options: { table?: string; schema?: string } = {}): string {
  return `leasehold_${hash(qualifiedTable(options))}`;
}

/** The statements of one store (see {@link storeStatements}). */
export interface StoreStatements {
  read: Statement;
  create: Statement;
  replace: Statement;
  claim: Statement;
  renew: Statement;
  release: Statement;
  /** Calls of the installed functions; `undefined` when the table's name leaves no room for theirs. */
  claimFunction: Statement | undefined;
  releaseFunction: Statement | undefined;
}

/** Every statement a store on this table sends, built once when the store is. */
export function storeStatements(options: { table?: string; schema?: string }): StoreStatements {
  const t = qualifiedTable(options);
  const fn = functionNames(options);
  const channel = postgresChannel(options);
  const inSchema = (name: string) => (options.schema === undefined ? name : `${quoteIdentifier(options.schema, 'schema')}.${name}`);
  return {
    read: statement(`SELECT ${leaseJson('l')} AS r FROM (SELECT 1) AS clock LEFT JOIN ${t} AS l ON l.name = $1`),
    create: statement(`INSERT INTO ${t} AS l (name, holder, token, acquired_at, expires_at, version, data)
        VALUES ($1, $2, $3, ${ACQUIRED('$4')}, ${TTL('$5')}, $6, $7)
        ON CONFLICT (name) DO NOTHING RETURNING ${leaseJson('l')} AS r`),
    // With $9, notifies listeners in the same statement (a release or a handover through the generic path).
    replace: statement(`WITH done AS (
          UPDATE ${t} AS l SET holder = $2, token = $3, acquired_at = ${ACQUIRED('$4')}, expires_at = ${TTL('$5')}, version = $6, data = $7
          WHERE l.name = $1 AND l.version = $8 RETURNING ${leaseJson('l')} AS r
        )
        SELECT d.r, (SELECT pg_notify('${channel}', $1::text) WHERE $9::boolean) AS n FROM done AS d`),
    // The fused claim, inline (named, or where the claim function is absent): the same rule as the function in
    // one statement. When the statement's snapshot already shows another holder's live lease, the claim is refused
    // without an attempt, so a refused contender takes no row lock (contenders do not queue behind the holder's
    // renewal); that lease was live when the statement began, so the refusal is right as of then. Otherwise the
    // upsert decides, under the row lock. The report of a refused claim is the snapshot's row (COALESCE stops at
    // its first non-null argument); when a concurrent write refused it, that row is older, and claim() reads again.
    claim: statement(`WITH seen AS (SELECT * FROM ${t} AS l WHERE l.name = $1),
        attempt AS (${claimUpsert(
          t,
          `SELECT $1::text, $2::text, 1, statement_timestamp(), ${TTL('$3')}, $4::text, $5::text
          WHERE NOT EXISTS (SELECT 1 FROM seen WHERE seen.holder <> $2 AND seen.expires_at > statement_timestamp())`,
        )}
          RETURNING t.holder, t.token, t.acquired_at, t.expires_at, t.version, t.data)
        SELECT COALESCE((SELECT ${leaseJson('a')} FROM attempt AS a), (SELECT ${leaseJson('s')} FROM seen AS s)) AS r`),
    // A holder this store saw win the lease last (a warm Elector's renewal): a plain conditional UPDATE of exactly
    // the state it won ($6, its version). No row: the lease changed since, and the claim above decides.
    // It answers only what the caller does not know: the token (kept, or + 1 for a new term) and the server's clock
    // (the new expiry is that + ttl; a new term's acquired_at is that), as one text column: the least to build and parse.
    renew: statement(
      `${renewalUpdate(t, '$3', '$4::text', '$5::text', '$1::text', '$2::text', '$6::text')} RETURNING t.token || ' ' || ${ms('statement_timestamp()')} AS r`,
    ),
    // See releaseUpdate; notifies listeners when it cleared the lease.
    release: statement(`WITH done AS (
          ${releaseUpdate(t, '$1', '$2', '$3', '$4::text')}
          RETURNING t.holder, t.token, t.acquired_at, t.expires_at, t.version, t.data
        )
        SELECT COALESCE((SELECT ${leaseJson('d')} FROM done AS d), (SELECT ${leaseJson('l')} FROM ${t} AS l WHERE l.name = $1)) AS r,
          (SELECT pg_notify('${channel}', $1::text) FROM done) AS n`),
    claimFunction: fn && statement(`SELECT ${inSchema(fn.claimName)}($1, $2, $3, $4, $5, $6) AS r`),
    releaseFunction: fn && statement(`SELECT ${inSchema(fn.releaseName)}($1, $2, $3, $4) AS r`),
  };
}
