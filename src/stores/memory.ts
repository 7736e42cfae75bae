/**
 * `leasehold/memory`: an in-process store with the same contract as the database stores, for tests and
 * single-process use. Leases live in a `Map` and vanish with the process.
 * @module
 */
import { type Clock, checkClock, wallNow } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { describeValue } from '../options.js';
import { planClaim } from '../rule.js';
import type { ClaimRequest, ClaimResult, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, ReleaseResult, Store, WriteOutcome } from '../store.js';
import { Watchers } from './watchers.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Clock that stamps and judges expiry (default: the system clock). */
  clock?: Clock;
  /**
   * `'store'` (default): the store's clock judges expiry, like Postgres. `'client'`: each caller's clock
   * does, with the skew bound, like DynamoDB (useful to test client-clock logic without a database).
   */
  clockSource?: 'store' | 'client';
}

/**
 * In-memory Store. Every operation yields to the event loop once, so concurrent callers interleave the
 * way they do against a database. Each instance holds its own leases, so its {@link MemoryStore.identity} is the
 * instance itself: wrappers of it share that, another `MemoryStore` does not.
 * @example
 * const store = new MemoryStore()
 * const lead = await tryLead(store, { name: 'job', holder: 'worker-1', ttlMs: 10_000 })
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly clockSource: 'store' | 'client';
  private readonly clock: Clock;
  private readonly leases = new Map<string, LeaseRecord>();
  private readonly watchers = new Watchers();
  /** What this process's memory of a lease is keyed by: this store (its leases are its own). */
  readonly identity: object = this;

  constructor(options: MemoryStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new LeaseholdError('INVALID_STORE', 'memory store: options must be an object');
    const { clock, clockSource } = options;
    if (clockSource !== undefined && clockSource !== 'store' && clockSource !== 'client') {
      throw new LeaseholdError('INVALID_STORE', `memory store: clockSource must be 'store' or 'client'; got ${describeValue(clockSource)}`);
    }
    this.clock = checkClock(clock, 'memory store');
    this.clockSource = clockSource ?? 'store';
  }

  private now(clientNow: number): number {
    return this.clockSource === 'store' ? wallNow(this.clock, 'memory store') : clientNow;
  }

  private stamp(write: LeaseWrite | ClaimRequest, token: number, acquiredAt: number | null, holder: string | null): LeaseRecord {
    const now = this.now(write.clientNow);
    const record: LeaseRecord = {
      name: write.name,
      holder,
      token,
      acquiredAt: acquiredAt ?? now,
      expiresAt: now + write.ttlMs,
      version: write.version,
      data: write.data,
    };
    this.leases.set(write.name, record);
    return { ...record };
  }

  private get(name: string): LeaseRecord | null {
    const r = this.leases.get(name);
    return r ? { ...r } : null;
  }

  private storeNow(): { now?: number } {
    return this.clockSource === 'store' ? { now: wallNow(this.clock, 'memory store') } : {};
  }

  async read(name: string): Promise<ReadResult> {
    await yieldOnce();
    return { record: this.get(name), ...this.storeNow() };
  }

  async create(write: LeaseWrite): Promise<WriteOutcome> {
    await yieldOnce();
    if (this.leases.has(write.name)) return { ok: false, current: this.get(write.name), ...this.storeNow() };
    return { ok: true, record: this.stamp(write, write.token, write.acquiredAt, write.holder), ...this.storeNow() };
  }

  async replace(expectedVersion: string, write: LeaseWrite): Promise<WriteOutcome> {
    await yieldOnce();
    const current = this.leases.get(write.name);
    if (!current || current.version !== expectedVersion) return { ok: false, current: this.get(write.name), ...this.storeNow() };
    const record = this.stamp(write, write.token, write.acquiredAt, write.holder);
    // A release or a handover through the generic path: the lease changed hands.
    if (write.holder !== current.holder) this.notify(write.name);
    return { ok: true, record, ...this.storeNow() };
  }

  /**
   * Push wake-ups ({@link Store.watch}): `onChange` runs (in a microtask) after each release or handover of `name`
   * through this store. Returns a function that unsubscribes.
   */
  watch(name: string, onChange: () => void): () => void {
    return this.watchers.subscribe(name, onChange);
  }

  private notify(name: string): void {
    const set = this.watchers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      queueMicrotask(() => {
        try {
          fn();
        } catch {
          // A watcher's failure is its own.
        }
      });
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    await yieldOnce();
    const current = this.get(request.name);
    const { now } = this.storeNow();
    // The core's own decision, applied atomically: this store has no language of its own to express it in.
    const plan = planClaim(this.clockSource, current, request.holder, now, request.clientNow, request.maxClockSkewMs);
    // planClaim refuses only when a live record exists.
    if (plan.action === 'refuse') return { record: current as LeaseRecord, now };
    // A renewal delivered late (README safety: "Lost answers and late writes") carries an old client time: on client clocks it must not
    // move the expiry backwards, so it is refused, as DynamoDB's condition refuses it. (Stamped by the store's
    // own clock at execution, a late write only lengthens.)
    if (plan.action === 'renew' && current && this.clockSource === 'client' && request.clientNow + request.ttlMs < current.expiresAt) {
      return { record: current, now };
    }
    return { record: this.stamp(request, plan.token, plan.acquiredAt, request.holder), now };
  }

  async releaseHolder(name: string, holder: string, version: string, clientNow: number, options?: ReleaseCallOptions): Promise<ReleaseResult> {
    await yieldOnce();
    const current = this.leases.get(name);
    const pinned = options?.expectedVersion;
    if (!current || current.holder !== holder || (pinned !== undefined && current.version !== pinned)) return { record: this.get(name), ...this.storeNow() };
    const record = this.stamp(
      { name, holder: null, token: current.token, acquiredAt: current.acquiredAt, ttlMs: 0, version, data: null, clientNow },
      current.token,
      current.acquiredAt,
      null,
    );
    this.notify(name);
    return { record, ...this.storeNow() };
  }
}

// A few microtask turns: enough for concurrent callers to interleave between read and write.
async function yieldOnce(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}
