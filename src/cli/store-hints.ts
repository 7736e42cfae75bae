/**
 * What to do when a store refuses the CLI, read from the error's typed fields (Postgres' SQLSTATE, the AWS SDK's
 * error name) along its `cause` chain, never from its message: the fix for a missing table (`leasehold init`) is not
 * the fix for a missing database, a wrong password or a missing privilege, which `init` cannot give.
 * @module
 */
import type { StoreSpec } from './store-url.js';

/** The errors behind `error`: itself, then each `cause` (a few levels; a cycle ends it). */
function chain(error: unknown): object[] {
  const seen: object[] = [];
  let e: unknown = error;
  while (typeof e === 'object' && e !== null && !seen.includes(e) && seen.length < 8) {
    seen.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return seen;
}

/** The SQLSTATE of the Postgres error behind `error` (pg's DatabaseError carries `code` and `severity`), if any. */
export function sqlState(error: unknown): string | undefined {
  for (const e of chain(error)) {
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string') return code;
  }
  return undefined;
}

function tableOf(spec: Extract<StoreSpec, { scheme: 'postgres' }>): string {
  return `${spec.schema ? `${spec.schema}.` : ''}${spec.table ?? 'leasehold_leases'}`;
}

/** A clause saying what is missing and how to fix it, or `undefined` when the error says nothing more than itself. */
export function storeHint(error: unknown, spec: StoreSpec): string | undefined {
  const init = `leasehold init --store '${spec.shown}'${spec.shown.includes('****') ? ' (with the real password for ****)' : ''}`;
  if (spec.scheme === 'postgres') {
    // The server's message says what is missing; the hint says what to do about it.
    switch (sqlState(error)) {
      case '3D000':
        return "create the database (createdb, or CREATE DATABASE) or correct the URL's database: leasehold init creates a table, not a database";
      case '28P01':
        return 'check the user and password (in the URL, percent-encoded; or PGPASSWORD, ~/.pgpass): leasehold init creates no role or password';
      case '28000':
        return "the role may not exist, or pg_hba.conf may not let it connect from this host to this database: create the role (CREATE ROLE … LOGIN PASSWORD …) or correct the URL's user";
      case '3F000':
        return 'create the schema (CREATE SCHEMA …) or correct ?schema=: leasehold init creates the table in an existing schema';
      case '42P01':
        return `create it with: ${init}`;
      case '42501':
        return `grant the user SELECT, INSERT, UPDATE on ${tableOf(spec)} and USAGE on its schema (leasehold init needs CREATE on the schema), or use the table owner's role`;
      default:
        return undefined;
    }
  }
  if (spec.scheme === 'redis') {
    // A Redis error reply's first word is its code (the protocol's typed field): WRONGPASS, NOAUTH, NOPERM.
    const code = chain(error)
      .map((e) => (e as { message?: unknown }).message)
      .map((m) => (typeof m === 'string' ? /^([A-Z]{4,})\b/.exec(m)?.[1] : undefined))
      .find((c) => c !== undefined);
    if (code === 'WRONGPASS' || code === 'NOAUTH') {
      return 'check the user and password (in the URL, percent-encoded: redis://user:password@host): leasehold creates no user';
    }
    if (code === 'NOPERM') return 'grant the user EVAL and EVALSHA on the lease keys (ACL SETUSER … +evalsha +eval ~{leasehold:*})';
    return undefined;
  }
  if (spec.scheme === 'dynamodb' && chain(error).some((e) => (e as { name?: unknown }).name === 'ResourceNotFoundException')) {
    return `create the table with your infrastructure tool, or in development with: ${init}`;
  }
  return undefined;
}
