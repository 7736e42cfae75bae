/**
 * The tracker's decisions, as pure functions of their inputs (randomness passed in as `random`, time as numbers):
 * its share of the names, which excess names to give up, in what order to claim free ones, and when. The loop that
 * runs them against a store is `tracker.ts`, as Trillian keeps `tracker.go` apart from `runner.go`.
 * @module
 */

/** A source of randomness in `[0, 1)`. */
export type Random = () => number;

/** The most names one tracker may hold: `ceil(names / contenders)`, capped by `maxHeld`. */
export function shareOf(nameCount: number, contenders: number, maxHeld: number): number {
  return Math.min(maxHeld, Math.ceil(nameCount / contenders));
}

/** Shuffles `items` in place (Fisher–Yates, drawing `random` from the last index down); returns them. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * The held terms to give up this round, in the order to give them up: only when more are held than `share`; only
 * terms held at least `minHoldMs` by `now` (same clock as their `heldSince`); each drawn with 1-in-`resignOdds`
 * odds, in random order, until the excess is gone (Trillian's `ResignOdds`).
 */
export function chooseResignations<T extends { readonly heldSince: number }>(
  held: readonly T[],
  share: number,
  now: number,
  minHoldMs: number,
  resignOdds: number,
  random: Random,
): T[] {
  let excess = held.length - share;
  if (excess <= 0) return [];
  const eligible = shuffle(
    held.filter((term) => now - term.heldSince >= minHoldMs),
    random,
  );
  const chosen: T[] = [];
  for (const term of eligible) {
    if (excess <= 0) break;
    if (random() * resignOdds >= 1) continue;
    excess--;
    chosen.push(term);
  }
  return chosen;
}

/** The names to try to claim, in random order: every one of `names` not held. */
export function claimOrder(names: readonly string[], isHeld: (name: string) => boolean, random: Random): string[] {
  return shuffle(
    names.filter((name) => !isHeld(name)),
    random,
  );
}

/** Whether a round that began `elapsedMs` ago may still claim: renewals keep their cadence, so claims stop at half a round. */
export function mayStillClaim(elapsedMs: number, pollEveryMs: number): boolean {
  return elapsedMs <= pollEveryMs / 2;
}

/** Which free member slot to take: one of `free` (slot numbers), at random; `undefined` when none is free. */
export function pickFreeSlot(free: readonly number[], random: Random): number | undefined {
  return free.length === 0 ? undefined : free[Math.floor(random() * free.length)];
}

/** The pause before a started tracker's first round: up to `max(claimStaggerMs, pollEveryMs / 10)`, at random. */
export function firstRoundDelay(claimStaggerMs: number, pollEveryMs: number, random: Random): number {
  return random() * Math.max(claimStaggerMs, pollEveryMs / 10);
}

/**
 * The wait before the next round, counted from the start of one that took `elapsedMs`: up to 10% early, never
 * late, so renewals keep their cadence and a fleet's trackers drift apart instead of polling in lockstep.
 */
export function nextRoundDelay(pollEveryMs: number, elapsedMs: number, random: Random): number {
  return Math.max(0, pollEveryMs * (1 - 0.1 * random()) - Math.max(elapsedMs, 0));
}
