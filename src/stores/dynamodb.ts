/**
 * `leasehold/dynamodb`: leases in a DynamoDB table, one item per election name. DynamoDB has no server
 * clock in conditions, so expiry is judged by the caller's clock with the `maxClockSkewMs` bound
 * (README safety point 3). A claim from nothing, a takeover of an expired or released lease, a renewal and a
 * refused claim are each one `UpdateItem` (see {@link DynamoDBStore.claim}); the store calls only
 * `UpdateItem` and `GetItem`.
 * @module
 */
import {
  type AttributeValue,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { requestBound } from '../clock.js';
import { isLeaseholdError, LeaseholdError } from '../errors.js';
import { storeIdentity } from '../identity.js';
import { checkStoreTimeout, describeValue, isWellFormed } from '../options.js';
import { planClaim } from '../rule.js';
import type { ClaimRequest, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, StoreCallOptions, WriteOutcome } from '../store.js';

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
// Bounded: the cache of last-seen records only picks which condition to try first.
const SEEN_LIMIT = 1_024;
// A claim tries at most this many conditional writes before it reports what it saw.
const MAX_CLAIM_WRITES = 3;

function invalid(message: string): LeaseholdError {
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

/** A failed condition: the item as it was then (`ALL_OLD`), if the engine sent it. */
class Refusal {
  constructor(readonly item: Record<string, AttributeValue> | undefined) {}
}

/** Builds `#name` / `:value` placeholders so only used names are sent (DynamoDB rejects unused ones). */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private readonly placeholders = new Map<string, string>();
  private v = 0;

  name(attribute: string): string {
    let key = this.placeholders.get(attribute);
    if (key === undefined) {
      key = `#a${this.placeholders.size}`;
      this.placeholders.set(attribute, key);
      this.names[key] = attribute;
    }
    return key;
  }

  value(v: AttributeValue): string {
    const key = `:v${this.v++}`;
    this.values[key] = v;
    return key;
  }
}

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });

/**
 * DynamoDB store. Pass your own `DynamoDBClient`; run {@link DynamoDBStore.createTable} once in development
 * (in production, create the table with your infrastructure tool: partition key `pk` of type S).
 *
 * Expiry is judged by callers' clocks: a contender takes over only after `expiresAt + maxClockSkewMs` on its
 * own clock, so callers' clocks must agree within `maxClockSkewMs` (default 1 000 ms). The table must have
 * one writable home region (not a global table with eventual multi-region consistency; see {@link DynamoDBStore.checkTable}).
 *
 * Its {@link DynamoDBStore.identity} is its client and the layout of its lease items (table, key attributes and
 * prefix, sort-key value, attribute names): stores built on the same client object with the same such options share
 * this process's memory of each lease (DESIGN rule "One identity per lease table"), so a release through one ends
 * the results won through another at once. Build your stores on one client.
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
 * import { tryLead } from 'leasehold'
 * import { DynamoDBStore } from 'leasehold/dynamodb'
 * const store = new DynamoDBStore({ client: new DynamoDBClient({}), table: 'leases' })
 * const lead = await tryLead(store, { name: 'nightly-report', holder: context.awsRequestId, ttlMs: 60_000 })
 */
export class DynamoDBStore implements Store {
  readonly kind = 'dynamodb';
  readonly clockSource = 'client' as const;
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly keyPrefix: string;
  private readonly partitionKey: string;
  private readonly sortKey: { name: string; value: string } | undefined;
  private readonly attr: DynamoDBAttributeNames;
  private readonly ttlAttribute: string | undefined;
  private readonly ttlRetentionMs: number;
  /** Bound of one library call, in ms: the core gives up then; each request also carries an abort signal. */
  readonly timeoutMs: number;
  /** The record each name was last seen with (a hint: it only picks which condition a claim tries first). */
  private readonly seen = new Map<string, LeaseRecord | null>();
  /**
   * What this process's memory of a lease is keyed by: one object per client and item layout (`storeIdentity`).
   * Stores on another client object, or naming the table once by name and once by ARN, get another.
   */
  readonly identity: object;

  constructor(options: DynamoDBStoreOptions) {
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
    this.client = options.client;
    this.table = options.table;
    this.keyPrefix = keyPrefix;
    this.partitionKey = partitionKey;
    this.sortKey = sortKey;
    this.attr = attr;
    this.ttlAttribute = ttlAttribute;
    this.ttlRetentionMs = retention;
    this.timeoutMs = checkStoreTimeout(options.timeoutMs, this.kind);
    // Everything that decides which item, and which of its attributes, a lease name maps to; nothing else (the TTL
    // attribute and timeouts do not change what a read shows). JSON keeps the parts apart whatever they hold.
    const layout = [options.table, keyPrefix, partitionKey, sortKey?.name ?? null, sortKey?.value ?? null, ...Object.values(attr)];
    this.identity = storeIdentity(options.client, `dynamodb items ${JSON.stringify(layout)}`);
  }

  /** The table name (or ARN) this store uses. */
  get tableName(): string {
    return this.table;
  }

  /** The primary key of the item for `name`. */
  private key(name: string): Record<string, AttributeValue> {
    const key: Record<string, AttributeValue> = { [this.partitionKey]: S(`${this.keyPrefix}${name}`) };
    if (this.sortKey) key[this.sortKey.name] = S(this.sortKey.value);
    return key;
  }

  /**
   * A new record's first token: the claim time in epoch ms, not 1. If the item is ever deleted (by the TTL
   * attribute, at least a day after the lease died, or by an operator), the recreated record still starts
   * above every token given before, because DynamoDB takes at most about one write per millisecond per item
   * and each change of holder is a write (README safety point 2). Assumes callers' clocks are right within a day.
   */
  private seedToken(clientNow: number): number {
    return Math.max(1, Math.floor(clientNow));
  }

  private ttlValue(expiresAt: number): AttributeValue {
    return N(Math.ceil((expiresAt + this.ttlRetentionMs) / 1000));
  }

  private remember(name: string, record: LeaseRecord | null): void {
    // Updated in place (a delete and re-insert per call would churn the map's table): the oldest-inserted goes first.
    this.seen.set(name, record);
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }

  /** Sends a command; a failed condition comes back as a {@link Refusal}, other errors are thrown. */
  private async send<T>(command: object, options?: StoreCallOptions, budgetMs?: number): Promise<T | Refusal> {
    try {
      // The core's signal aborts when the call's bound runs out (for a claim, the lease's validity window: an
      // answer after it wins nothing usable, and the core resolves the now-ambiguous write by reading back).
      // Each request is also bounded in real time by timeoutMs (and a claim's by what is left of its window),
      // so the SDK's own retries stop even under an injected clock.
      const bound = requestBound(options?.signal, Math.min(this.timeoutMs, budgetMs ?? Number.POSITIVE_INFINITY));
      try {
        return (await this.client.send(command as never, { abortSignal: bound.signal })) as T;
      } finally {
        bound.done();
      }
    } catch (error) {
      const e = error as { name?: unknown; message?: unknown; Item?: Record<string, AttributeValue> };
      if (e.name === 'ConditionalCheckFailedException') return new Refusal(e.Item);
      if (e.name === 'ResourceNotFoundException') {
        throw new LeaseholdError(
          'STORE_UNAVAILABLE',
          `dynamodb store: table ${this.table} does not exist (or is in another region or account); create it with partition key ${JSON.stringify(this.partitionKey)} of type S, or call store.createTable() in development`,
          { cause: error },
        );
      }
      if (e.name === 'ValidationException' && typeof e.message === 'string' && /key|schema/i.test(e.message) && !/expression/i.test(e.message)) {
        throw new LeaseholdError(
          'INVALID_STORE',
          `dynamodb store: table ${this.table} does not have the key this store writes (${this.describeKey()}): ${e.message}. Set partitionKey/sortKey to match the table.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  private describeKey(): string {
    return `partition key ${JSON.stringify(this.partitionKey)} (S)${this.sortKey ? `, sort key ${JSON.stringify(this.sortKey.name)} (S)` : ''}`;
  }

  private toRecord(name: string, item: Record<string, AttributeValue> | undefined): LeaseRecord | null {
    if (item === undefined || Object.keys(item).length === 0) return null;
    const a = this.attr;
    const num = (attribute: string, optional = false): number | undefined => {
      const v = item[attribute];
      if (v === undefined && optional) return undefined;
      const n = v && 'N' in v && typeof v.N === 'string' ? Number(v.N) : Number.NaN;
      if (!Number.isFinite(n)) {
        throw new LeaseholdError(
          'STORE_CORRUPT',
          `dynamodb store: item ${JSON.stringify(`${this.keyPrefix}${name}`)} in ${this.table} has no number in attribute ${JSON.stringify(attribute)} (a foreign writer, or attribute names that differ from the store's options)`,
        );
      }
      return n;
    };
    const str = (attribute: string): string | null => {
      const v = item[attribute];
      return v && 'S' in v && typeof v.S === 'string' ? v.S : null;
    };
    const version = str(a.version);
    if (version === null) {
      throw new LeaseholdError(
        'STORE_CORRUPT',
        `dynamodb store: item ${JSON.stringify(`${this.keyPrefix}${name}`)} in ${this.table} has no string attribute ${JSON.stringify(a.version)}`,
      );
    }
    const expiresAt = num(a.expiresAt) as number;
    return {
      name,
      holder: str(a.holder),
      token: num(a.token) as number,
      // Absent while released (so the next claim stamps its own); report the release time then.
      acquiredAt: num(a.acquiredAt, true) ?? expiresAt,
      expiresAt,
      version,
      data: str(a.data),
    };
  }

  /** Reads the lease with a strongly consistent `GetItem`. */
  read(name: string, options?: StoreCallOptions): Promise<ReadResult> {
    return this.readWithin(name, undefined, options);
  }

  private async readWithin(name: string, budgetMs: number | undefined, options?: StoreCallOptions): Promise<ReadResult> {
    const out = await this.send<{ Item?: Record<string, AttributeValue> }>(
      new GetItemCommand({ TableName: this.table, Key: this.key(name), ConsistentRead: true }),
      options,
      budgetMs,
    );
    const record = this.toRecord(name, out instanceof Refusal ? out.item : out.Item);
    this.remember(name, record);
    return { record };
  }

  /** The SET clauses every lease write shares: expiry, version, payload and the TTL attribute. */
  private stamp(e: Expression, set: string[], remove: string[], expiresAt: number, version: string, data: string | null): void {
    const a = this.attr;
    set.push(`${e.name(a.expiresAt)} = ${e.value(N(expiresAt))}`, `${e.name(a.version)} = ${e.value(S(version))}`);
    if (data !== null) set.push(`${e.name(a.data)} = ${e.value(S(data))}`);
    else remove.push(e.name(a.data));
    if (this.ttlAttribute) set.push(`${e.name(this.ttlAttribute)} = ${e.value(this.ttlValue(expiresAt))}`);
  }

  /**
   * `UpdateItem` conditional on absence (the key attribute does not exist). The token is the larger of the
   * core's and a time-derived seed, so a record recreated after a deletion still gets a larger token (see
   * the class notes). An `UpdateItem`, not a `PutItem`, so the store needs only `GetItem` and `UpdateItem`.
   */
  async create(write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome> {
    const e = new Expression();
    const a = this.attr;
    const set = [`${e.name(a.token)} = ${e.value(N(Math.max(write.token, this.seedToken(write.clientNow))))}`];
    const remove: string[] = [];
    if (write.holder !== null) {
      set.push(`${e.name(a.holder)} = ${e.value(S(write.holder))}`, `${e.name(a.acquiredAt)} = ${e.value(N(write.acquiredAt ?? write.clientNow))}`);
    }
    this.stamp(e, set, remove, write.clientNow + write.ttlMs, write.version, write.data);
    const condition = `attribute_not_exists(${e.name(this.partitionKey)})`;
    const out = await this.update(write.name, e, set, remove, condition, options);
    if (out instanceof Refusal) return this.refused(write.name, out);
    return { ok: true, record: out.record };
  }

  /** `UpdateItem` conditional on the version (compare-and-swap). A `null` holder writes the released state. */
  async replace(expectedVersion: string, write: LeaseWrite, options?: StoreCallOptions): Promise<WriteOutcome> {
    const e = new Expression();
    const a = this.attr;
    const set = [`${e.name(a.token)} = ${e.value(N(write.token))}`];
    const remove: string[] = [];
    if (write.holder !== null) {
      set.push(`${e.name(a.holder)} = ${e.value(S(write.holder))}`, `${e.name(a.acquiredAt)} = ${e.value(N(write.acquiredAt ?? write.clientNow))}`);
    } else remove.push(e.name(a.holder), e.name(a.acquiredAt));
    this.stamp(e, set, remove, write.clientNow + write.ttlMs, write.version, write.data);
    const condition = `${e.name(a.version)} = ${e.value(S(expectedVersion))}`;
    const out = await this.update(write.name, e, set, remove, condition, options);
    if (out instanceof Refusal) return this.refused(write.name, out);
    return { ok: true, record: out.record };
  }

  private refused(name: string, refusal: Refusal): WriteOutcome {
    // No item on a failed condition: the item is absent, or the engine does not send ALL_OLD; the core reads then.
    if (refusal.item === undefined) return { ok: false, current: null };
    const current = this.toRecord(name, refusal.item);
    this.remember(name, current);
    return { ok: false, current };
  }

  private async update(
    name: string,
    e: Expression,
    set: string[],
    remove: string[],
    condition: string,
    options?: StoreCallOptions,
    budgetMs?: number,
    known?: LeaseRecord,
  ): Promise<Refusal | { record: LeaseRecord }> {
    const out = await this.send<{ Attributes?: Record<string, AttributeValue> }>(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(name),
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: e.names,
        ExpressionAttributeValues: e.values,
        // A write pinned to a known state leaves a known state: nothing to send back.
        ReturnValues: known ? 'NONE' : 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      options,
      budgetMs,
    );
    if (out instanceof Refusal) return out;
    const record = known ?? this.toRecord(name, out.Attributes);
    if (!record) throw new LeaseholdError('STORE_CORRUPT', `dynamodb store: UpdateItem on ${this.table} returned no attributes`);
    this.remember(name, record);
    return { record };
  }

  /**
   * The fused claim: one `UpdateItem` in every common case. One update expression cannot both keep the
   * token (a renewal) and raise it (a new term), so there are two, with conditions that split the claimable
   * states between them (the condition alone decides safety; expiry is judged on the caller's clock against
   * `expiresAt + maxClockSkewMs`, README safety point 3):
   *
   * - **acquire** (a new term): condition "absent, or released, or expired"; `token = if_not_exists(token,
   *   seed - 1) + 1`, so a claim from nothing starts at the seed and a claim after a release or an expiry
   *   raises the token by one, atomically. Sent by default, so a Lambda invocation or a cron run (a new
   *   holder each time) claims, takes over or learns the holder in one request, even in a cold container.
   * - **renew**: condition "mine and live"; keeps the token and the acquisition time. Sent when the store
   *   last saw this holder holding the lease (a warm elector), so a steady-state renewal is one request.
   * - **takeover** of a released state the store saw (its own release, most often): the generic
   *   path's compare-and-swap on that version, token + 1. Renew and takeover are pinned to a known state, so
   *   the state after is known too and nothing is sent back (`ReturnValues: NONE`).
   *
   * - **read first** when the store last saw another holder's live lease (a contender polling): one consistent
   *   `GetItem` answers the refusal at a read's price; when it shows the lease claimable, the acquire follows
   *   (two requests, once per change of holder this store did not see).
   *
   * A refused attempt returns the current item (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so a
   * refused claim costs one request; where no item comes back, the store reads it (consistent read). When
   * the item shows that the other expression applies (a cold renewal by a holder id reused across
   * processes), that one is sent next. If the item carries this attempt's version, it is this attempt's own
   * earlier success (the SDK retried a write whose answer was lost) and is returned as such.
   * All requests of one claim share one time budget: the lease's validity window (the core's signal).
   *
   * Late writes (README safety point 4). A request may reach DynamoDB long after its caller gave up on it (a
   * held packet, a proxy's retry). Expiry is stamped from the caller's clock at the send, so a late write could
   * move it backwards; hence a renewal is pinned to the exact state it extends (`version` = the one last seen)
   * and may only lengthen the lease (`expiresAt <= the new expiry`). A late acquire needs neither: it applies
   * only to a lease that had lapsed (or was released) *before it was sent*, so it never meets a newer term.
   */
  async claim(request: ClaimRequest, options?: StoreCallOptions): Promise<{ record: LeaseRecord }> {
    const deadline = performance.now() + request.ttlMs - request.maxClockSkewMs;
    const budget = () => {
      const left = deadline - performance.now();
      if (left <= 0 || options?.signal?.aborted) {
        throw new LeaseholdError('STORE_UNAVAILABLE', `dynamodb store: claim on ${request.name} ran past the lease's validity window; not leader`);
      }
      return left;
    };
    let current: LeaseRecord | null | undefined = this.seen.get(request.name);
    if (current && planClaim('client', current, request.holder, undefined, request.clientNow, request.maxClockSkewMs).action === 'refuse') {
      // A contender's poll: this store last saw another holder's live lease. A consistent read answers the refusal
      // (one read unit, where a refused write costs a write unit, and a smaller request); only when it shows the
      // lease claimable does the claim follow. The refusal is right as of the read, which saw that lease live.
      current = (await this.readWithin(request.name, budget(), options)).record;
      if (current && planClaim('client', current, request.holder, undefined, request.clientNow, request.maxClockSkewMs).action === 'refuse') {
        return { record: current };
      }
    }
    for (let attempt = 0; attempt < MAX_CLAIM_WRITES; attempt++) {
      const plan = current === undefined ? undefined : planClaim('client', current, request.holder, undefined, request.clientNow, request.maxClockSkewMs);
      // Only an answer to this claim's own request may end it as refused: the cache merely picks the first try.
      if (attempt > 0 && plan?.action === 'refuse' && current) return { record: current };
      // Pinned to the state seen: a renewal, or a new term over a released state (this store's own release, most
      // often). Over an expired one the acquire is sent: its condition holds whoever wrote since, if that lapsed too.
      const pinned = current && (plan?.action === 'renew' || (plan?.action === 'takeover' && current.holder === null)) ? current : undefined;
      const out = !pinned
        ? await this.acquire(request, budget(), options)
        : plan?.action === 'renew'
          ? await this.renew(request, pinned, budget(), options)
          : await this.takeover(request, pinned, budget(), options);
      if (!(out instanceof Refusal)) return out;
      current = out.item === undefined ? (await this.readWithin(request.name, budget(), options)).record : this.toRecord(request.name, out.item);
      this.remember(request.name, current);
      if (current?.version === request.version) return { record: current };
      // A renewal refused though the lease is still the very state it was pinned to: only its expiry guard can
      // have failed, so this is a renewal delivered late (its send time is older than the lease's). Not leader.
      if (pinned && current?.version === pinned.version) return { record: current };
    }
    if (current) return { record: current };
    throw new LeaseholdError(
      'STORE_UNAVAILABLE',
      `dynamodb store: claim on ${request.name} met ${MAX_CLAIM_WRITES} conflicting writes in a row; not leader, try again`,
    );
  }

  private acquire(request: ClaimRequest, budgetMs: number, options?: StoreCallOptions): Promise<Refusal | { record: LeaseRecord }> {
    const e = new Expression();
    const a = this.attr;
    const token = e.name(a.token);
    const expiresAt = e.name(a.expiresAt);
    const set = [
      `${e.name(a.holder)} = ${e.value(S(request.holder))}`,
      `${token} = if_not_exists(${token}, ${e.value(N(this.seedToken(request.clientNow) - 1))}) + ${e.value(N(1))}`,
      `${e.name(a.acquiredAt)} = ${e.value(N(request.clientNow))}`,
    ];
    const remove: string[] = [];
    this.stamp(e, set, remove, request.clientNow + request.ttlMs, request.version, request.data);
    // Expired on the caller's clock, after waiting out the skew bound: expiresAt + skew < now.
    const cutoff = e.value(N(request.clientNow - request.maxClockSkewMs));
    const condition = `attribute_not_exists(${e.name(this.partitionKey)}) OR attribute_not_exists(${e.name(a.holder)}) OR ${expiresAt} < ${cutoff}`;
    return this.update(request.name, e, set, remove, condition, options, budgetMs);
  }

  /**
   * A new term over `seen`, a released state this store saw (its own release, most often): the
   * compare-and-swap of the generic path, pinned to that state's version, so the token (+ 1) and the state after
   * are known and nothing is sent back. A stale `seen` fails the condition, and ALL_OLD says what is there now.
   */
  private takeover(request: ClaimRequest, seen: LeaseRecord, budgetMs: number, options?: StoreCallOptions): Promise<Refusal | { record: LeaseRecord }> {
    const e = new Expression();
    const a = this.attr;
    const token = seen.token + 1;
    const set = [
      `${e.name(a.holder)} = ${e.value(S(request.holder))}`,
      `${e.name(a.token)} = ${e.value(N(token))}`,
      `${e.name(a.acquiredAt)} = ${e.value(N(request.clientNow))}`,
    ];
    const remove: string[] = [];
    const expiresAt = request.clientNow + request.ttlMs;
    this.stamp(e, set, remove, expiresAt, request.version, request.data);
    const after: LeaseRecord = {
      name: request.name,
      holder: request.holder,
      token,
      acquiredAt: request.clientNow,
      expiresAt,
      version: request.version,
      data: request.data,
    };
    return this.update(request.name, e, set, remove, `${e.name(a.version)} = ${e.value(S(seen.version))}`, options, budgetMs, after);
  }

  /**
   * Extends `seen`, the state this store last saw `request.holder` hold, keeping its token. Pinned to that
   * state's version and to a later expiry: a renewal delivered late, after the holder started a newer term or
   * renewed again, fails its condition instead of shortening what is there now.
   */
  private renew(request: ClaimRequest, seen: LeaseRecord, budgetMs: number, options?: StoreCallOptions): Promise<Refusal | { record: LeaseRecord }> {
    const e = new Expression();
    const a = this.attr;
    const set: string[] = [];
    const remove: string[] = [];
    const newExpiresAt = request.clientNow + request.ttlMs;
    this.stamp(e, set, remove, newExpiresAt, request.version, request.data);
    const cutoff = e.value(N(request.clientNow - request.maxClockSkewMs));
    const expiresAt = e.name(a.expiresAt);
    const condition =
      `${e.name(a.holder)} = ${e.value(S(request.holder))} AND ${e.name(a.version)} = ${e.value(S(seen.version))}` +
      ` AND ${expiresAt} >= ${cutoff} AND ${expiresAt} <= ${e.value(N(newExpiresAt))}`;
    // Pinned to the version of `seen`, a success leaves exactly `seen` extended: no need to send the item back.
    const after: LeaseRecord = { ...seen, holder: request.holder, expiresAt: newExpiresAt, version: request.version, data: request.data };
    return this.update(request.name, e, set, remove, condition, options, budgetMs, after);
  }

  /**
   * The fused release: one `UpdateItem` conditional on `holder` (and, when the core knows the state it gives
   * up, on that state's `version`, so a release delivered late does not clear a later renewal), which removes
   * the holder, its acquisition time and payload, and keeps the token (so the next claim's token is larger).
   */
  async releaseHolder(name: string, holder: string, version: string, clientNow: number, options?: ReleaseCallOptions): Promise<{ record: LeaseRecord | null }> {
    const e = new Expression();
    const a = this.attr;
    const h = e.name(a.holder);
    const set: string[] = [];
    const remove = [h, e.name(a.acquiredAt)];
    this.stamp(e, set, remove, clientNow, version, null);
    const pinned = options?.expectedVersion === undefined ? '' : ` AND ${e.name(a.version)} = ${e.value(S(options.expectedVersion))}`;
    // Pinned to a state this store knows (its version), a success leaves a known released state: nothing to send back.
    const seen = this.seen.get(name);
    const known =
      pinned && seen && seen.version === options?.expectedVersion
        ? { name, holder: null, token: seen.token, acquiredAt: clientNow, expiresAt: clientNow, version, data: null }
        : undefined;
    const out = await this.update(name, e, set, remove, `${h} = ${e.value(S(holder))}${pinned}`, options, undefined, known);
    if (!(out instanceof Refusal)) return out;
    if (out.item === undefined) return { record: (await this.read(name, options)).record };
    const record = this.toRecord(name, out.item);
    this.remember(name, record);
    return { record };
  }

  /**
   * Checks the table: its key matches this store's options, and it is not a global table whose replicas
   * accept writes with eventual (last-writer-wins) consistency, where two regions could each grant the lease
   * (README safety point 6). Multi-region strong consistency (`MultiRegionConsistency: STRONG`) passes.
   * Needs `dynamodb:DescribeTable`. Throws a {@link LeaseholdError} with code `INVALID_STORE` when unsafe,
   * `STORE_UNAVAILABLE` when DynamoDB cannot be reached or refuses.
   * (Legacy 2017.11.29 global tables are not visible to `DescribeTable`; do not use them for leases.)
   * @example
   * await store.checkTable()
   */
  async checkTable(): Promise<void> {
    type Described = { Table?: { KeySchema?: { AttributeName?: string; KeyType?: string }[]; Replicas?: unknown[]; MultiRegionConsistency?: string } };
    const out = await this.send<Described>(new DescribeTableCommand({ TableName: this.table })).catch((error: unknown) => {
      throw this.setupFailure(error, 'checkTable()', 'dynamodb:DescribeTable');
    });
    if (out instanceof Refusal) throw new LeaseholdError('STORE_CORRUPT', 'dynamodb store: DescribeTable failed a condition');
    const table = out.Table ?? {};
    const hash = table.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const range = table.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    if (hash !== this.partitionKey || range !== this.sortKey?.name) {
      throw invalid(
        `table ${this.table} has partition key ${JSON.stringify(hash)}${range ? ` and sort key ${JSON.stringify(range)}` : ''}, but this store writes ${this.describeKey()}; set partitionKey/sortKey to match`,
      );
    }
    if ((table.Replicas?.length ?? 0) > 0 && table.MultiRegionConsistency !== 'STRONG') {
      throw invalid(
        `table ${this.table} is a global table with eventually consistent replicas: a conditional write in one region does not see a concurrent one in another, so two leaders could be elected. Keep leases in a single-region table that every region writes to, or use multi-region strong consistency`,
      );
    }
  }

  /**
   * Creates the table (on-demand capacity, partition key and optional sort key of type S) if it does not
   * exist, waits until it is active, enables TTL on {@link DynamoDBStoreOptions.ttlAttribute} when set, then runs
   * {@link DynamoDBStore.checkTable}. For development and tests; create production tables with your infrastructure tool.
   *
   * Safe to run again and concurrently from any number of processes: a caller that finds the table created or being
   * created by another waits for it to be active, and a TTL that another caller enabled (or is enabling) counts as
   * enabled. Needs `dynamodb:CreateTable`, `dynamodb:DescribeTable` and (with a TTL attribute)
   * `dynamodb:UpdateTimeToLive` and `dynamodb:DescribeTimeToLive`.
   * @throws {LeaseholdError} `STORE_UNAVAILABLE` when DynamoDB cannot be reached or refuses (the message says what to
   * do; the SDK's error is the `cause`), `INVALID_STORE` when the table's key or TTL attribute differs from the options.
   * @example
   * await new DynamoDBStore({ client, table: 'leases' }).createTable()
   */
  async createTable(): Promise<void> {
    const keys = [
      { AttributeName: this.partitionKey, KeyType: 'HASH' as const },
      ...(this.sortKey ? [{ AttributeName: this.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ];
    try {
      try {
        await this.client.send(
          new CreateTableCommand({
            TableName: this.table,
            BillingMode: 'PAY_PER_REQUEST',
            KeySchema: keys,
            AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName, AttributeType: 'S' as const })),
          }),
        );
      } catch (error) {
        // The table exists, or another caller is creating it right now: wait for it like for our own.
        if ((error as { name?: unknown }).name !== 'ResourceInUseException') throw error;
      }
      await this.waitUntilActive();
      if (this.ttlAttribute) await this.enableTtl(this.ttlAttribute);
      await this.checkTable();
    } catch (error) {
      const rights = `dynamodb:CreateTable, dynamodb:DescribeTable${this.ttlAttribute ? ', dynamodb:UpdateTimeToLive, dynamodb:DescribeTimeToLive' : ''}`;
      throw this.setupFailure(error, 'createTable()', rights);
    }
  }

  /** Polls `DescribeTable` until the table is `ACTIVE` (at most 5 minutes): 100 ms apart at first, then every second. */
  private async waitUntilActive(): Promise<void> {
    const deadline = performance.now() + 5 * 60_000;
    for (let i = 0; ; i++) {
      try {
        const out = await this.client.send(new DescribeTableCommand({ TableName: this.table }));
        if (out.Table?.TableStatus === 'ACTIVE') return;
      } catch (error) {
        // DescribeTable is eventually consistent: just after a CreateTable it may not see the table yet.
        if ((error as { name?: unknown }).name !== 'ResourceNotFoundException') throw error;
      }
      if (performance.now() > deadline)
        throw new LeaseholdError('STORE_UNAVAILABLE', `dynamodb store: table ${this.table} did not become ACTIVE within 5 minutes`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** i)));
    }
  }

  /**
   * Enables TTL on `attribute`. DynamoDB takes one change of a table's TTL at a time and refuses the others with a
   * `ValidationException` ("already enabled", or "modified multiple times within a fixed interval" while one is
   * being applied): after a refusal, the table's TTL state decides.
   */
  private async enableTtl(attribute: string): Promise<void> {
    try {
      await this.client.send(new UpdateTimeToLiveCommand({ TableName: this.table, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'ValidationException') throw error;
      const ttl = (await this.client.send(new DescribeTimeToLiveCommand({ TableName: this.table }))).TimeToLiveDescription;
      const on = ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING';
      if (on && ttl?.AttributeName === attribute) return;
      if (on) {
        throw invalid(
          `table ${this.table} has TTL on attribute ${JSON.stringify(ttl?.AttributeName)}, but this store's ttlAttribute is ${JSON.stringify(attribute)}; set ttlAttribute to match (a table has one TTL attribute)`,
        );
      }
      throw error;
    }
  }

  /** A failed createTable() or checkTable() as a LeaseholdError that says what to do; the SDK's error is its cause. */
  private setupFailure(error: unknown, what: string, rights: string): LeaseholdError {
    if (isLeaseholdError(error)) return error;
    const e = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
    const name = typeof e.name === 'string' ? e.name : 'Error';
    const detail = typeof e.message === 'string' ? e.message : String(error);
    let advice: string;
    if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|Credentials/.test(name)) {
      advice = `the credentials were refused or lack rights: ${what} needs ${rights} on the table (or create it with your infrastructure tool)`;
    } else if (typeof e.$metadata?.httpStatusCode !== 'number') {
      advice = `DynamoDB could not be reached: check the region, endpoint and network, then call ${what} again`;
    } else {
      advice = `call ${what} again, or create the table with your infrastructure tool`;
    }
    return new LeaseholdError('STORE_UNAVAILABLE', `dynamodb store: ${what} on ${this.table} failed (${name}: ${detail}); ${advice}`, { cause: error });
  }
}
