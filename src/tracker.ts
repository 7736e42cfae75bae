/**
 * The tracker of many leases (Trillian's MasterTracker): one process among several holds its fair share of a list
 * of names (shards), renews them, gives the excess up when contenders join, and takes orphaned names when one
 * leaves. Built on `tryLead`/`release`/`getLeader` only: the election rule stays in `lead.ts`.
 *
 * Contenders see each other through the store, with no new store primitive: each tracker holds one *member slot*,
 * an ordinary lease named `${group}.member.${i}` (`i` below `maxContenders`), renewed at every round like a name,
 * and reads the other slots (`getLeader`) to count the live contenders. A crashed process's slot runs out with its
 * names, so the survivors raise their share exactly when its names become free.
 * @module
 */
import { type Clock, checkClock, holdProcessOpen, monotonicNow, type TimerHandle } from './clock.js';
import { LeaseholdError } from './errors.js';
import { getLeader, type LeadResult, release, tryLead } from './lead.js';
import { checkDuration, checkHolder, checkKeepAlive, checkLeadOptions, checkName, checkRenewInterval, describeValue, MAX_TTL_MS } from './options.js';
import type { Store } from './store.js';
import { checkStore, checkStoreLimits } from './store-checks.js';
import { LeadershipTerm, type TermEndReason } from './term.js';

/** Most names one tracker accepts. */
export const MAX_TRACKED_NAMES = 1_000;
/** Largest `maxContenders` accepted (each round reads every other member slot). */
export const MAX_CONTENDERS = 1_000;
/** Default `maxContenders` when there are more names than this: each round reads every other slot, so keep it modest. */
const DEFAULT_MAX_CONTENDERS = 64;
/** Largest `resignOdds` accepted. */
const MAX_RESIGN_ODDS = 1_000_000;

/** Options of {@link Tracker}. */
export interface TrackerOptions {
  /**
   * Name of the group of trackers sharing `names`: the member slots are the leases `${group}.member.0` …
   * `${group}.member.${maxContenders - 1}`. A lease name (1-128 characters from `A-Z a-z 0-9 _ . : @ -`).
   */
  group: string;
  /** The names (shards) to share out: 1-1 000 distinct lease names, none starting with `${group}.member.`. */
  names: readonly string[];
  /** This process's id, unique among the group's trackers (e.g. `host:pid`). Holds its names and its member slot. */
  holder: string;
  /** Lease length of every name and of the member slot, in ms (default 15 000). */
  ttlMs?: number;
  /** Clock-skew margin in ms (default 1 000), as for `tryLead`. */
  maxClockSkewMs?: number;
  /**
   * Interval of a round, in ms (default `ttlMs / 3`, or half of `ttlMs - maxClockSkewMs` when that is shorter; each
   * wait drawn up to 10% early, never late). A round renews
   * the member slot and every held name, recounts the contenders, gives up excess names and claims free ones.
   * Must be below `ttlMs - maxClockSkewMs`. A crashed tracker's names are taken within `ttlMs + maxClockSkewMs +
   * pollEveryMs` (plus a round's own duration).
   */
  pollEveryMs?: number;
  /** Most names this tracker holds at once, whatever the fair share (default: all of them). */
  maxHeld?: number;
  /**
   * `true` (default): hold at most `ceil(names / live contenders)`, counting contenders through the member slots.
   * `false`: no member slot is written or read, and only `maxHeld` (then required) caps what this tracker holds.
   */
  fairShare?: boolean;
  /**
   * Number of member slots (default: the number of names, at most 64; up to 1 000). A tracker that finds every slot
   * taken stands by (holds nothing) until one frees. Each round reads every other slot: `maxContenders - 1` reads.
   */
  maxContenders?: number;
  /** A name is held at least this long (ms) before it is given up to rebalance (default `ttlMs`). */
  minHoldMs?: number;
  /**
   * Odds of giving up an excess name, as the N of 1-in-N (default 2; 1 gives the excess up at once), drawn at each
   * round for each name held above the share for at least `minHoldMs`, as Trillian's `ResignOdds`. Spreads the
   * handover over rounds instead of dropping every excess name in the same instant.
   */
  resignOdds?: number;
  /**
   * Longest pause between two claims of one round, in ms (default `min(100, pollEveryMs / (4 × names))`, so a sweep
   * over every name pauses about an eighth of a round in all); each pause is drawn at random up to it, the names are
   * tried in random order, and the first round starts after a pause of up to `max(claimStaggerMs, pollEveryMs / 10)`.
   */
  claimStaggerMs?: number;
  /** Clock (default: the system clock): rounds, pauses, minimum hold and validity. */
  clock?: Clock;
  /** Source of randomness in `[0, 1)` (default `Math.random`): jitter, claim order, resign odds. For tests. */
  random?: () => number;
  /**
   * Whether a started tracker keeps the process alive until {@link Tracker.stop} (default `true`): its own timers do
   * not, so a process whose only work is a tracker would otherwise exit at once. `false` leaves that to the caller.
   */
  keepAlive?: boolean;
}

/** One name this tracker holds: its current term. */
export interface TrackedLease {
  /** The name. */
  readonly name: string;
  /** This term's fencing token (kept across renewals). Pass it to the work you fence. */
  readonly token: number;
  /**
   * Aborts the moment this term ends: taken over, validity ran out before a renewal succeeded, released, given up
   * to rebalance, or the tracker stopped. Stays live across renewals.
   */
  readonly signal: AbortSignal;
  /** The term as a `LeadResult` (a {@link LeadershipTerm}'s): its fields follow each renewal; its `signal` is the term's. */
  readonly lead: LeadResult;
  /** When this term began, on the tracker clock's monotonic time (ms). */
  readonly heldSince: number;
  /** Milliseconds this term may still be acted on (re-checked on both clocks at each call; 0 once ended). */
  remainingMs(): number;
  /** True while {@link remainingMs} is above zero. */
  stillHeld(): boolean;
}

/**
 * Why a tracker stopped holding a name: a {@link TermEndReason}. `taken-over` (seen at a renewal), `expired` (validity
 * ran out before a renewal succeeded: the store was unreachable, or this process was paused), `released` (this
 * process released it: `lease.lead.release()` or `release()`), `resigned` (given up to rebalance: held above the
 * share for at least `minHoldMs`), `stopped` (the tracker stopped).
 */
export type TrackerLostReason = TermEndReason;

/** What a tracker tells its listeners. */
export type TrackerEvent =
  /** This tracker took `name` (a new term, with a new fencing token): start its work with `lease.signal`. */
  | { type: 'elected'; name: string; lease: TrackedLease }
  /** This tracker renewed `name` (same term and token). */
  | { type: 'renewed'; name: string; lease: TrackedLease }
  /** This tracker no longer holds `name`; `lease.signal` has aborted. */
  | { type: 'lost'; name: string; reason: TrackerLostReason; lease: TrackedLease }
  /** The live contenders (this one included) or this tracker's share changed. */
  | { type: 'share'; contenders: number; share: number }
  /** A store call failed (one event per failing name, and at most one per round for the member slots). */
  | { type: 'error'; error: unknown; name?: string };

/** One held name: a {@link LeadershipTerm} (one signal for the whole term), with what the tracker needs around it. */
class TrackedTerm implements TrackedLease {
  readonly term: LeadershipTerm;
  /** False for a name claimed while the tracker was stopping: released without events. */
  announced = false;

  constructor(
    readonly name: string,
    first: LeadResult,
    readonly heldSince: number,
    clock: Clock,
    onEnd: (term: TrackedTerm, reason: TermEndReason) => void,
  ) {
    this.term = new LeadershipTerm(first, clock, (reason) => onEnd(this, reason));
  }

  get token(): number {
    return this.term.token;
  }

  get lead(): LeadResult {
    return this.term.lead;
  }

  get signal(): AbortSignal {
    return this.term.lead.signal;
  }

  get ended(): boolean {
    return this.term.ended;
  }

  remainingMs(): number {
    return this.term.lead.remainingMs();
  }

  stillHeld(): boolean {
    return this.remainingMs() > 0;
  }
}

interface TrackerParams {
  group: string;
  names: readonly string[];
  holder: string;
  ttlMs: number;
  maxClockSkewMs: number;
  pollEveryMs: number;
  maxHeld: number;
  fairShare: boolean;
  maxContenders: number;
  minHoldMs: number;
  resignOdds: number;
  claimStaggerMs: number;
}

function checkInteger(value: unknown, option: string, fallback: number, min: number, max: number, hint = ''): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new LeaseholdError('INVALID_OPTION', `${option} must be a whole number from ${min} to ${max}${hint}; got ${describeValue(value)}`);
  }
  return value;
}

/** Checks a tracker's options and fills in defaults (nothing is sent). */
function checkTrackerOptions(store: Store, options: unknown): TrackerParams {
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', `options must be an object like { group, names, holder, ttlMs }; got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  const group = checkName(o.group, 'group');
  if (!Array.isArray(o.names) || o.names.length === 0 || o.names.length > MAX_TRACKED_NAMES) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `names must be an array of 1-${MAX_TRACKED_NAMES} lease names (the shards to share out); got ${describeValue(o.names)}`,
    );
  }
  const memberPrefix = `${group}.member.`;
  const names: string[] = [];
  const seen = new Set<string>();
  for (const [i, value] of (o.names as unknown[]).entries()) {
    const name = checkName(value, `names[${i}]`);
    if (seen.has(name)) throw new LeaseholdError('INVALID_OPTION', `names must be distinct; ${JSON.stringify(name)} appears twice`);
    if (name.startsWith(memberPrefix)) {
      throw new LeaseholdError(
        'INVALID_OPTION',
        `names[${i}] (${JSON.stringify(name)}) starts with ${JSON.stringify(memberPrefix)}, the prefix of the group's member slots; rename it or the group`,
      );
    }
    seen.add(name);
    names.push(name);
  }
  const holder = checkHolder(o.holder);
  // The same rules as tryLead's (ttlMs above the skew, at most 7 days), and the store's own limits.
  const lead = checkLeadOptions({ name: names[0], holder, ttlMs: o.ttlMs, maxClockSkewMs: o.maxClockSkewMs });
  checkStoreLimits(store, lead.ttlMs);
  // Each round renews the held names: the same rule (and default) as an Elector's renewEveryMs.
  const pollEveryMs = checkRenewInterval(o.pollEveryMs, 'pollEveryMs', lead, store);
  if (o.fairShare !== undefined && typeof o.fairShare !== 'boolean') {
    throw new LeaseholdError('INVALID_OPTION', `fairShare must be true or false; got ${describeValue(o.fairShare)}`);
  }
  const fairShare = o.fairShare !== false;
  if (!fairShare && o.maxHeld === undefined) {
    throw new LeaseholdError('INVALID_OPTION', 'with fairShare: false, set maxHeld (the most names this tracker holds): nothing else would cap it');
  }
  const maxHeld = checkInteger(o.maxHeld, 'maxHeld', names.length, 1, names.length, ' (at most the number of names)');
  const maxContenders = checkInteger(o.maxContenders, 'maxContenders', Math.min(names.length, DEFAULT_MAX_CONTENDERS), 1, MAX_CONTENDERS);
  const lastSlot = `${memberPrefix}${maxContenders - 1}`;
  try {
    checkName(lastSlot);
  } catch {
    throw new LeaseholdError(
      'INVALID_NAME',
      `group is too long: its member slots (up to ${JSON.stringify(lastSlot)}) must be lease names of at most 128 characters; shorten the group`,
    );
  }
  const minHoldMs = checkDuration(o.minHoldMs, 'minHoldMs', lead.ttlMs, MAX_TTL_MS);
  const resignOdds = checkInteger(o.resignOdds, 'resignOdds', 2, 1, MAX_RESIGN_ODDS, ' (the N of 1-in-N; 1 gives the excess up at once)');
  const claimStaggerMs = checkDuration(o.claimStaggerMs, 'claimStaggerMs', Math.min(100, pollEveryMs / (4 * names.length)), pollEveryMs);
  if (o.random !== undefined && typeof o.random !== 'function') {
    throw new LeaseholdError('INVALID_OPTION', 'random must be a function returning a number in [0, 1); omit it for Math.random');
  }
  return {
    group,
    names,
    holder,
    ttlMs: lead.ttlMs,
    maxClockSkewMs: lead.maxClockSkewMs,
    pollEveryMs,
    maxHeld,
    fairShare,
    maxContenders,
    minHoldMs,
    resignOdds,
    claimStaggerMs,
  };
}

/** What one round learned from the member slots. */
interface Census {
  /** False when a slot could not be read: the round then renews only (no claim, no resignation). */
  known: boolean;
  /** Live contenders, this tracker included. */
  contenders: number;
}

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
  private readonly listeners = new Set<(event: TrackerEvent) => void>();
  private readonly terms = new Map<string, TrackedTerm>();
  private running = false;
  /** Bumped by every start and stop: a round of an older generation stops at its next step. */
  private generation = 0;
  private roundTimer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private lifecycle: Promise<void> = Promise.resolve();
  private rounds = 0;
  private slot: number | undefined;
  private slotLead: LeadResult | undefined;
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
  }

  /** Adds a listener; returns a function that removes it. A listener that throws does not stop the tracker. */
  on(listener: (event: TrackerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
    return this.serialized(() => {
      if (this.running) return;
      this.running = true;
      if (this.keepAlive) this.letExit ??= holdProcessOpen();
      this.generation++;
      this.rounds = 0;
      this.schedule(this.generation, this.random() * Math.max(this.p.claimStaggerMs, this.p.pollEveryMs / 10));
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
    return this.serialized(async () => {
      this.running = false;
      this.generation++;
      if (this.roundTimer !== undefined) this.clock.clearTimeout(this.roundTimer);
      this.roundTimer = undefined;
      await this.inFlight;
      const ended = [...this.terms.values()];
      for (const term of ended) term.term.end('stopped');
      const slot = this.slot;
      this.slot = this.slotLead = undefined;
      this.lastContenders = this.lastShare = undefined;
      const names = ended.map((term) => term.name);
      if (slot !== undefined) names.push(this.slotName(slot));
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

  private serialized(step: () => void | Promise<void>): Promise<void> {
    const next = this.lifecycle.then(step);
    this.lifecycle = next.catch(() => {});
    return next;
  }

  private slotName(i: number): string {
    return `${this.p.group}.member.${i}`;
  }

  private emit(event: TrackerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the tracker.
      }
    }
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
          // Up to 10% early, never late, counted from the round's start: renewals keep their cadence, and a fleet's
          // trackers drift apart instead of polling in lockstep.
          const elapsed = monotonic() - started;
          const wait = this.p.pollEveryMs * (1 - 0.1 * this.random()) - Math.max(elapsed, 0);
          this.schedule(generation, Math.max(0, wait));
        });
    }, ms);
  }

  private current(generation: number): boolean {
    return this.running && generation === this.generation;
  }

  private leadOptions(name: string) {
    return { name, holder: this.p.holder, ttlMs: this.p.ttlMs, maxClockSkewMs: this.p.maxClockSkewMs, clock: this.clock };
  }

  /** One round: member slot and census first, then renewals, then rebalancing (give up excess, claim free names). */
  private async round(generation: number): Promise<void> {
    const started = monotonicNow(this.clock);
    const first = this.rounds++ === 0;
    // The slot is renewed before the names, so a crashed tracker's slot runs out no later than its names do.
    const census: Census = this.p.fairShare ? await this.census(generation) : { known: true, contenders: 1 };
    if (!this.current(generation)) return;
    await Promise.all([...this.terms.values()].map((term) => this.renew(term, generation)));
    if (!this.current(generation) || !census.known) return;
    const share = Math.min(this.p.maxHeld, Math.ceil(this.p.names.length / census.contenders));
    if (census.contenders !== this.lastContenders || share !== this.lastShare) {
      this.lastContenders = census.contenders;
      this.lastShare = share;
      this.emit({ type: 'share', contenders: census.contenders, share });
    }
    await this.resignExcess(share);
    if (!this.current(generation)) return;
    // Only a counted contender claims (others would not see it in their share); the first round only joins.
    if (this.p.fairShare && (this.slot === undefined || first)) return;
    await this.claim(share, generation, started);
  }

  /** Renews this tracker's member slot (or takes a free one) and counts the live slots of the others. */
  private async census(generation: number): Promise<Census> {
    const free: number[] = [];
    let others = 0;
    let known = true;
    let reported = false;
    const report = (error: unknown) => {
      known = false;
      if (!reported) this.emit({ type: 'error', error });
      reported = true;
    };
    const slots = Array.from({ length: this.p.maxContenders }, (_, i) => i);
    await Promise.all(
      slots.map(async (i) => {
        const name = this.slotName(i);
        if (i === this.slot) {
          try {
            const lead = await tryLead(this.store, this.leadOptions(name));
            if (lead.isLeader) this.slotLead = lead;
            else if (lead.leader !== null) {
              // Taken over (it had run out): count its new holder, and look for another slot.
              others++;
              this.slot = this.slotLead = undefined;
            }
          } catch (error) {
            report(error);
          }
          if (this.slot === i && !this.slotLead?.stillLeader()) this.slot = this.slotLead = undefined;
          return;
        }
        try {
          const leader = await getLeader(this.store, name, { maxClockSkewMs: this.p.maxClockSkewMs, clock: this.clock });
          // A slot under this holder's own id (an earlier run of this process) is this tracker, not another contender.
          if (leader === null || leader.holder === this.p.holder) free.push(i);
          else others++;
        } catch (error) {
          report(error);
        }
      }),
    );
    if (this.slot === undefined && free.length > 0 && this.current(generation)) {
      const pick = free[Math.floor(this.random() * free.length)] as number;
      try {
        const lead = await tryLead(this.store, this.leadOptions(this.slotName(pick)));
        if (lead.isLeader && lead.stillLeader()) {
          this.slot = pick;
          this.slotLead = lead;
        } else if (lead.leader !== null && lead.leader !== this.p.holder) {
          others++; // another tracker took it meanwhile
        }
      } catch (error) {
        report(error);
      }
    }
    return { known, contenders: others + 1 };
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
    if (term.ended) return;
    if (lead.isLeader) {
      // Never report leadership whose validity is already gone (a pause while the call was in flight): the term
      // then ends at its own deadline, through the expiry timer.
      if (!lead.stillLeader()) return;
      if (lead.token === term.token) {
        term.term.renew(lead);
        if (this.current(generation) && term.announced) this.emit({ type: 'renewed', name: term.name, lease: term });
        return;
      }
      // Its own lease lapsed and this claim began a new term (a larger token): the old term is over.
      term.term.end('expired');
      this.adopt(term.name, lead, generation);
      return;
    }
    term.term.end('taken-over');
  }

  /** Gives up excess names held for at least `minHoldMs`, each with 1-in-`resignOdds` odds per round. */
  private async resignExcess(share: number): Promise<void> {
    let excess = this.terms.size - share;
    if (excess <= 0) return;
    const now = monotonicNow(this.clock);
    const eligible = this.shuffle([...this.terms.values()].filter((term) => now - term.heldSince >= this.p.minHoldMs));
    const releases: Promise<void>[] = [];
    for (const term of eligible) {
      if (excess <= 0) break;
      if (this.random() * this.p.resignOdds >= 1) continue;
      excess--;
      // The work stops (signal aborted) before the lease is given up, so the next holder never overlaps it.
      term.term.end('resigned');
      releases.push(this.release(term.name));
    }
    await Promise.all(releases);
  }

  /** Claims names not held, in random order with random pauses, until the share is reached or half a round has passed. */
  private async claim(share: number, generation: number, roundStarted: number): Promise<void> {
    const candidates = this.shuffle(this.p.names.filter((name) => !this.terms.has(name)));
    let firstClaim = true;
    for (const name of candidates) {
      if (this.terms.size >= share || !this.current(generation)) return;
      // Renewals must keep their cadence: a round's claims stop at half the interval and go on at the next round.
      if (monotonicNow(this.clock) - roundStarted > this.p.pollEveryMs / 2) return;
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

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}
