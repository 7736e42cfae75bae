/**
 * Input rules and defaults. Every public entry point checks its input here before it touches a store,
 * so bad input throws a {@link LeaseholdError} and nothing is written.
 * @module
 */
import { LeaseholdError } from './errors.js';

/** Default lease length: 15 s (the Kubernetes lease default). */
export const DEFAULT_TTL_MS = 15_000;
/** Default clock-skew margin: 1 s. Subtracted from every validity window; client-clock stores also wait it out before a takeover. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 1_000;
/** Longest lease accepted: 7 days. Anything longer is almost surely a unit mistake (seconds vs ms). */
export const MAX_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Largest clock-skew margin accepted: 10 minutes. */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;
/** Longest lease name, in characters. */
export const MAX_NAME_LENGTH = 128;
/** Longest holder id, in characters. */
export const MAX_HOLDER_LENGTH = 256;
/** Largest `data` payload, in characters. */
export const MAX_DATA_LENGTH = 16_384;

// Portable across every backend: a Postgres text key, a DynamoDB key, a Firestore document id
// (no "/", not "." or "..", not "__x__") and a URL path segment.
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;
// Printable ASCII without spaces: host names, pids, Lambda request ids, ARNs.
const HOLDER_PATTERN = /^[\x21-\x7e]+$/;

/**
 * Describes a value for an error message without ever throwing: no `JSON.stringify` (which throws on a
 * `bigint` or a circular object), strings cut to 40 characters, objects by their type only.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (length ${value.length})`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `the bigint ${value}n (use a number)`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

const describe = describeValue;

/** Checks a lease name; returns it. */
export function checkName(name: unknown, where = 'name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new LeaseholdError(
      'INVALID_NAME',
      `${where} must be a string of 1-${MAX_NAME_LENGTH} characters from A-Z a-z 0-9 _ . : @ - starting with a letter or digit; got ${describe(name)}`,
    );
  }
  if (name.endsWith(RESERVED_NAME_SUFFIX)) {
    throw new LeaseholdError(
      'INVALID_NAME',
      `${where} must not end in ${RESERVED_NAME_SUFFIX}: names ending so are reserved for the completed slots of runExclusive jobs (job X keeps its slot under X${RESERVED_NAME_SUFFIX}); got ${describe(name)}`,
    );
  }
  if (name.endsWith(PREFER_REQUEST_SUFFIX) && !internalNames) {
    throw new LeaseholdError(
      'INVALID_NAME',
      `${where} must not end in ${PREFER_REQUEST_SUFFIX}: names ending so are reserved for preferred Electors' requests (Elector X with preferred: true asks the leader to hand over by holding X${PREFER_REQUEST_SUFFIX}); got ${describe(name)}`,
    );
  }
  return name;
}

/**
 * Lease names ending in this are reserved for the requests of preferred Electors (`preferred: true` holds
 * `<name>@prefer` to ask the leader of `<name>` to hand over): no public call may claim, release or read one, so no
 * other writer can ask a leader to hand over.
 */
export const PREFER_REQUEST_SUFFIX = '@prefer';

let internalNames = false;
/**
 * Runs `call` with the `@prefer` names allowed, for the Elector's own request lease. Names are checked synchronously
 * when a call starts, so the flag is set only for that synchronous start. Not part of the public API.
 */
export function withInternalNames<T>(call: () => T): T {
  internalNames = true;
  try {
    return call();
  } finally {
    internalNames = false;
  }
}

/** A lease name as a store's own request carries it: a public name, or a preferred Elector's `<name>@prefer`. */
export function checkStoredLeaseName(name: unknown, where = 'name'): string {
  if (typeof name === 'string' && name.endsWith(PREFER_REQUEST_SUFFIX) && name.length > PREFER_REQUEST_SUFFIX.length) {
    checkName(name.slice(0, -PREFER_REQUEST_SUFFIX.length), where);
    return withInternalNames(() => checkName(name, where));
  }
  return checkName(name, where);
}

/**
 * Lease names ending in this are reserved: `runExclusive` keeps job X's last completed slot under `X@done`, beside
 * its lease, and no public call may read, claim or release such a record.
 */
export const RESERVED_NAME_SUFFIX = '@done';

/** Checks a holder id; returns it. */
export function checkHolder(holder: unknown): string {
  if (typeof holder !== 'string' || holder.length === 0 || holder.length > MAX_HOLDER_LENGTH || !HOLDER_PATTERN.test(holder)) {
    throw new LeaseholdError(
      'INVALID_HOLDER',
      `holder must be a string of 1-${MAX_HOLDER_LENGTH} printable ASCII characters without spaces, unique per contender (e.g. host:pid or a Lambda request id); got ${describe(holder)}`,
    );
  }
  return holder;
}

/** Checks a non-negative duration option in milliseconds; returns it (or the default when undefined). */
export function checkDuration(value: unknown, option: string, fallback: number, max: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new LeaseholdError('INVALID_OPTION', `${option} must be a finite number of milliseconds from ${min} to ${max}; got ${describe(value)}`);
  }
  return value;
}

// String.prototype.isWellFormed is ES2024 (Node 20 has it); the pattern keeps older runtimes working.
/** True when `text` has no unpaired surrogate (so it encodes to UTF-8 and back unchanged). */
export function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Checks a lease length: a positive, finite number of ms up to {@link MAX_TTL_MS}, larger than `maxClockSkewMs`. Throws `INVALID_TTL`. */
export function checkTtl(ttl: unknown, maxClockSkewMs: number): number {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL_MS) {
    throw new LeaseholdError(
      'INVALID_TTL',
      `ttlMs must be a positive, finite number of milliseconds no larger than ${MAX_TTL_MS} (7 days); got ${describe(ttl)}`,
    );
  }
  if (ttl <= maxClockSkewMs) {
    throw new LeaseholdError(
      'INVALID_TTL',
      `ttlMs (${ttl}) must be larger than maxClockSkewMs (${maxClockSkewMs}): the leader may act for ttlMs - maxClockSkewMs; raise ttlMs or lower maxClockSkewMs`,
    );
  }
  return ttl;
}

/** Checks a lease's `data` payload (`undefined` and `null` are none); returns it, or `null`. Throws `INVALID_OPTION`. */
export function checkData(value: unknown): string | null {
  const data = value === undefined || value === null ? null : value;
  if (data !== null && (typeof data !== 'string' || data.length > MAX_DATA_LENGTH)) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `data must be a string of at most ${MAX_DATA_LENGTH} characters (JSON.stringify objects yourself); got ${describe(data)}`,
    );
  }
  // Postgres text cannot hold NUL, and a lone surrogate is not valid UTF-8 (stores would mangle it):
  // refuse both here, so every store keeps exactly the string it was given.
  if (data !== null && (data.includes('\u0000') || !isWellFormed(data))) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      'data must be well-formed Unicode without NUL characters (it holds a NUL or an unpaired surrogate); encode binary payloads as base64',
    );
  }
  return data;
}

/** Longest write version accepted, in characters. */
export const MAX_VERSION_LENGTH = 256;

/**
 * Whether `value` can be a write version: a non-empty string of at most {@link MAX_VERSION_LENGTH} characters,
 * well-formed Unicode without NUL. Every store must give a version back exactly as written, or a caller would not
 * recognise its own write.
 */
export function isValidVersion(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_VERSION_LENGTH && !value.includes('\u0000') && isWellFormed(value);
}

/** The checked options of one `tryLead()` call. */
export interface LeadParams {
  name: string;
  holder: string;
  ttlMs: number;
  maxClockSkewMs: number;
  data: string | null;
}

/** Checks the options of `tryLead()` and fills in defaults. */
export function checkLeadOptions(options: unknown): LeadParams {
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', `options must be an object like { name, holder, ttlMs }; got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  const name = checkName(o.name);
  const holder = checkHolder(o.holder);
  const maxClockSkewMs = checkDuration(o.maxClockSkewMs, 'maxClockSkewMs', DEFAULT_MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS);
  const ttl = checkTtl(o.ttlMs === undefined ? DEFAULT_TTL_MS : o.ttlMs, maxClockSkewMs);
  const data = checkData(o.data);
  return { name, holder, ttlMs: ttl, maxClockSkewMs, data };
}

/**
 * Default bound of one call (`tryLead`, `release`, `getLeader`), all its store requests included: 5 s. A claim
 * is also bounded by its lease's validity window (`ttlMs - maxClockSkewMs`) when that is shorter. Past it the
 * call fails closed with `STORE_UNAVAILABLE`: a silent endpoint is an outage, never a hang.
 */
export const DEFAULT_STORE_TIMEOUT_MS = 5_000;
/** Largest store `timeoutMs` accepted: 10 minutes. */
export const MAX_STORE_TIMEOUT_MS = 10 * 60 * 1000;

/** Checks a store's `timeoutMs` option (`INVALID_STORE`); returns it, or {@link DEFAULT_STORE_TIMEOUT_MS} when undefined. */
export function checkStoreTimeout(value: unknown, kind: string): number {
  if (value === undefined) return DEFAULT_STORE_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_STORE_TIMEOUT_MS) {
    throw new LeaseholdError(
      'INVALID_STORE',
      `${kind} store: timeoutMs must be a number of milliseconds from 1 to ${MAX_STORE_TIMEOUT_MS} (default ${DEFAULT_STORE_TIMEOUT_MS}); got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * The default renewal interval of a lease of `ttlMs` with a `maxClockSkewMs` margin: `ttlMs / 3`, or half the validity
 * window (`ttlMs - maxClockSkewMs`) when that is shorter, and at least the store's `minWriteIntervalMs`. The Elector,
 * jobs, the Tracker and the CLI's kill-grace bound all read it here.
 */
export function defaultRenewEveryMs(ttlMs: number, maxClockSkewMs: number, minWriteIntervalMs = 0): number {
  return Math.max(minWriteIntervalMs, Math.min(ttlMs / 3, (ttlMs - maxClockSkewMs) / 2));
}

/**
 * The interval of a renewal (or of a tracker's round) for a lease of `ttlMs` with a `maxClockSkewMs` margin on a
 * store that sustains one write every `minWriteIntervalMs`: `value` checked, or the default when undefined. The
 * default is `ttlMs / 3`, shortened to half the validity window (`ttlMs - maxClockSkewMs`) when the margin leaves
 * less, so a default is valid for every accepted lease: an error only ever names an option the caller set.
 */
export function checkRenewInterval(
  value: unknown,
  option: string,
  lead: { ttlMs: number; maxClockSkewMs: number },
  store: { kind: string; limits?: { readonly minWriteIntervalMs: number } },
): number {
  const window = lead.ttlMs - lead.maxClockSkewMs;
  const minWrite = store.limits?.minWriteIntervalMs ?? 0;
  if (value === undefined) {
    const every = defaultRenewEveryMs(lead.ttlMs, lead.maxClockSkewMs, minWrite);
    if (every >= window) {
      throw new LeaseholdError(
        'INVALID_TTL',
        `ttlMs (${lead.ttlMs}) - maxClockSkewMs (${lead.maxClockSkewMs}) leaves ${window} ms of validity, too little to renew inside it: the ${store.kind} store sustains one write every ${minWrite} ms per lease; raise ttlMs or lower maxClockSkewMs`,
      );
    }
    return every;
  }
  const every = checkDuration(value, option, 0, MAX_TTL_MS, 1);
  if (every < minWrite) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `${option} (${every}) must be at least ${minWrite}: the ${store.kind} store sustains about one write every ${minWrite} ms per lease`,
    );
  }
  if (every >= window) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `${option} (${every}) must be shorter than ttlMs - maxClockSkewMs (${window}), or the lease lapses between renewals; lower ${option} or omit it`,
    );
  }
  return every;
}

/** Checks a `keepAlive` option (default `true`). */
export function checkKeepAlive(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `keepAlive must be true or false (default true: a started instance keeps the process alive until stop()); got ${describe(value)}`,
    );
  }
  return value !== false;
}
