/**
 * Push wake-ups for the Postgres store: one `LISTEN` connection per pool and table, shared by every watcher of this
 * process, taken lazily on the first watch and given back (closed) when the last one unsubscribes. A release or a
 * handover sends `pg_notify(channel, name)` in its own statement (see statements.ts), so a follower claims at once.
 * Best effort: while the connection is down nothing is pushed and followers poll; it reconnects with a backoff and
 * then wakes every watcher once, since a notification may have been lost meanwhile.
 * @module
 */
import { Watchers } from '../watchers.js';

/** A notification as node-postgres delivers it. */
interface Notification {
  channel: string;
  payload?: string;
}

/**
 * A dedicated connection that can `LISTEN`: what `pg.Pool#connect()` gives (a `PoolClient`), or a connected
 * `pg.Client`. Typed structurally so leasehold does not depend on `pg` at type level.
 */
export interface PostgresListenConnection {
  query(text: string): Promise<unknown>;
  on(event: 'notification', listener: (message: Notification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'notification', listener: (message: Notification) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  /** `PoolClient#release`: `true` (or an error) closes the connection instead of returning it to the pool. */
  release?(destroy?: boolean | Error): void;
}

/** Where the listening connection comes from: the pool (taken and given back), or one the user owns. */
export type ListenSource = { pool: { connect(): Promise<PostgresListenConnection> } } | { client: PostgresListenConnection };

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/** Schedules `fn` without holding the process open (the Elector decides that). */
function later(fn: () => void, ms: number): unknown {
  const timer = setTimeout(fn, ms) as unknown as { unref?: () => void };
  timer.unref?.();
  return timer;
}

/**
 * One channel's listener: watchers by lease name. Not exported from the package; the store's `watch` uses it.
 */
export class PostgresListener {
  private readonly watchers = new Watchers();
  private count = 0;
  private connection: PostgresListenConnection | undefined;
  private connecting: Promise<void> | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: unknown;
  /** Bumped at each (dis)connect, so a late answer of an old connection changes nothing. */
  private epoch = 0;
  /** How many times the connection was (re)established: for tests and figures. */
  connects = 0;

  constructor(
    private readonly source: ListenSource,
    readonly channel: string,
  ) {}

  /** Subscribes `onChange` to pushes for `name`; returns the unsubscribe function. */
  watch(name: string, onChange: () => void): () => void {
    const unsubscribe = this.watchers.subscribe(name, onChange);
    this.count++;
    if (this.count === 1) this.connect();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
      this.count--;
      if (this.count === 0) this.disconnect();
    };
  }

  /** Whether the LISTEN is in place now (pushes arrive). */
  get listening(): boolean {
    return this.connection !== undefined;
  }

  private wakeAll(): void {
    for (const set of this.watchers.values()) for (const fn of set) this.call(fn);
  }

  private call(fn: () => void): void {
    queueMicrotask(() => {
      try {
        fn();
      } catch {
        // A watcher's failure is its own.
      }
    });
  }

  private readonly onNotification = (message: Notification) => {
    if (message.channel !== this.channel || message.payload === undefined) return;
    const set = this.watchers.get(message.payload);
    if (set) for (const fn of set) this.call(fn);
  };

  /** The error listener of one connection: only the current one's error drops the listening. */
  private onErrorOf(connection: PostgresListenConnection): (error: Error) => void {
    return () => {
      if (this.connection !== connection) return;
      // The connection broke (pg_terminate_backend, a restart, a network drop): poll meanwhile, reconnect soon.
      this.drop(true);
      this.retryLater();
    };
  }

  private readonly errorListeners = new WeakMap<PostgresListenConnection, (error: Error) => void>();

  private connect(): void {
    if (this.connection || this.connecting || this.count === 0) return;
    const epoch = ++this.epoch;
    this.connecting = (async () => {
      let connection: PostgresListenConnection | undefined;
      try {
        connection = 'client' in this.source ? this.source.client : await this.source.pool.connect();
        // Before the LISTEN: a checked-out pg client with no error listener would crash the process on a drop.
        const onError = this.onErrorOf(connection);
        this.errorListeners.set(connection, onError);
        connection.on('error', onError);
        connection.on('notification', this.onNotification);
        await connection.query(`LISTEN "${this.channel}"`);
      } catch {
        if (connection) this.detach(connection, true);
        if (epoch === this.epoch) this.retryLater();
        return;
      } finally {
        if (epoch === this.epoch) this.connecting = undefined;
      }
      if (epoch !== this.epoch || this.count === 0) {
        this.detach(connection, true);
        return;
      }
      this.connection = connection;
      this.connects++;
      this.retryMs = FIRST_RETRY_MS;
      // A reconnect: whatever was released while nobody listened is found by one claim now, not at the next poll.
      if (this.connects > 1) this.wakeAll();
    })();
  }

  private retryLater(): void {
    if (this.count === 0 || this.retryTimer !== undefined) return;
    const ms = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retryTimer = later(() => {
      this.retryTimer = undefined;
      this.connect();
    }, ms);
  }

  private drop(broken: boolean): void {
    this.epoch++;
    this.connecting = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) this.detach(connection, broken);
  }

  private detach(connection: PostgresListenConnection, broken: boolean): void {
    connection.removeListener('notification', this.onNotification);
    if ('client' in this.source) {
      // The user's own client: leave it open; stop listening unless it broke.
      const onError = this.errorListeners.get(connection);
      if (onError) connection.removeListener('error', onError);
      if (!broken) connection.query(`UNLISTEN "${this.channel}"`).catch(() => undefined);
      return;
    }
    // Closed, not returned: a pooled connection must not carry a LISTEN to the next borrower. The error listener
    // stays: a closing connection may still report an error, which must not crash the process.
    try {
      connection.release?.(true);
    } catch {
      // Already released.
    }
  }

  private disconnect(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer as Parameters<typeof clearTimeout>[0]);
    this.retryTimer = undefined;
    this.retryMs = FIRST_RETRY_MS;
    this.drop(false);
  }
}
