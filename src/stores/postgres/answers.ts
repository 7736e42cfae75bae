/**
 * What the Postgres store's statements answer, parsed: the `r` column (the lease and the server's clock as JSON), a
 * write's outcome, and a warm holder's renewal rebuilt from what the store remembers of the lease it won.
 * @module
 */
import { LeaseholdError } from '../../errors.js';
import type { ClaimRequest, LeaseRecord, WriteOutcome } from '../../store.js';

/** A lease this store saw a holder win: who, and what that write left (updated in place on each renewal). */
export interface Winner {
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
export function renewed(winner: Winner, request: ClaimRequest, r: string): { record: LeaseRecord; now: number } {
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

/** The `r` column of the first row, if any. */
export function firstColumn(result: { rows: Record<string, unknown>[] }): unknown {
  return result.rows[0]?.r;
}

/** A write's outcome from its `r` column: the lease it left, or a failed condition (no row). */
export function outcome(r: unknown, name: string): WriteOutcome {
  const parsed = parseRecord(r, name);
  // A failed condition returns no row; the core reads the current record itself.
  return parsed?.record ? { ok: true, record: parsed.record, now: parsed.now } : { ok: false, current: null };
}

/** A numeric column (a driver may hand over a number, a string or a bigint); `STORE_CORRUPT` when it is none. */
export function toNumber(value: unknown, field: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' || typeof value === 'bigint' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw new LeaseholdError('STORE_CORRUPT', `postgres store: column ${field} holds ${String(value)}, not a number`);
  return n;
}

/**
 * The `r` column: `[holder, token, acquired_ms, expires_ms, version, data, now_ms]` as JSON text (a driver that
 * parses JSON itself may hand over the array), with `version` `null` when there is no record; `undefined` when
 * the statement returned no row (or a function returned `null`).
 */
export function parseRecord(r: unknown, name: string): { record: LeaseRecord | null; now: number } | undefined {
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
