/**
 * What `release()` and `handOver()` share: their first checks, and a give-up under way ({@link GivingUp}),
 * pinned to the state the holder last saw and ending its results in this process before anything is sent.
 * @module
 */

import { CallBound, recoverAmbiguous, storeTimeout } from './call-bound.js';
import { type Clock, checkClock, monotonicNow, wallNow } from './clock.js';
import { LeaseholdError } from './errors.js';
import { identityOf } from './identity.js';
import { type LeaseMemory, leaseMemory } from './lease-memory.js';
import { checkHolder, checkName } from './options.js';
import type { LeaseRecord, LeaseWrite, Store } from './store.js';
import { checkStore } from './store-checks.js';
import { newVersion } from './write-version.js';

/** Checks what `release()` and `handOver()` both take first: the store, an options object (shaped `like`), its name and holder. */
export function checkGiver(store: Store, options: { name: string; holder: string }, like: string): [Store, string, string] {
  const s = checkStore(store);
  if (typeof options !== 'object' || options === null) {
    throw new LeaseholdError('INVALID_OPTION', `options must be an object like ${like}`);
  }
  return [s, checkName(options.name), checkHolder(options.holder)];
}

/**
 * A release or a handover under way: what `release()` and `handOver()` share once their input is checked.
 * Made before anything is sent; from then on `holder` gives the lease up in this process, whatever the store answers.
 */
export class GivingUp {
  readonly clock: Clock;
  readonly version: string;
  readonly clientNow: number;
  readonly memory: LeaseMemory;
  /** The version of the state this holder last saw, if this process saw one. */
  readonly expectedVersion: string | undefined;

  constructor(
    readonly store: Store,
    readonly name: string,
    readonly holder: string,
    options: { clock?: Clock | undefined; newVersion?: (() => string) | undefined },
  ) {
    this.clock = checkClock(options.clock);
    this.version = newVersion(options.newVersion);
    this.clientNow = wallNow(this.clock);
    monotonicNow(this.clock); // checked too: a clock with either half broken is refused before anything is sent
    this.memory = leaseMemory(identityOf(store));
    // The state this holder last saw, if this process saw one: the release gives up exactly that (README safety
    // point 4), so a release that the network delivers after the same holder renewed changes nothing.
    this.expectedVersion = this.memory.seenVersion(name, holder);
    // From now on this holder gives the lease up: its results in this process stop leading, whatever the answer.
    this.memory.givingUp(name, holder);
  }

  /**
   * Runs `write` under one call bound (the store's timeout); a write whose answer was lost is resolved by reading
   * back, and `settle` judges the record found.
   */
  async within(what: string, write: (bound: CallBound) => Promise<boolean>, settle: (record: LeaseRecord | null) => boolean): Promise<boolean> {
    const bound = new CallBound(this.clock, this.store, storeTimeout(this.store), `${what}(${this.name})`);
    try {
      return await write(bound);
    } catch (error) {
      const [record] = await recoverAmbiguous(this.store, this.name, this.version, error, bound);
      return settle(record);
    } finally {
      bound.done();
    }
  }

  /** The lease as read now if this holder still holds it, in the state it last saw; otherwise `null` (nothing to give up). */
  async readHeld(bound: CallBound): Promise<LeaseRecord | null> {
    const { record } = await bound.run((o) => this.store.read(this.name, o));
    if (record === null || record.holder !== this.holder) return null;
    if (this.expectedVersion !== undefined && record.version !== this.expectedVersion) return null;
    return record;
  }

  /** The write that releases `record`: no holder, no data, its token kept (so the next holder's is larger). */
  releaseWrite(record: LeaseRecord): LeaseWrite {
    return {
      name: this.name,
      holder: null,
      token: record.token,
      acquiredAt: record.acquiredAt,
      ttlMs: 0,
      version: this.version,
      data: null,
      clientNow: this.clientNow,
    };
  }
}
