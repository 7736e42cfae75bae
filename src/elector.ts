/**
 * The elector: for long-lived processes (a container's singleton loop). It polls while a follower,
 * renews well inside the lease while leader, and says at once when leadership is lost — no later than
 * validity runs out, even when the store cannot be reached (README safety point 5).
 * @module
 */
import { type Clock, checkClock, type TimerHandle } from './clock.js';
import { LeaseholdError } from './errors.js';
import { checkStore, checkStoreLimits, type LeadResult, release, tryLead } from './lead.js';
import { checkDuration, checkLeadOptions, type LeadParams, MAX_TTL_MS } from './options.js';
import type { Store } from './store.js';

/** Options of {@link Elector}. */
export interface ElectorOptions {
  /** Election name. */
  name: string;
  /** This process's id, unique among contenders. */
  holder: string;
  /** Lease length in ms (default 15 000). */
  ttlMs?: number;
  /** Clock-skew margin in ms (default 1 000). */
  maxClockSkewMs?: number;
  /** How often the leader renews, in ms (default `ttlMs / 3`). Must be shorter than `ttlMs - maxClockSkewMs`. */
  renewEveryMs?: number;
  /** How often a follower tries to claim, in ms (default `ttlMs / 3`, less up to 10% jitter). Failover takes at most ttl + skew + this. */
  retryEveryMs?: number;
  /** Payload stored with the lease while this process leads. */
  data?: string;
  /** Clock (default: the system clock). */
  clock?: Clock;
}

/** What the elector tells its listeners. */
export type ElectorEvent =
  /** This process became leader (a new term, with a new fencing token). */
  | { type: 'elected'; lead: LeadResult }
  /** This process renewed its lease. */
  | { type: 'renewed'; lead: LeadResult }
  /** This process lost leadership: taken over, released, or validity ran out before a renewal succeeded. */
  | { type: 'lost'; reason: 'taken-over' | 'expired' | 'stopped'; lead?: LeadResult }
  /** As a follower, this process saw the leader change (or the lease fall vacant: `leader: null`). */
  | { type: 'leader'; leader: string | null; token: number }
  /** An attempt failed (the store was unreachable or answered with an error). Not leader meanwhile. */
  | { type: 'error'; error: unknown };

/**
 * Runs `tryLead` in a loop and reports leadership changes.
 * @example
 * const elector = new Elector(store, { name: 'singleton', holder: `${hostname()}:${process.pid}` })
 * elector.on((e) => { if (e.type === 'elected') startWork(e.lead.signal, e.lead.token) })
 * elector.start()
 * process.on('SIGTERM', () => elector.stop())
 */
export class Elector {
  private readonly store: Store;
  private readonly params: LeadParams;
  private readonly clock: Clock;
  private readonly renewEveryMs: number;
  private readonly retryEveryMs: number;
  private readonly minWriteIntervalMs: number;
  private readonly listeners = new Set<(event: ElectorEvent) => void>();
  private lead: LeadResult | undefined;
  private lastLeader: string | null | undefined;
  private lastToken = -1;
  private attemptTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;

  constructor(store: Store, options: ElectorOptions) {
    this.store = checkStore(store);
    this.params = checkLeadOptions(options);
    checkStoreLimits(this.store, this.params.ttlMs);
    this.clock = checkClock(options.clock);
    const window = this.params.ttlMs - this.params.maxClockSkewMs;
    this.renewEveryMs = checkDuration(options.renewEveryMs, 'renewEveryMs', this.params.ttlMs / 3, MAX_TTL_MS, 1);
    this.retryEveryMs = checkDuration(options.retryEveryMs, 'retryEveryMs', this.params.ttlMs / 3, MAX_TTL_MS, 1);
    const minWrite = store.limits?.minWriteIntervalMs ?? 0;
    if (this.renewEveryMs < minWrite) {
      throw new LeaseholdError(
        'INVALID_OPTION',
        `renewEveryMs (${this.renewEveryMs}) must be at least ${minWrite}: the ${store.kind} store sustains about one write every ${minWrite} ms per lease`,
      );
    }
    this.minWriteIntervalMs = minWrite;
    if (this.renewEveryMs >= window) {
      throw new LeaseholdError(
        'INVALID_OPTION',
        `renewEveryMs (${this.renewEveryMs}) must be shorter than ttlMs - maxClockSkewMs (${window}), or the lease lapses between renewals`,
      );
    }
  }

  /** Adds a listener; returns a function that removes it. */
  on(listener: (event: ElectorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True while this process leads and its validity has not run out (re-checked on each call). */
  isLeader(): boolean {
    return this.lead?.stillLeader() ?? false;
  }

  /** The latest leadership result while leader, else `undefined`. */
  get current(): LeadResult | undefined {
    return this.isLeader() ? this.lead : undefined;
  }

  /** Starts campaigning: the first attempt runs at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /**
   * Stops campaigning. By default releases the lease if held, so another contender takes over at its next
   * poll; `{ release: false }` just stops (as a crash would, the lease then runs out on its own). Settles within
   * the store's bound even when the store never answers: a release that fails is reported as an `error` event.
   */
  async stop(options: { release?: boolean } | undefined = {}): Promise<void> {
    this.running = false;
    this.clearTimers();
    await this.inFlight;
    const wasLeading = this.lead !== undefined;
    const lead = this.lead;
    this.lead = undefined;
    if (wasLeading) this.emit({ type: 'lost', reason: 'stopped', ...(lead ? { lead } : {}) });
    if (wasLeading && options.release !== false) {
      try {
        await release(this.store, { name: this.params.name, holder: this.params.holder, clock: this.clock });
      } catch (error) {
        // The store could not confirm the release (bounded by its timeout): the lease runs out on its own.
        this.emit({ type: 'error', error });
      }
    }
  }

  private emit(event: ElectorEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the election loop.
      }
    }
  }

  private clearTimers(): void {
    if (this.attemptTimer !== undefined) this.clock.clearTimeout(this.attemptTimer);
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.attemptTimer = this.expiryTimer = undefined;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.attemptTimer = this.clock.setTimeout(() => {
      this.attemptTimer = undefined;
      this.inFlight = this.attempt().finally(() => {
        this.inFlight = undefined;
      });
    }, ms);
  }

  private async attempt(): Promise<void> {
    let result: LeadResult;
    try {
      result = await tryLead(this.store, { ...this.params, data: this.params.data ?? undefined, clock: this.clock });
    } catch (error) {
      if (!this.running) return;
      this.emit({ type: 'error', error });
      // Keep leading only on the validity already earned; the expiry timer ends it if retries keep failing.
      this.schedule(this.lead ? Math.max(Math.min(this.renewEveryMs, this.retryEveryMs) / 2, this.minWriteIntervalMs) : this.retryEveryMs);
      return;
    }
    if (!this.running) return;
    if (result.isLeader) {
      const newTerm = this.lead === undefined || this.lead.token !== result.token;
      this.lead = result;
      this.watchExpiry(result);
      this.emit(newTerm ? { type: 'elected', lead: result } : { type: 'renewed', lead: result });
      this.lastLeader = this.params.holder;
      this.lastToken = result.token;
      this.schedule(this.renewEveryMs);
      return;
    }
    if (this.lead) this.loseLeadership('taken-over');
    if (result.leader !== this.lastLeader || result.token !== this.lastToken) {
      this.lastLeader = result.leader;
      this.lastToken = result.token;
      this.emit({ type: 'leader', leader: result.leader, token: result.token });
    }
    // Up to 10% early, never late: a fleet's followers spread out instead of polling in lockstep,
    // and the failover bound (ttl + skew + retryEveryMs) still holds.
    this.schedule(this.retryEveryMs * (1 - 0.1 * Math.random()));
  }

  private watchExpiry(result: LeadResult): void {
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    const check = () => {
      this.expiryTimer = undefined;
      if (this.lead !== result) return;
      const left = result.remainingMs();
      if (left <= 0) this.loseLeadership('expired');
      else this.expiryTimer = this.clock.setTimeout(check, left);
    };
    this.expiryTimer = this.clock.setTimeout(check, result.remainingMs());
  }

  private loseLeadership(reason: 'taken-over' | 'expired'): void {
    const lead = this.lead;
    this.lead = undefined;
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.emit({ type: 'lost', reason, ...(lead ? { lead } : {}) });
  }
}
