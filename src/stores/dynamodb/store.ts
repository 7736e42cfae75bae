// Over 400 lines: the fused claim (acquire, takeover, renew) and the generic writes share the key, stamp and send of
// one store's state; options, expressions, item mapping and admin are already apart.
/**
 * The DynamoDB store: reads (`GetItem`), the conditional writes of the generic path, the fused claim (one
 * `UpdateItem` per attempt, its condition picked by the record last seen) and release. Options and item layout are in
 * options.ts, expressions in expressions.ts, item mapping in item.ts, table creation and checks in admin.ts.
 * @module
 */
import { type AttributeValue, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { BoundedMap } from '../../bounded-map.js';
import { requestBound } from '../../clock.js';
import { LeaseholdError } from '../../errors.js';
import { storeIdentity } from '../../identity.js';
import { checkStoreTimeout } from '../../options.js';
import { planClaim } from '../../rule.js';
import type { ClaimRequest, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, StoreCallOptions, WriteOutcome } from '../../store.js';
import { checkTable, createTable } from './admin.js';
import { Expression, N, Refusal, S } from './expressions.js';
import { toRecord } from './item.js';
import { checkLayout, type DynamoDBAttributeNames, type DynamoDBLayout, type DynamoDBStoreOptions, describeKey } from './options.js';

// Bounded: the cache of last-seen records only picks which condition to try first.
const SEEN_LIMIT = 1_024;
// A claim tries at most this many conditional writes before it reports what it saw.
const MAX_CLAIM_WRITES = 3;

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
  /** Its options, checked: where its items are and which attributes they hold. */
  private readonly layout: DynamoDBLayout;
  /** Bound of one library call, in ms: the core gives up then; each request also carries an abort signal. */
  readonly timeoutMs: number;
  /** The record each name was last seen with (a hint: it only picks which condition a claim tries first). */
  private readonly seen = new BoundedMap<string, LeaseRecord | null>(SEEN_LIMIT);
  /**
   * What this process's memory of a lease is keyed by: one object per client and item layout (`storeIdentity`).
   * Stores on another client object, or naming the table once by name and once by ARN, get another.
   */
  readonly identity: object;

  constructor(options: DynamoDBStoreOptions) {
    const layout = checkLayout(options);
    this.layout = layout;
    this.client = options.client;
    this.table = layout.table;
    this.keyPrefix = layout.keyPrefix;
    this.partitionKey = layout.partitionKey;
    this.sortKey = layout.sortKey;
    this.attr = layout.attr;
    this.ttlAttribute = layout.ttlAttribute;
    this.ttlRetentionMs = layout.ttlRetentionMs;
    this.timeoutMs = checkStoreTimeout(options.timeoutMs, this.kind);
    // Everything that decides which item, and which of its attributes, a lease name maps to; nothing else (the TTL
    // attribute and timeouts do not change what a read shows). JSON keeps the parts apart whatever they hold.
    const { keyPrefix, partitionKey, sortKey, attr } = layout;
    const items = [layout.table, keyPrefix, partitionKey, sortKey?.name ?? null, sortKey?.value ?? null, ...Object.values(attr)];
    this.identity = storeIdentity(options.client, `dynamodb items ${JSON.stringify(items)}`);
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
   * and each change of holder is a write (README safety: "Fencing tokens"). Assumes callers' clocks are right within a day.
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
          `dynamodb store: table ${this.table} does not have the key this store writes (${describeKey(this.layout)}): ${e.message}. Set partitionKey/sortKey to match the table.`,
          { cause: error },
        );
      }
      throw error;
    }
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
    const record = toRecord(this.layout, name, out instanceof Refusal ? out.item : out.Item);
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
    const current = toRecord(this.layout, name, refusal.item);
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
    const record = known ?? toRecord(this.layout, name, out.Attributes);
    if (!record) throw new LeaseholdError('STORE_CORRUPT', `dynamodb store: UpdateItem on ${this.table} returned no attributes`);
    this.remember(name, record);
    return { record };
  }

  /**
   * The fused claim: one `UpdateItem` in every common case. One update expression cannot both keep the
   * token (a renewal) and raise it (a new term), so there are two, with conditions that split the claimable
   * states between them (the condition alone decides safety; expiry is judged on the caller's clock against
   * `expiresAt + maxClockSkewMs`, README safety: "Whose clock"):
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
   * Late writes (README safety: "Lost answers and late writes"). A request may reach DynamoDB long after its caller gave up on it (a
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
      current = out.item === undefined ? (await this.readWithin(request.name, budget(), options)).record : toRecord(this.layout, request.name, out.item);
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
    const record = toRecord(this.layout, name, out.item);
    this.remember(name, record);
    return { record };
  }

  /**
   * Checks the table: its key matches this store's options, and it is not a global table whose replicas
   * accept writes with eventual (last-writer-wins) consistency, where two regions could each grant the lease
   * (README safety: "One linearizable home"). Multi-region strong consistency (`MultiRegionConsistency: STRONG`) passes.
   * Needs `dynamodb:DescribeTable`. Throws a {@link LeaseholdError} with code `INVALID_STORE` when unsafe,
   * `STORE_UNAVAILABLE` when DynamoDB cannot be reached or refuses.
   * (Legacy 2017.11.29 global tables are not visible to `DescribeTable`; do not use them for leases.)
   * @example
   * await store.checkTable()
   */
  checkTable(): Promise<void> {
    return checkTable(this.layout, (command) => this.send(command));
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
  createTable(): Promise<void> {
    return createTable(this.client, this.layout, () => this.checkTable());
  }
}
