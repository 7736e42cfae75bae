/**
 * The Postgres store: `tryLead()`'s claim in one statement (the lean renewal of a warm holder, the claim function,
 * or the inline claim), the generic read/create/replace, release, and push wake-ups. Its SQL is in statements.ts,
 * its schema in schema.ts.
 * @module
 */

import { BoundedMap } from '../../bounded-map.js';
import { LeaseholdError } from '../../errors.js';
import { storeIdentity } from '../../identity.js';
import { checkStoreTimeout, describeValue } from '../../options.js';
import type { ClaimRequest, ClaimResult, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, ReleaseResult, Store, WriteOutcome } from '../../store.js';
import { firstColumn, outcome, parseRecord, renewed, type Winner } from './answers.js';
import { type ListenSource, PostgresListener } from './notify.js';
import { isNodePostgres, listenSource, type PostgresQueryable, type PostgresStoreOptions, type QueryConfig, qualifiedTable } from './options.js';
import { isCatalogRace, MIGRATE_ATTEMPTS, migrateFailure, postgresSchema } from './schema.js';
import { postgresChannel, type Statement, type StoreStatements, statement, storeStatements } from './statements.js';

/** One listener per pool and table in this process (keyed by the store's identity), shared by its stores. */
const listeners = new WeakMap<object, PostgresListener>();

/** Names whose last winner a store remembers. */
const WINNERS_LIMIT = 1_024;

/** SQLSTATEs after which the store stops naming statements (see {@link PostgresStoreOptions.prepare}). */
const STATEMENT_NOT_PREPARED = new Set(['26000', '42P05']);
/** undefined_function: the claim or release function is absent (or has another signature). */
const UNDEFINED_FUNCTION = '42883';

/** What the stores of each identity remember of the leases they saw won (see {@link PostgresStore}). */
const winnersByIdentity = new WeakMap<object, BoundedMap<string, Winner>>();
/** The names each identity's stores saw refused by a live lease. */
const contendedByIdentity = new WeakMap<object, BoundedMap<string, true>>();

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
  private readonly sql: StoreStatements;
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
  private readonly winners: BoundedMap<string, Winner>;
  /** Names whose last claim through a store of this identity was refused by a live lease (a hint: it picks the statement). */
  private readonly contended: BoundedMap<string, true>;
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
      winners = new BoundedMap(WINNERS_LIMIT);
      winnersByIdentity.set(this.identity, winners);
    }
    this.winners = winners;
    let contended = contendedByIdentity.get(this.identity);
    if (!contended) {
      contended = new BoundedMap(WINNERS_LIMIT);
      contendedByIdentity.set(this.identity, contended);
    }
    this.contended = contended;
    this.listenSource = listenSource(options.pool, options.listen);
    this.sql = storeStatements(this.options);
    this.useFunctions = this.sql.claimFunction !== undefined;
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
        if (attempt >= MIGRATE_ATTEMPTS || !isCatalogRace(error)) throw migrateFailure(error, this.table, this.options.schema);
        // Jittered, so the racers do not meet again at the same instant.
        await new Promise((resolve) => setTimeout(resolve, attempt * (20 + Math.random() * 80)));
      }
    }
    this.useFunctions = this.sql.claimFunction !== undefined;
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

  async claim(request: ClaimRequest): Promise<ClaimResult> {
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
    if (!this.contended.has(name)) this.contended.set(name, true);
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
  }

  /** The current record, for a refused claim's answer. */
  private async current(name: string): Promise<ClaimResult> {
    const read = await this.read(name);
    if (!read.record) throw new LeaseholdError('STORE_CORRUPT', 'postgres store: claim neither wrote nor found a lease');
    return { record: read.record, ...(read.now !== undefined ? { now: read.now } : {}) };
  }

  async releaseHolder(name: string, holder: string, version: string, _clientNow?: number, options?: ReleaseCallOptions): Promise<ReleaseResult> {
    if (this.winners.get(name)?.holder === holder) this.winners.delete(name);
    const r = await this.call(this.sql.releaseFunction, this.sql.release, [name, holder, version, options?.expectedVersion ?? null]);
    return parseRecord(r, name) ?? { record: null };
  }
}
