/**
 * A job's slot record (`${name}@done`, beside its lease): the last completed slot, read as a {@link SlotValue} and
 * written by compare-and-swap so that a stale writer never moves it back.
 * @module
 */
import { type Clock, wallNow } from './clock.js';
import { LeaseholdError } from './errors.js';
import { RESERVED_NAME_SUFFIX } from './options.js';
import { compareSlotValues, readSlot, type SlotValue, slotInRecordData, slotOutput } from './slot.js';
import type { LeaseRecord, LeaseWrite, Store, StoreCallOptions } from './store.js';

/**
 * The suffix of the record that keeps a job's last completed slot, beside its lease. Lease names ending in it are
 * reserved (`INVALID_NAME` from every public call), so no lease can land on a job's slot record.
 */
export const SLOT_RECORD_SUFFIX = RESERVED_NAME_SUFFIX;

/**
 * The completed slot a slot record keeps (`{"slot": epoch ms}` for an instant, `{"slot": "key"}` for a key; an ISO
 * string written by an earlier version reads as the instant it names), or `null` when none.
 */
export function decodeSlot(record: LeaseRecord | null): SlotValue | null {
  if (record?.data === null || record?.data === undefined) return null;
  const value = slotInRecordData(record.data);
  if (value === undefined) {
    throw new LeaseholdError('STORE_CORRUPT', `the slot record ${record.name} holds no slot; leave ${SLOT_RECORD_SUFFIX} records to leasehold`);
  }
  return readSlot(value, `the completed slot kept in ${record.name}`);
}

/**
 * Records `slot` as completed in the slot record (compare-and-swap on the state read before, so a stale writer cannot
 * move it back), with the wall-clock time of completion; never lowers it. Returns the slot record as it now stands,
 * or `undefined` when the store did not confirm it.
 */
export async function recordSlot(
  call: <R>(request: (options: StoreCallOptions) => Promise<R>) => Promise<R>,
  name: string,
  seen: LeaseRecord | null,
  slot: SlotValue,
  clock: Clock,
  store: Store,
): Promise<LeaseRecord | undefined> {
  let current = seen;
  for (let attempt = 0; attempt < 3; attempt++) {
    const done = decodeSlot(current);
    if (current !== null && done !== null && compareSlotValues(done, slot) >= 0) return current;
    const completedAt = wallNow(clock);
    const write: LeaseWrite = {
      name,
      holder: null,
      token: (current?.token ?? 0) + 1,
      acquiredAt: null,
      ttlMs: 0,
      version: globalThis.crypto.randomUUID(),
      data: JSON.stringify({ slot: slotOutput(slot), at: completedAt }),
      clientNow: completedAt,
    };
    try {
      const expected = current?.version;
      const outcome = await call((o) => (expected === undefined ? store.create(write, o) : store.replace(expected, write, o)));
      if (outcome.ok) return outcome.record;
      current = outcome.current ?? (await call((o) => store.read(name, o))).record;
    } catch {
      try {
        current = (await call((o) => store.read(name, o))).record;
        if (current?.version === write.version) return current;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
