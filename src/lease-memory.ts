/**
 * This process's memory of each lease, one {@link LeaseMemory} per store identity (DESIGN rule "One identity per
 * lease table"): the version each holder last saw, the results that may still say leader, and warm holders' answers.
 * Keyed by the identity, not by the store object, so wrappers and second instances of a store see one another's
 * releases and takeovers at once. Every map is bounded or swept; forgetting an entry only ever costs a request.
 * @module
 */
import { BoundedMap } from './bounded-map.js';
import type { Holding, Result } from './result.js';
import type { LeaseRecord } from './store.js';

/**
 * A warm holder's last result for a name (see `renewBelow`), with the options it was won with: only results that
 * lead are kept.
 */
export interface WarmEntry {
  holder: string;
  ttlMs: number;
  maxClockSkewMs: number;
  data: string | null;
  result: Result;
}

/** The key of a holder's entry for a name (a newline never appears in a checked name). */
function seenKey(name: string, holder: string): string {
  return `${name}\n${holder}`;
}

/** Holdings are swept, past this many, of entries whose results have all run out. */
const SWEEP_FLOOR = 64;

/**
 * What this process remembers of the leases of one store identity. Get it with {@link leaseMemory}. A class with
 * fields (no closures): the claim path reads it at every call. It holds (described here, not on the fields: bundlers
 * keep comments on class members, and a Worker bundles this file):
 * - versions: the version of the lease state each holder last saw (its last `tryLead()` result, or its release), per
 *   name and holder, so that a later `release()` by that holder is pinned to exactly that state: a release held by
 *   the network and delivered after the holder renewed then changes nothing. Bounded; a forgotten entry only makes a
 *   release conditional on the holder alone, as a cold release is.
 * - holdings: results that may still say "leader", per name and holder, so that a release by this process ends them
 *   at once. Each leading result keeps its entry and the generation it was born under; a release moves the entry to
 *   a new generation (ending them all) and aborts the signals handed out. Entries whose results have all run out are
 *   swept, so the map holds only live leases.
 * - warm: warm holders' last results, per name (see `renewBelow`): only results that lead, with the options they were
 *   won with. Any fresh answer for the name replaces or clears the entry; so do a release and a failed call. Bounded;
 *   a forgotten entry only costs a request.
 */
export class LeaseMemory {
  readonly #versions = new BoundedMap<string, string>(1_024);
  readonly #holdings = new Map<string, Holding>();
  #sweepAt = SWEEP_FLOOR;
  readonly #warm = new BoundedMap<string, WarmEntry>(1_024);

  /** The version of the state `holder` last saw of `name`, if this process remembers one. */
  seenVersion(name: string, holder: string): string | undefined {
    return this.#versions.get(seenKey(name, holder));
  }

  /** Remembers `record` as the state `holder` last saw of `name`; `null` forgets it. */
  rememberVersion(name: string, holder: string, record: LeaseRecord | null): void {
    const key = seenKey(name, holder);
    if (record === null) this.#versions.delete(key);
    // Updated in place (a delete and re-insert per call would churn the map's table): the oldest-inserted entry goes first.
    else this.#versions.set(key, record.version);
  }

  /**
   * The holding a new leading result of `holder` for `name` is born under, valid until `untilWall` (wall clock); made
   * if none is live. Sweeps the entries whose results have all run out by `nowWall` once the map has doubled.
   */
  holding(name: string, holder: string, untilWall: number, nowWall: number): Holding {
    const byKey = this.#holdings;
    const key = seenKey(name, holder);
    let h = byKey.get(key);
    if (!h) {
      if (byKey.size >= this.#sweepAt) {
        for (const [k, entry] of byKey) if (entry.untilWall < nowWall && entry.aborts.size === 0) byKey.delete(k);
        this.#sweepAt = Math.max(SWEEP_FLOOR, byKey.size * 2);
      }
      h = { generation: {}, aborts: new Set(), untilWall };
      byKey.set(key, h);
    }
    h.untilWall = Math.max(h.untilWall, untilWall);
    return h;
  }

  /**
   * `holder` gives `name` up (a release or a handover is under way; fail-safe, whatever the store answers): every
   * result of it in this process stops leading and its signals abort, and no warm answer for `name` is given from
   * memory any more.
   */
  givingUp(name: string, holder: string): void {
    this.#endResults(name, holder);
    this.#warm.delete(name);
  }

  /** Ends every result of `holder` for `name` in this process. */
  #endResults(name: string, holder: string): void {
    const key = seenKey(name, holder);
    const h = this.#holdings.get(key);
    if (!h) return;
    this.#holdings.delete(key);
    h.generation = {};
    const aborts = [...h.aborts];
    h.aborts.clear();
    for (const abort of aborts) abort();
  }

  /** The warm answer for `name`, if one is kept. */
  warmEntry(name: string): WarmEntry | undefined {
    return this.#warm.get(name);
  }

  /** Whether a warm answer for `name` is kept. */
  hasWarm(name: string): boolean {
    return this.#warm.has(name);
  }

  /** Keeps `entry` as the warm answer for `name` (the newest entry); `undefined` forgets the one kept. */
  setWarm(name: string, entry: WarmEntry | undefined): void {
    if (entry) this.#warm.refresh(name, entry);
    else this.#warm.delete(name);
  }
}

const memories = new WeakMap<object, LeaseMemory>();

/**
 * This process's memory of the leases of the store identity `identity` (`identityOf(store)`): the same object for
 * the same identity, made on first use. Weak on the identity: a dropped client takes its memory with it.
 * @example
 * const memory = leaseMemory(identityOf(store))
 * const expectedVersion = memory.seenVersion(name, holder)
 */
export function leaseMemory(identity: object): LeaseMemory {
  let memory = memories.get(identity);
  if (!memory) {
    memory = new LeaseMemory();
    memories.set(identity, memory);
  }
  return memory;
}
