/**
 * The Firestore REST API's wire format as `leasehold/firestore-rest` uses it: typed values, the lease fields encoded
 * and decoded, timestamps, and the REST error with the answers that mean "the condition failed".
 * @module
 */
import { LeaseholdError } from '../errors.js';
import type { LeaseFields } from './firestore-record.js';

/** A Firestore REST `Value`, in the forms this store writes and reads. */
export type RestValue =
  | { stringValue: string }
  | { integerValue: string | number }
  | { timestampValue: string }
  | { nullValue: null }
  | { doubleValue: number }
  | { booleanValue: boolean };

/** A REST error, with the `status` Firestore gave (`ALREADY_EXISTS`, `FAILED_PRECONDITION`, …). */
export class FirestoreRestError extends Error {
  /** HTTP status. */
  readonly httpStatus: number;
  /** Google RPC status name from the error body, when there is one. */
  readonly status: string | undefined;

  constructor(httpStatus: number, status: string | undefined, message: string) {
    super(message);
    this.name = 'FirestoreRestError';
    this.httpStatus = httpStatus;
    this.status = status;
  }
}

/** One answer of `documents:batchGet`. */
export interface BatchGetItem {
  found?: { name?: string; fields?: Record<string, RestValue>; updateTime?: unknown };
  missing?: string;
  readTime?: unknown;
}

// Real Firestore answers 409 ALREADY_EXISTS (exists: false failed), 400 FAILED_PRECONDITION (stale updateTime)
// and 409 ABORTED (contention). 412 is not among them; it is accepted as "did not apply" in case a proxy maps a
// precondition failure so, which is harmless: the caller reads the lease and is at most a follower.
/** Whether a REST error means "the write's condition failed" (the lease is read back), not an outage. */
export function isConditionFailure(error: FirestoreRestError): boolean {
  if (error.httpStatus === 412 || error.httpStatus === 409) return true;
  return error.status === 'FAILED_PRECONDITION' || error.status === 'ALREADY_EXISTS' || error.status === 'ABORTED' || error.status === 'NOT_FOUND';
}

/** The lease fields as REST values. */
export function encodeFields(fields: LeaseFields): Record<string, RestValue> {
  const text = (v: string | null): RestValue => (v === null ? { nullValue: null } : { stringValue: v });
  return {
    holder: text(fields.holder),
    // int64 travels as a decimal string in JSON.
    token: { integerValue: String(fields.token) },
    acquiredAt: fields.acquiredAt === null ? { nullValue: null } : { timestampValue: new Date(fields.acquiredAt).toISOString() },
    ttlMs: { integerValue: String(fields.ttlMs) },
    version: { stringValue: fields.version },
    data: text(fields.data),
  };
}

/** Decodes the REST values of the lease fields to plain values; anything unexpected is left for validation. */
export function decodeFields(fields: Record<string, RestValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === null || typeof value !== 'object') out[key] = value;
    else if ('nullValue' in value) out[key] = null;
    else if ('stringValue' in value) out[key] = value.stringValue;
    else if ('integerValue' in value) out[key] = /^-?\d+$/.test(String(value.integerValue)) ? Number(value.integerValue) : value.integerValue;
    else if ('timestampValue' in value) out[key] = timestampMs(value.timestampValue);
    else out[key] = value;
  }
  return out;
}

/**
 * RFC 3339 (`2030-01-01T00:00:00.123456Z`, any fraction length) to epoch ms, truncating below the millisecond;
 * NaN when it is not one.
 */
export function parseTimestampMs(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const seconds = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  return m && Number.isFinite(seconds) ? seconds + Number((m[2] ?? '').padEnd(3, '0').slice(0, 3)) : Number.NaN;
}

/** An RFC 3339 timestamp as epoch ms; `STORE_CORRUPT` when it is not one. */
export function timestampMs(text: string): number {
  const ms = parseTimestampMs(text);
  if (!Number.isFinite(ms)) throw new LeaseholdError('STORE_CORRUPT', `firestore-rest store: ${JSON.stringify(text)} is not an RFC 3339 timestamp`);
  return ms;
}
