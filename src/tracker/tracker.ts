/**
 * The tracker of many leases (Trillian's MasterTracker): one process among several holds its fair share of a list
 * of names (shards), renews them, gives the excess up when contenders join, and takes orphaned names when one
 * leaves. Built on `tryLead`/`release`/`getLeader` only: the election rule stays in `lead.ts`. This file is the loop
 * (rounds, renewals, claims, events); the decisions it takes are pure functions in `decisions.ts`, the census of
 * contenders is `member-slots.ts`, the options `options.ts`, the leases it hands out `tracked-lease.ts`.
 * @module
 */
import { type Clock, checkClock, holdProcessOpen, monotonicNow, type TimerHandle } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { type LeadResult, release, tryLead } from '../lead.js';
import { Listeners } from '../listeners.js';
import { checkKeepAlive } from '../options.js';
import { StartStop } from '../start-stop.js';
import type { Store } from '../store.js';
import { checkStore } from '../store-checks.js';
import type { TermEndReason } from '../term.js';
import { chooseResignations, claimOrder, firstRoundDelay, mayStillClaim, nextRoundDelay, shareOf } from './decisions.js';
import { type Census, MemberSlots } from './member-slots.js';
import { checkTrackerOptions, leadOptionsOf, type TrackerOptions, type TrackerParams } from './options.js';
import { type TrackedLease, TrackedTerm, type TrackerEvent } from './tracked-lease.js';

/**
 * Holds a fair share of many leases (shards) among the processes of a group: each holds at most
 * `ceil(names / live contenders)` (or `maxHeld`), renews what it holds with one `tryLead` per name per round, gives
 * the excess up when contenders join (after `minHoldMs`, with `resignOdds`), and takes a leaver's names once they
 * run out. `start()` and `stop()` are serialized; `stop()` releases everything held.
 * @example
 * const tracker = new Tracker(store, { group: 'ingest', names: shards, holder: `${hostname()}:${process.pid}` })
 * tracker.on((e) => {
 *   if (e.type === 'elected') consume(e.name, { token: e.lease.token, signal: e.lease.signal })
 * })
 * await tracker.start()
 * process.on('SIGTERM', () => tracker.stop()) // releases every name: the others take them at their next round
 */
export class Tracker {
  private readonly store: Store;
  private readonly p: TrackerParams;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly listeners = new Listeners<TrackerEvent>();
  private readonly terms = new Map<string, TrackedTerm>();
  private running = false;
  /** Bumped by every start and stop: a round of an older generation stops at its next step. */
  private generation = 0;
  private roundTimer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly lifecycle = new StartStop();
  private rounds = 0;
  private readonly members: MemberSlots;
  private lastContenders: number | undefined;
  private lastShare: number | undefined;
  private readonly keepAlive: boolean;
  /** Lets the process exit again: set while started with `keepAlive`. */
  private letExit: (() => void) | undefined;

  /** Checks every option (a typed {@link LeaseholdError}, nothing sent); the tracker starts with {@link start}. */
  constructor(store: Store, options: TrackerOptions) {
    this.store = checkStore(store);
    this.p = checkTrackerOptions(this.store, options);
    this.clock = checkClock(options.clock);
    this.keepAlive = checkKeepAlive(options.keepAlive);
    const random = options.random ?? Math.random;
    // A bad value from a custom source must not break a round: fall back to 0 (no jitter, first in order).
    this.random = () => {
      const r = random();
      return typeof r === 'number' && r >= 0 && r < 1 ? r : 0;
    };
    this.members = new MemberSlots(this.store, this.p, this.clock, this.random);
  }

  /** Adds a listener; returns a function that removes it. A listener that throws does not stop the tracker. */
  on(listener: (event: TrackerEvent) => void): () => void {
    return this.listeners.on(listener);
  }

  /** The names held now, in the order of `names`; each one's validity is re-checked (a lapsed one is dropped, with `lost`). */
  held(): string[] {
    this.dropLapsed();
    return this.p.names.filter((name) => this.terms.has(name));
  }

  /** The current term of `name` if this tracker holds it now (validity re-checked), else `undefined`. */
  lease(name: string): TrackedLease | undefined {
    this.dropLapsed();
    return this.terms.get(name);
  }

  /** Live contenders (this one included) at the last round that could count them, or `undefined` before. */
  get contenders(): number | undefined {
    return this.lastContenders;
  }

  /** Most names this tracker may hold, as of the last round that could count the contenders (`undefined` before). */
  get share(): number | undefined {
    return this.lastShare;
  }

  /**
   * Starts the rounds: the first after a random pause of up to `max(claimStaggerMs, pollEveryMs / 10)`. With `fairShare`, the first round
   * only joins (takes a member slot and counts the others), and names are claimed from the second round on, so a
   * fleet started together splits fairly at once. Waits for a pending `stop()` first; starting twice does nothing.
   */
  start(): Promise<void> {
    return this.lifecycle.start(() => {
      if (this.running) return;
      this.running = true;
      if (this.keepAlive) this.letExit ??= holdProcessOpen();
      this.generation++;
      this.rounds = 0;
      this.schedule(this.generation, firstRoundDelay(this.p.claimStaggerMs, this.p.pollEveryMs, this.random));
    });
  }

  /**
   * Stops the rounds, waits for the one in flight, ends every term (`lost` with reason `stopped`, signals aborted)
   * and, by default, releases every held name and the member slot, so the others take them at their next round.
   * `{ release: false }` just stops (the leases run out after `ttlMs`, as after a crash). A release the store cannot
   * confirm is reported as an `error` event. Settles within the store's call bound.
   */
  stop(options: { release?: boolean } | undefined = {}): Promise<void> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      return Promise.reject(new LeaseholdError('INVALID_OPTION', 'stop options must be an object like { release: false }, or omitted'));
    }
    const releaseHeld = options?.release !== false;
    return this.lifecycle.stop(async () => {
      this.running = false;
      this.generation++;
      if (this.roundTimer !== undefined) this.clock.clearTimeout(this.roundTimer);
      this.roundTimer = undefined;
      await this.inFlight;
      const ended = [...this.terms.values()];
      for (const term of ended) term.term.end('stopped');
      const slot = this.members.drop();
      this.lastContenders = this.lastShare = undefined;
      const names = ended.map((term) => term.name);
      if (slot !== undefined) names.push(slot);
      try {
        if (releaseHeld) await Promise.all(names.map((name) => this.release(name)));
      } finally {
        this.letExit?.();
        this.letExit = undefined;
      }
    });
  }

  /** `await using tracker = new Tracker(…)`: stops (and releases everything held) when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private emit(event: TrackerEvent): void {
    this.listeners.emit(event);
  }

  private schedule(generation: number, ms: number): void {
    if (!this.running || generation !== this.generation) return;
    // Read raw here (outside the round's error handling): a clock that stops returning numbers then just makes the
    // next round come a full interval later, and the round itself reports the bad clock as an `error` event.
    const monotonic = () => {
      const value = this.clock.monotonic();
      return typeof value === 'number' && Number.isFinite(value) ? value : 0;
    };
    this.roundTimer = this.clock.setTimeout(() => {
      this.roundTimer = undefined;
      const started = monotonic();
      this.inFlight = this.round(generation)
        .catch((error: unknown) => this.emit({ type: 'error', error }))
        .finally(() => {
          this.inFlight = undefined;
          // Counted from the round's start (see nextRoundDelay).
          this.schedule(generation, nextRoundDelay(this.p.pollEveryMs, monotonic() - started, this.random));
        });
    }, ms);
  }

  private current(generation: number): boolean {
    return this.running && generation === this.generation;
  }

  private leadOptions(name: string) {
    return leadOptionsOf(this.p, this.clock, name);
  }

  /** One round: member slot and census first, then renewals, then rebalancing (give up excess, claim free names). */
  private async round(generation: number): Promise<void> {
    const started = monotonicNow(this.clock);
    const first = this.rounds++ === 0;
    // The slot is renewed before the names, so a crashed tracker's slot runs out no later than its names do.
    const census: Census = this.p.fairShare
      ? await this.members.census(
          () => this.current(generation),
          (error) => this.emit({ type: 'error', error }),
        )
      : { known: true, contenders: 1 };
    if (!this.current(generation)) return;
    await Promise.all([...this.terms.values()].map((term) => this.renew(term, generation)));
    if (!this.current(generation) || !census.known) return;
    const share = shareOf(this.p.names.length, census.contenders, this.p.maxHeld);
    if (census.contenders !== this.lastContenders || share !== this.lastShare) {
      this.lastContenders = census.contenders;
      this.lastShare = share;
      this.emit({ type: 'share', contenders: census.contenders, share });
    }
    await this.resignExcess(share);
    if (!this.current(generation)) return;
    // Only a counted contender claims (others would not see it in their share); the first round only joins.
    if (this.p.fairShare && (!this.members.held || first)) return;
    await this.claim(share, generation, started);
  }

  /** One `tryLead` for a held name: renewed, a new term (its own lease had lapsed), or taken over. */
  private async renew(term: TrackedTerm, generation: number): Promise<void> {
    let lead: LeadResult;
    try {
      lead = await tryLead(this.store, this.leadOptions(term.name));
    } catch (error) {
      // Keep it on the validity already earned: the expiry timer ends the term if renewals keep failing.
      if (!term.ended) this.emit({ type: 'error', error, name: term.name });
      return;
    }
    // Never reports leadership whose validity is already gone (a pause while the call was in flight, `late`): the
    // term then ends at its own deadline, through the expiry timer.
    const outcome = term.term.apply(lead);
    if (outcome === 'renewed') {
      if (this.current(generation) && term.announced) this.emit({ type: 'renewed', name: term.name, lease: term });
    } else if (outcome === 'new-term' || (outcome === 'lapsed' && lead.isLeader && lead.stillLeader())) {
      // The old term is over (its own lease lapsed, and this claim began a new term, or the term ran out while this
      // claim was away): the answer is a term of its own.
      this.adopt(term.name, lead, generation);
    }
  }

  /** Gives up excess names held for at least `minHoldMs`, each with 1-in-`resignOdds` odds per round. */
  private async resignExcess(share: number): Promise<void> {
    if (this.terms.size <= share) return;
    const now = monotonicNow(this.clock);
    const chosen = chooseResignations([...this.terms.values()], share, now, this.p.minHoldMs, this.p.resignOdds, this.random);
    const releases: Promise<void>[] = [];
    for (const term of chosen) {
      // The work stops (signal aborted) before the lease is given up, so the next holder never overlaps it.
      term.term.end('resigned');
      releases.push(this.release(term.name));
    }
    await Promise.all(releases);
  }

  /** Claims names not held, in random order with random pauses, until the share is reached or half a round has passed. */
  private async claim(share: number, generation: number, roundStarted: number): Promise<void> {
    const candidates = claimOrder(this.p.names, (name) => this.terms.has(name), this.random);
    let firstClaim = true;
    for (const name of candidates) {
      if (this.terms.size >= share || !this.current(generation)) return;
      // Renewals must keep their cadence: a round's claims stop at half the interval and go on at the next round.
      if (!mayStillClaim(monotonicNow(this.clock) - roundStarted, this.p.pollEveryMs)) return;
      if (!firstClaim) await this.pause(this.random() * this.p.claimStaggerMs);
      firstClaim = false;
      if (!this.current(generation)) return;
      let lead: LeadResult;
      try {
        lead = await tryLead(this.store, this.leadOptions(name));
      } catch (error) {
        this.emit({ type: 'error', error, name });
        return; // the store is failing: try again next round rather than hammer it
      }
      // Adopted even if a stop began meanwhile (stop waits for this round, then releases it).
      if (lead.isLeader && lead.stillLeader() && !this.terms.has(name)) this.adopt(name, lead, generation);
    }
  }

  private adopt(name: string, lead: LeadResult, generation: number): void {
    const term = new TrackedTerm(name, lead, monotonicNow(this.clock), this.clock, (ended, reason) => this.ended(ended, reason));
    // A term whose result ran out while it was built (under load) ended at once, unannounced: not held.
    if (term.ended) return;
    this.terms.set(name, term);
    if (this.current(generation)) {
      term.announced = true;
      this.emit({ type: 'elected', name, lease: term });
    }
  }

  /**
   * Every way a term ends comes through here, once: its signal has aborted already (so the work stops before anyone
   * else can take the name); the tracker forgets it and tells the listeners. Releasing is the caller's business.
   */
  private ended(term: TrackedTerm, reason: TermEndReason): void {
    if (this.terms.get(term.name) === term) this.terms.delete(term.name);
    if (term.announced) this.emit({ type: 'lost', name: term.name, reason, lease: term });
  }

  /** Validity re-checked at a query: a term whose validity ran out ends now (its result's own watch may lag a tick). */
  private dropLapsed(): void {
    for (const term of [...this.terms.values()]) if (!term.stillHeld()) term.term.end('expired');
  }

  private async release(name: string): Promise<void> {
    try {
      await release(this.store, { name, holder: this.p.holder, clock: this.clock });
    } catch (error) {
      // The store could not confirm it (bounded by its timeout): the lease runs out on its own.
      this.emit({ type: 'error', error, name });
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }
}
