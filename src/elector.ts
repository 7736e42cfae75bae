// Over 400 lines: the campaign loop and the public methods that steer it (start, stop, resign, handover) share one
// state machine; its options, events, prefer requests and waiters are already in files of their own.
/**
 * The elector: for long-lived processes (a container's singleton loop). It polls while a follower,
 * renews well inside the lease while leader, and says at once when leadership is lost — no later than
 * validity runs out, even when the store cannot be reached (README safety: "Fail closed, and every call settles"). Its events follow one
 * state machine (follower → `elected` → `renewed`… → `lost` → follower), and each term has one signal.
 * @module
 */
import { type Clock, holdProcessOpen, type TimerHandle } from './clock.js';
import { type ElectorEvent, notLeaderSignal } from './elector-events.js';
import { checkElectorOptions, type ElectorOptions } from './elector-options.js';
import { LeaseholdError } from './errors.js';
import { getLeader, handOver, type LeadResult, release, tryLead } from './lead.js';
import { Listeners } from './listeners.js';
import { checkDuration, checkHolder, type LeadParams, MAX_TTL_MS } from './options.js';
import { PreferRequest } from './prefer-request.js';
import { StartStop } from './start-stop.js';
import type { Store } from './store.js';
import { checkStore } from './store-checks.js';
import { LeadershipTerm } from './term.js';
import { Waiters } from './waiters.js';

export type { ElectorEvent, LostReason } from './elector-events.js';
export type { ElectorOptions } from './elector-options.js';
/** Suffix of the request lease a preferred contender holds (see {@link ElectorOptions.preferred}). */
export { PREFER_REQUEST_SUFFIX } from './options.js';

/**
 * Runs `tryLead` in a loop and reports leadership changes. `start()` and `stop()` are serialized: a `start()`
 * while a `stop()` is still releasing waits for it, so the release never clears the restarted term.
 * @example
 * const elector = new Elector(store, { name: 'singleton', holder: `${os.hostname()}:${process.pid}` })
 * elector.on((e) => { if (e.type === 'elected') startWork({ signal: e.lead.signal, token: e.lead.token }) })
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
  private readonly listeners = new Listeners<ElectorEvent>();
  private readonly waiters = new Waiters<LeadResult>();
  private term: LeadershipTerm | undefined;
  /** A lease an attempt won after `stop()` began: `stop()` gives it back. */
  private orphan: LeadResult | undefined;
  private lastLeader: string | null | undefined;
  private lastToken = -1;
  private attemptTimer: TimerHandle | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private readonly lifecycle = new StartStop();
  private readonly keepAlive: boolean;
  /** Lets the process exit again: set while started with `keepAlive`. */
  private letExit: (() => void) | undefined;
  private readonly wakeOnPush: boolean;
  /** Ends the subscription to the store's wake-ups: set while started on a store with `watch`. */
  private unwatch: (() => void) | undefined;
  /** A wake-up came while an attempt was in flight: claim again once it settles. */
  private wakePending = false;
  /** Wake-ups are ignored until then (monotonic ms): after a resign or a handover, this process stands aside. */
  private pausedUntil = Number.NEGATIVE_INFINITY;
  private readonly preferred: boolean | undefined;
  /** The request this process last yielded to (holder and its request's token): never the same one twice. */
  private yieldedTo: { holder: string; token: number } | undefined;
  /** The request lease a preferred process holds while it follows (see {@link ElectorOptions.preferred}). */
  private readonly requests: PreferRequest;

  constructor(store: Store, options: ElectorOptions) {
    this.store = checkStore(store);
    ({
      params: this.params,
      clock: this.clock,
      renewEveryMs: this.renewEveryMs,
      retryEveryMs: this.retryEveryMs,
      minWriteIntervalMs: this.minWriteIntervalMs,
      keepAlive: this.keepAlive,
      wakeOnPush: this.wakeOnPush,
      preferred: this.preferred,
    } = checkElectorOptions(this.store, options));
    this.requests = new PreferRequest(this.store, this.params, this.clock, (error) => this.emit({ type: 'error', error }));
  }

  /**
   * A leader that yields (`preferred: false`), after a renewal: hands over to the holder of the request lease, if
   * another process holds it and this one has not yielded to that request before. True when it handed over.
   */
  private async yieldToPreferred(): Promise<boolean> {
    let request: Awaited<ReturnType<PreferRequest['read']>>;
    try {
      request = await this.requests.read();
    } catch {
      // Unreadable: no handover now (the next renewal asks again); the lease goes on as it was.
      return false;
    }
    if (!request || request.holder === this.params.holder || !this.running || !this.term) return false;
    if (this.yieldedTo?.holder === request.holder && this.yieldedTo.token === request.token) return false;
    this.yieldedTo = { holder: request.holder, token: request.token };
    await this.handOverNow(request.holder, this.retryEveryMs * 2, 0);
    return true;
  }

  /** Adds a listener; returns a function that removes it. A listener that throws does not stop the election. */
  on(listener: (event: ElectorEvent) => void): () => void {
    return this.listeners.on(listener);
  }

  /** True while this process leads and its validity has not run out (re-checked on each call). */
  isLeader(): boolean {
    return this.term?.lead.stillLeader() ?? false;
  }

  /** The current term while leader (fields follow renewals; `signal` is the term's), else `undefined`. */
  get current(): LeadResult | undefined {
    return this.isLeader() ? this.term?.lead : undefined;
  }

  /** The current term's signal: live while this process leads, aborted once the term ends (already aborted while not leader). */
  get signal(): AbortSignal {
    return this.isLeader() && this.term ? this.term.lead.signal : notLeaderSignal();
  }

  /**
   * Starts campaigning: the first attempt runs at once (after a `stop()` still under way, once it is done, unless
   * another `stop()` comes first). Resolves once started (never rejects; a caller may ignore it, as with the
   * `void` this returned before); starting twice does nothing.
   */
  start(): Promise<void> {
    return this.lifecycle.start(() => {
      if (this.running) return;
      this.running = true;
      if (this.keepAlive) this.letExit ??= holdProcessOpen();
      this.subscribe();
      this.schedule(0);
    });
  }

  /** While standing aside: claims at once only if the lease is reserved for this process (a handover named it). */
  private async claimIfNamed(): Promise<void> {
    try {
      const leader = await getLeader(this.store, this.params.name, { maxClockSkewMs: this.params.maxClockSkewMs, clock: this.clock });
      if (leader?.holder !== this.params.holder || !this.running || this.term !== undefined) return;
    } catch {
      return; // The poll after the pause finds it.
    }
    this.pausedUntil = Number.NEGATIVE_INFINITY;
    this.wake();
  }

  /** Subscribes to the store's wake-ups, if it has them (polling goes on regardless). */
  private subscribe(): void {
    const { watch } = this.store;
    if (!this.wakeOnPush || typeof watch !== 'function' || this.unwatch) return;
    try {
      this.unwatch = watch.call(this.store, this.params.name, () => this.wake());
    } catch (error) {
      // A store that cannot subscribe leaves the poll as the only way: not an outage.
      this.emit({ type: 'error', error });
    }
  }

  private unsubscribe(): void {
    const unwatch = this.unwatch;
    this.unwatch = undefined;
    this.wakePending = false;
    try {
      unwatch?.();
    } catch {
      // Unsubscribing is best effort.
    }
  }

  /**
   * A push said the lease may be vacant or handed over: a follower claims now rather than at its next poll. Never
   * more than one claim in flight (a wake-up during one claims again once it settles); a leader ignores it (its
   * renewal cadence stays as it is), and so does a process standing aside after a resign or a handover.
   */
  private wake(): void {
    if (!this.running || this.lifecycle.busy || this.term !== undefined) return;
    if (this.clock.monotonic() < this.pausedUntil) {
      // Standing aside, but a handover may have named this very process: claim if so (one read to find out).
      void this.claimIfNamed();
      return;
    }
    if (this.inFlight) {
      this.wakePending = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Stops campaigning. By default releases the lease if held (also one won by an attempt still in flight), so
   * another contender takes over at its next poll; `{ release: false }` just stops (as a crash would, the lease
   * then runs out on its own). Settles within the store's bound even when the store never answers: a release
   * that fails is reported as an `error` event. Pending {@link waitForLeadership} calls reject with `STOPPED`.
   */
  stop(options: { release?: boolean } | undefined = {}): Promise<void> {
    return this.lifecycle.stop(() => this.doStop(options?.release !== false));
  }

  private async doStop(giveBack: boolean): Promise<void> {
    this.running = false;
    this.clearTimer();
    this.unsubscribe();
    await this.inFlight;
    const term = this.term;
    const won = term !== undefined || this.orphan !== undefined;
    this.term = undefined;
    this.orphan = undefined;
    term?.end('stopped');
    this.waiters.rejectAll(() => new LeaseholdError('STOPPED', 'the elector was stopped before this process was elected'));
    try {
      if (won && giveBack) await this.giveBack();
      await this.requests.withdraw();
    } finally {
      // A restart queued meanwhile holds it again.
      this.letExit?.();
      this.letExit = undefined;
    }
  }

  /**
   * Gives leadership up now and keeps campaigning after `pauseMs` (default twice `retryEveryMs`), so that another
   * contender can take the lease meanwhile (Trillian's Resign, docker's Candidate.Resign). Emits `lost` with
   * reason `resigned`. Returns `false` when this process was not leading (it still pauses).
   */
  async resign(options: { pauseMs?: number } = {}): Promise<boolean> {
    const pauseMs = checkDuration(options?.pauseMs, 'pauseMs', this.retryEveryMs * 2, MAX_TTL_MS);
    if (!this.running) return false;
    await this.inFlight;
    if (!this.running) return false;
    this.clearTimer();
    const term = this.term;
    this.term = undefined;
    this.pausedUntil = this.clock.monotonic() + pauseMs;
    term?.end('resigned');
    if (term) await this.giveBack();
    this.schedule(pauseMs);
    return term !== undefined;
  }

  /**
   * Hands leadership to a named successor (client-go's preferred leader, KEP-4355): ends this term (`lost` with
   * reason `handed-over`), then writes the lease as reserved for `successor` for `windowMs` with a new term's token
   * (see {@link handOver}). During the window every other contender is refused; the successor claims at once when
   * the store pushes wake-ups (Postgres), otherwise at its next poll, and then leads with a full lease. If it does
   * not claim within the window (it died), anyone may, this process included. The store itself refuses everyone but
   * the successor during the window, so this process need not stand aside; `pauseMs` (default 0) makes it ignore
   * wake-ups and skip claims for that long if wanted. It campaigns again at its next poll.
   *
   * `windowMs` defaults to twice `retryEveryMs`, so that a successor that is not woken still finds the reservation
   * at its next poll. Returns `false` when this process was not leading (nothing written; it still pauses).
   * Throws `INVALID_HOLDER` when `successor` is not a valid holder id or is this process's own.
   * @example
   * process.on('SIGTERM', async () => { await elector.handover('pod-b'); await elector.stop() })
   */
  async handover(successor: string, options: { windowMs?: number; pauseMs?: number } = {}): Promise<boolean> {
    const windowMs = checkDuration(options?.windowMs, 'windowMs', this.retryEveryMs * 2, MAX_TTL_MS, 1);
    const pauseMs = checkDuration(options?.pauseMs, 'pauseMs', 0, MAX_TTL_MS);
    checkHolder(successor);
    if (successor === this.params.holder) {
      throw new LeaseholdError(
        'INVALID_HOLDER',
        `successor must be another contender's holder id (not this process's own, ${JSON.stringify(this.params.holder)}). Nothing was written`,
      );
    }
    if (!this.running) return false;
    await this.inFlight;
    if (!this.running) return false;
    return this.handOverNow(successor, windowMs, pauseMs);
  }

  /** The handover itself, with no attempt in flight (or from within the attempt that decided it). */
  private async handOverNow(successor: string, windowMs: number, pauseMs: number): Promise<boolean> {
    this.clearTimer();
    const term = this.term;
    this.term = undefined;
    this.pausedUntil = this.clock.monotonic() + pauseMs;
    term?.end('handed-over');
    let handed = false;
    if (term) {
      try {
        handed = await handOver(this.store, { name: this.params.name, holder: this.params.holder, successor, windowMs, clock: this.clock });
      } catch (error) {
        // Bad input was refused above; this is the store failing: the lease runs out on its own (fail closed).
        this.emit({ type: 'error', error });
      }
    }
    // The reservation refuses this process anyway until the window ends: no claim sooner than the next poll.
    this.schedule(Math.max(pauseMs, this.retryEveryMs));
    return handed;
  }

  /**
   * Resolves with the term once this process leads (at once if it does); rejects with `signal`'s reason if it
   * aborts first, or with `STOPPED` when the elector stops (Trillian's WaitForMastership).
   */
  waitForLeadership(signal?: AbortSignal): Promise<LeadResult> {
    if (this.isLeader() && this.term) return Promise.resolve(this.term.lead);
    return this.waiters.wait(signal);
  }

  /** `await using elector = new Elector(…)`: stops (and releases) when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private async giveBack(): Promise<void> {
    try {
      await release(this.store, { name: this.params.name, holder: this.params.holder, clock: this.clock });
    } catch (error) {
      // The store could not confirm the release (bounded by its timeout): the lease runs out on its own.
      this.emit({ type: 'error', error });
    }
  }

  private emit(event: ElectorEvent): void {
    this.listeners.emit(event);
  }

  private clearTimer(): void {
    if (this.attemptTimer !== undefined) this.clock.clearTimeout(this.attemptTimer);
    this.attemptTimer = undefined;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.clearTimer();
    this.attemptTimer = this.clock.setTimeout(() => {
      this.attemptTimer = undefined;
      this.inFlight = this.attempt().finally(() => {
        this.inFlight = undefined;
        if (this.wakePending) {
          // A wake-up came during that claim (which may have read the lease just before the release): once more now.
          this.wakePending = false;
          this.wake();
        }
      });
    }, ms);
  }

  /** Starts a term on `result`; false when its validity ran out before the term was built (nothing announced). */
  private startTerm(result: LeadResult): boolean {
    let term: LeadershipTerm | undefined;
    term = new LeadershipTerm(result, this.clock, (reason) => {
      // A term that ends while it is built (its result ran out between stillLeader() and here, under load) was
      // never announced: nothing to tell.
      if (term === undefined) return;
      // Every way a term ends comes through here, once: validity ran out, a release, taken over, stopped, resigned.
      if (this.term === term) this.term = undefined;
      this.emit({ type: 'lost', reason, lead: term.lead });
      // A term that ran out between attempts: campaign again soon rather than at the next renewal.
      if (this.running && reason === 'expired' && this.inFlight === undefined) this.schedule(this.quickRetryMs());
    });
    if (term.ended) return false;
    this.term = term;
    this.lastLeader = this.params.holder;
    this.lastToken = result.token;
    this.emit({ type: 'elected', lead: term.lead });
    this.waiters.resolveAll(term.lead);
    return true;
  }

  private quickRetryMs(): number {
    return Math.max(Math.min(this.renewEveryMs, this.retryEveryMs) / 2, this.minWriteIntervalMs);
  }

  private async attempt(): Promise<void> {
    let result: LeadResult;
    try {
      result = await tryLead(this.store, { ...this.params, data: this.params.data ?? undefined, clock: this.clock });
    } catch (error) {
      if (!this.running) return;
      this.emit({ type: 'error', error });
      // Keep leading only on the validity already earned; the term ends by itself if retries keep failing.
      this.schedule(this.term ? this.quickRetryMs() : this.retryEveryMs);
      return;
    }
    if (!this.running) {
      // stop() began while this claim was in flight: whatever it won, stop() gives back.
      if (result.isLeader) this.orphan = result;
      return;
    }
    // The term judges the answer (a lapsed term ends first, so that `lost` always comes before anything it brings).
    const outcome = this.term?.apply(result);
    if (outcome === 'renewed' && this.term) {
      this.emit({ type: 'renewed', lead: this.term.lead });
      // At its renewal, a leader that yields hands over to a preferred contender that asked (it schedules on).
      if (this.preferred === false && (await this.yieldToPreferred())) return;
      if (!this.running) return;
      this.schedule(this.renewEveryMs);
      return;
    }
    if (result.isLeader && result.stillLeader()) {
      // A new term: no term before, or the store started another one (the old one had lapsed there).
      if (!this.startTerm(result)) {
        // Its validity ran out meanwhile: as an answer that came late, no authority and no event.
        this.schedule(this.quickRetryMs());
        return;
      }
      if (this.preferred === true) await this.requests.withdraw();
      if (!this.running) return;
      this.schedule(this.renewEveryMs);
      return;
    }
    if (result.isLeader) {
      // Won, but the answer came after its validity ran out (this process was paused): no authority, no event.
      this.schedule(this.quickRetryMs());
      return;
    }
    if (result.leader !== this.lastLeader || result.token !== this.lastToken) {
      this.lastLeader = result.leader;
      this.lastToken = result.token;
      this.emit({ type: 'leader', leader: result.leader, token: result.token });
    }
    // A preferred follower asks the leader to hand over (it does at its next renewal, if it yields).
    if (this.preferred === true && result.leader !== null && result.leader !== this.params.holder) {
      await this.requests.request();
      if (!this.running) return;
    }
    // Up to 10% early, never late: a fleet's followers spread out instead of polling in lockstep,
    // and the failover bound (ttl + skew + retryEveryMs) still holds.
    this.schedule(this.retryEveryMs * (1 - 0.1 * Math.random()));
  }
}
