/**
 * The options of a {@link Tracker}: what a caller may set, their defaults and their checks (a typed
 * `LeaseholdError`, nothing sent), and the checked parameters every other part of the tracker reads.
 * @module
 */

import type { Clock } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { checkDuration, checkHolder, checkLeadOptions, checkName, checkRenewInterval, describeValue, MAX_TTL_MS } from '../options.js';
import type { Store } from '../store.js';
import { checkStoreLimits } from '../store-checks.js';

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

/** A tracker's checked options, defaults filled in. */
export interface TrackerParams {
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
export function checkTrackerOptions(store: Store, options: unknown): TrackerParams {
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

/** The `tryLead` options of one of the tracker's leases (a name or a member slot). */
export function leadOptionsOf(p: TrackerParams, clock: Clock, name: string) {
  return { name, holder: p.holder, ttlMs: p.ttlMs, maxClockSkewMs: p.maxClockSkewMs, clock };
}
