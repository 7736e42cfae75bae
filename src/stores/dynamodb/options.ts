/**
 * The DynamoDB store's options and their checks: attribute names, key layout (prefix, sort key), TTL attribute and
 * retention, resolved into the {@link DynamoDBLayout} of the items a store reads and writes.
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaseholdError } from '../../errors.js';
import { describeValue, isWellFormed } from '../../options.js';

/** Names of the attributes a lease item holds. Every expression refers to them through `#placeholders`, so reserved words (`token`, `data`) are fine. */
export interface DynamoDBAttributeNames {
  /** Current holder id; absent while released. Default `holder`. */
  holder: string;
  /** Fencing token (number). Default `token`. */
  token: string;
  /** Acquisition time, epoch ms; absent while released. Default `acquiredAt`. */
  acquiredAt: string;
  /** Expiry, epoch ms on the writer's clock. Default `expiresAt`. */
  expiresAt: string;
  /** Unique per write (string): what compare-and-swap compares. Default `version`. */
  version: string;
  /** Holder's payload (string); absent when none. Default `data`. */
  data: string;
}

/** Options of {@link DynamoDBStore}. */
export interface DynamoDBStoreOptions {
  /** Your client (`new DynamoDBClient({ region })`). Its retry settings (`maxAttempts`, `retryStrategy`) apply; leasehold never destroys it. */
  client: DynamoDBClient;
  /** Table name (3-255 characters from `A-Z a-z 0-9 _ . -`) or table ARN. */
  table: string;
  /** Prefix of the partition-key value: the key is `${keyPrefix}${name}`. Default `''`. Use e.g. `'lease#'` in a shared single table. */
  keyPrefix?: string;
  /** Partition-key attribute name (type S). Default `pk`. */
  partitionKey?: string;
  /** For a table with a composite key: the sort-key attribute (type S) and the constant value lease items use, e.g. `{ name: 'sk', value: 'lease' }`. */
  sortKey?: { name: string; value: string };
  /** Attribute names, for single-table users whose names differ. Defaults in {@link DynamoDBAttributeNames}. */
  attributes?: Partial<DynamoDBAttributeNames>;
  /**
   * Name of the table's TTL attribute, if you want DynamoDB to delete long-dead leases. Each write sets it
   * to `expiresAt + ttlRetentionMs` in epoch seconds. Default: none (items are kept forever; one small item per name).
   */
  ttlAttribute?: string;
  /** How long after a lease's expiry its item may be deleted, in ms. Default 7 days; at least 1 day, at most 365 days. */
  ttlRetentionMs?: number;
  /**
   * Bound of one library call on this store, in ms (default 5 000): `release()` and `getLeader()` settle within
   * it, `tryLead()` within it or the lease's validity window if shorter, then fail closed with
   * `STORE_UNAVAILABLE`. Each request gets an `abortSignal`, so the SDK stops waiting too.
   */
  timeoutMs?: number;
}

/** Default attribute names. */
export const DEFAULT_DYNAMODB_ATTRIBUTES: Readonly<DynamoDBAttributeNames> = Object.freeze({
  holder: 'holder',
  token: 'token',
  acquiredAt: 'acquiredAt',
  expiresAt: 'expiresAt',
  version: 'version',
  data: 'data',
});

const DAY_MS = 24 * 60 * 60 * 1000;
/** Default {@link DynamoDBStoreOptions.ttlRetentionMs}: 7 days. */
export const DEFAULT_TTL_RETENTION_MS = 7 * DAY_MS;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TABLE_ARN = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/;

/** An `INVALID_STORE` error with the store's prefix. */
export function invalid(message: string): LeaseholdError {
  return new LeaseholdError('INVALID_STORE', `dynamodb store: ${message}`);
}

const utf8 = new TextEncoder();
/** DynamoDB counts key and attribute-name limits in UTF-8 bytes, not characters. */
function utf8Length(value: string): number {
  return utf8.encode(value).length;
}

function checkAttributeName(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0 || !isWellFormed(value) || utf8Length(value) > 255) {
    throw invalid(
      `${option} must be a non-empty attribute name of at most 255 bytes in UTF-8 (DynamoDB's limit for key attributes); got ${describeValue(value)}`,
    );
  }
  return value;
}

// A partition-key value is at most 2 048 bytes: the prefix leaves room for the longest name (128 ASCII characters).
const MAX_KEY_PREFIX_BYTES = 2_048 - 128;
// A sort-key value is at most 1 024 bytes.
const MAX_SORT_KEY_BYTES = 1_024;

/** Where a store's lease items are and which attributes they hold: its options, checked. */
export interface DynamoDBLayout {
  table: string;
  keyPrefix: string;
  partitionKey: string;
  sortKey: { name: string; value: string } | undefined;
  attr: DynamoDBAttributeNames;
  ttlAttribute: string | undefined;
  ttlRetentionMs: number;
}

/** Checks a store's options (all but its client and timeout) into its layout; `INVALID_STORE` on anything wrong. */
export function checkLayout(options: DynamoDBStoreOptions): DynamoDBLayout {
  if (typeof options !== 'object' || options === null || typeof (options.client as { send?: unknown } | undefined)?.send !== 'function') {
    throw invalid('pass { client, table } with a DynamoDBClient from @aws-sdk/client-dynamodb');
  }
  if (typeof options.table !== 'string' || !(TABLE_NAME.test(options.table) || TABLE_ARN.test(options.table))) {
    throw invalid(`table must be a table name of 3-255 characters from A-Z a-z 0-9 _ . - (or a table ARN); got ${describeValue(options.table)}`);
  }
  const keyPrefix = options.keyPrefix ?? '';
  if (typeof keyPrefix !== 'string' || !isWellFormed(keyPrefix) || utf8Length(keyPrefix) > MAX_KEY_PREFIX_BYTES)
    throw invalid(
      `keyPrefix must be a well-formed string of at most ${MAX_KEY_PREFIX_BYTES} bytes in UTF-8 (a partition-key value is at most 2048 bytes, names up to 128); got ${describeValue(keyPrefix)}`,
    );
  const partitionKey = checkAttributeName(options.partitionKey ?? 'pk', 'partitionKey');
  let sortKey: { name: string; value: string } | undefined;
  if (options.sortKey !== undefined) {
    const sk = options.sortKey as { name?: unknown; value?: unknown } | null;
    if (
      typeof sk !== 'object' ||
      sk === null ||
      typeof sk.value !== 'string' ||
      sk.value.length === 0 ||
      !isWellFormed(sk.value) ||
      utf8Length(sk.value) > MAX_SORT_KEY_BYTES
    ) {
      throw invalid(
        `sortKey must be { name, value } with a non-empty, well-formed string value of at most ${MAX_SORT_KEY_BYTES} bytes in UTF-8 (DynamoDB's sort-key limit); got value ${describeValue(sk?.value)}`,
      );
    }
    sortKey = { name: checkAttributeName(sk.name, 'sortKey.name'), value: sk.value };
  }
  const given = options.attributes ?? {};
  if (typeof given !== 'object' || given === null) throw invalid('attributes must be an object like { token: "fencingToken" }');
  const attr = { ...DEFAULT_DYNAMODB_ATTRIBUTES };
  for (const [key, value] of Object.entries(given)) {
    // Own properties only: `in` would accept `toString` and every other name on Object.prototype.
    if (!Object.hasOwn(DEFAULT_DYNAMODB_ATTRIBUTES, key))
      throw invalid(`attributes.${key} is not a lease attribute (known: ${Object.keys(DEFAULT_DYNAMODB_ATTRIBUTES).join(', ')})`);
    if (value !== undefined) attr[key as keyof DynamoDBAttributeNames] = checkAttributeName(value, `attributes.${key}`);
  }
  const ttlAttribute = options.ttlAttribute === undefined ? undefined : checkAttributeName(options.ttlAttribute, 'ttlAttribute');
  const retention = options.ttlRetentionMs ?? DEFAULT_TTL_RETENTION_MS;
  if (typeof retention !== 'number' || !Number.isFinite(retention) || retention < DAY_MS || retention > 365 * DAY_MS) {
    // Shorter than a day and a record could vanish while a clock-skewed or slow caller still reasons about it,
    // and a recreated record's time-seeded token would no longer safely exceed the old one.
    throw invalid(`ttlRetentionMs must be a number of milliseconds from ${DAY_MS} (1 day) to ${365 * DAY_MS} (365 days); got ${describeValue(retention)}`);
  }
  const all = [partitionKey, ...(sortKey ? [sortKey.name] : []), ...Object.values(attr), ...(ttlAttribute ? [ttlAttribute] : [])];
  const duplicate = all.find((a, i) => all.indexOf(a) !== i);
  if (duplicate !== undefined) throw invalid(`attribute name ${JSON.stringify(duplicate)} is used twice; key, lease and TTL attributes must all differ`);
  return { table: options.table, keyPrefix, partitionKey, sortKey, attr, ttlAttribute, ttlRetentionMs: retention };
}

/** The key a layout writes, as a message names it. */
export function describeKey(layout: DynamoDBLayout): string {
  return `partition key ${JSON.stringify(layout.partitionKey)} (S)${layout.sortKey ? `, sort key ${JSON.stringify(layout.sortKey.name)} (S)` : ''}`;
}
