/**
 * The Durable Object side of `leasehold/durable-object`: {@link LeaseDurableObject}, one object per lease name, which
 * checks each request by the core's rules and applies the whole step (read, decide, write) atomically in its storage.
 * Re-exported by durable-object.ts, which users import.
 * @module
 */
import { planClaim } from '../rule.js';
import type { LeaseRecord } from '../store.js';
import { checkOperation, checkOwnName, checkWriteAgainst, type Operation, refusal } from './durable-object-request.js';

/** The part of `DurableObjectState` that {@link LeaseDurableObject} uses. */
export interface DurableObjectStateLike {
  /** The object's id; `name` is the name it was made from (`idFromName(name)`), where the runtime gives it. */
  readonly id?: { readonly name?: string };
  readonly storage: {
    get<T = unknown>(key: string): Promise<T | undefined>;
    put<T>(key: string, value: T): Promise<void>;
  };
}

// The object's one storage key: each object holds exactly one lease.
const KEY = 'lease';

/**
 * The Durable Object that holds one lease. Export it from your Worker's entry module and bind it:
 *
 * ```toml
 * [[durable_objects.bindings]]
 * name = "LEASES"
 * class_name = "LeaseDurableObject"
 *
 * [[migrations]]
 * tag = "leasehold-v1"
 * new_sqlite_classes = ["LeaseDurableObject"]
 * ```
 *
 * Each request runs one step of the election on the object's own record, stamped and judged by the object's clock
 * (`Date.now()`). The read, the decision and the write are atomic: between them the object awaits only its own
 * storage, and the runtime's input gate delivers no other request meanwhile; its output gate holds the answer back
 * until the write is durable, so no caller learns of a write that could still be lost. Records are never deleted
 * (release clears the holder), so fencing tokens keep rising across releases.
 *
 * The object trusts no body (anyone with the binding can send one): each request is checked by the core's rules
 * first (see `durable-object-request.ts`), and one that would break the lease is answered HTTP 400 and writes nothing.
 */
export class LeaseDurableObject {
  /** The object's state (storage); kept for subclasses. */
  protected readonly state: DurableObjectStateLike;
  /** Long polls waiting for a release or a handover of this object's lease (in memory: a restart answers them). */
  private readonly waiters = new Set<() => void>();

  constructor(state: DurableObjectStateLike, _env?: unknown) {
    this.state = state;
  }

  /** The object's clock: the one that stamps and judges expiry. */
  protected now(): number {
    return Date.now();
  }

  /**
   * Answers one store call (see {@link DurableObjectStore}). Every request is checked first, by the core's rules:
   * one that would break the lease (another lease's name, a bad holder, ttl, payload or version, a fencing token that
   * goes back or jumps) is answered HTTP 400 `{ code, message }` and writes nothing, whoever sent it.
   */
  async fetch(request: Request): Promise<Response> {
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return Response.json({ code: 'INVALID_OPTION', message: 'LeaseDurableObject refused the request: send one JSON store operation' }, { status: 400 });
    }
    try {
      return Response.json(await this.apply(checkOperation(body)));
    } catch (error) {
      return refusal(error);
    }
  }

  /**
   * The name of the lease this object holds: the runtime's word where it gives one (`state.id.name`, the name the
   * object's id was made from), else the name of its record, pinned by its first write.
   */
  private ownName(current: LeaseRecord | null): string | undefined {
    const given = this.state.id?.name;
    return typeof given === 'string' && given.length > 0 ? given : current?.name;
  }

  private async load(): Promise<LeaseRecord | null> {
    return (await this.state.storage.get<LeaseRecord>(KEY)) ?? null;
  }

  private async store(record: LeaseRecord): Promise<LeaseRecord> {
    await this.state.storage.put(KEY, record);
    return record;
  }

  private stamp(
    name: string,
    holder: string | null,
    token: number,
    acquiredAt: number | null,
    ttlMs: number,
    version: string,
    data: string | null,
  ): LeaseRecord {
    const now = this.now();
    return { name, holder, token, acquiredAt: acquiredAt ?? now, expiresAt: now + ttlMs, version, data };
  }

  /** Answers every waiting long poll: the lease was released or handed over. */
  private wakeWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** A `wait` request: held until a release or a handover wakes it, or `waitMs` runs out. */
  private wait(waitMs: number): Promise<object> {
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve({ changed, now: this.now() });
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), waitMs);
      this.waiters.add(wake);
    });
  }

  private async apply(o: Operation): Promise<object> {
    const current = await this.load();
    const now = this.now();
    // Between the load and the write the object awaits only its own storage: checks and write are one atomic step.
    checkOwnName(o, this.ownName(current));
    switch (o.op) {
      case 'read':
        return { record: current, now };
      case 'wait':
        return this.wait(o.waitMs);
      case 'create': {
        if (current !== null) return { ok: false, current, now };
        const w = o.write;
        checkWriteAgainst(w, null);
        return { ok: true, record: await this.store(this.stamp(w.name, w.holder, w.token, w.acquiredAt, w.ttlMs, w.version, w.data)), now };
      }
      case 'replace': {
        if (current === null || current.version !== o.expectedVersion) return { ok: false, current, now };
        const w = o.write;
        checkWriteAgainst(w, current);
        // Another holder takes a lease over only once it is released or has run out on this object's clock: a
        // caller that read it expired finds it so here too (the clock only moves on), so only a caller that never
        // read it meets this, and it is answered as a lost race.
        if (w.holder !== null && w.holder !== current.holder && current.holder !== null && now < current.expiresAt) return { ok: false, current, now };
        const record = await this.store(this.stamp(w.name, w.holder, w.token, w.acquiredAt, w.ttlMs, w.version, w.data));
        // A release through the generic path: the waiters claim at once.
        if (w.holder !== current.holder) this.wakeWaiters();
        return { ok: true, record, now };
      }
      case 'claim': {
        const r = o.request;
        // The core's decision, written once, applied here atomically on the object's clock.
        const plan = planClaim('store', current, r.holder, now, r.clientNow, r.maxClockSkewMs);
        if (plan.action === 'refuse') return { record: current, now };
        return { record: await this.store(this.stamp(r.name, r.holder, plan.token, plan.acquiredAt, r.ttlMs, r.version, r.data)), now };
      }
      case 'release': {
        // With expectedVersion, only exactly the state the holder gave up: a release delivered late must not clear
        // a renewal made after it.
        if (current === null || current.holder !== o.holder || (o.expectedVersion !== undefined && current.version !== o.expectedVersion)) {
          return { record: current, now };
        }
        // Keep the record and its token: the next holder's token must still be larger.
        const record = await this.store(this.stamp(o.name, null, current.token, current.acquiredAt, 0, o.version, null));
        this.wakeWaiters();
        return { record, now };
      }
    }
  }
}
