/**
 * Slots: the scheduled time of a trigger, compared as an instant. `'2026-01-01T02:00:00Z'`,
 * `'2026-01-01T02:00:00.000Z'`, `'2026-01-01T03:00:00+01:00'`, `Date.UTC(2026, 0, 1, 2)` and the matching `Date`
 * are one slot. A string that is not an ISO 8601 date is an opaque key, ordered as a string; instants and keys are
 * never compared with each other (`INVALID_SLOT`).
 * @module
 */
import { LeaseholdError } from './errors.js';
import { describeValue, isWellFormed } from './options.js';

/**
 * A slot as a caller gives it: an instant (an ISO 8601 date or date-time, any precision, with a `Z` or an offset, or
 * none for UTC; epoch ms; a `Date`), or an opaque key (any other string) that orders the runs as a string does.
 */
export type Slot = string | number | Date;

/** A slot as leasehold compares it: an instant in epoch ms, or an opaque key. */
export type SlotValue = { kind: 'instant'; ms: number } | { kind: 'key'; key: string };

/** Longest slot key, in characters. */
export const MAX_SLOT_LENGTH = 256;

// YYYY-MM-DD, optionally followed by THH:MM[:SS[.fraction]] and a zone (Z or ±HH[:]MM); a space may stand for T.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;
// What an attempt at a date looks like: refused when malformed, never taken as a key by mistake.
const LOOKS_LIKE_A_DATE = /^\d{4}-\d{2}/;

function invalid(message: string): LeaseholdError {
  return new LeaseholdError('INVALID_SLOT', message);
}

/** Epoch ms of an ISO 8601 date or date-time (no zone: UTC), or `undefined` when `text` is not one. Throws on a malformed one. */
function parseIso(text: string): number | undefined {
  const m = ISO_8601.exec(text);
  if (!m) {
    if (LOOKS_LIKE_A_DATE.test(text)) {
      throw invalid(
        `slot ${describeValue(text)} looks like a date but is not ISO 8601 (e.g. 2026-01-01T02:00:00Z); fix it, or use a key that does not start with a date`,
      );
    }
    return undefined;
  }
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  // No zone reads as UTC (as `date -u +%Y-%m-%dT%H:%M` prints it), never as this host's local time: the same string
  // is the same instant on every host.
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(utc);
  if (
    month < 1 ||
    month > 12 ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day
  ) {
    throw invalid(`slot ${describeValue(text)} is not a valid date and time`);
  }
  let offsetMs = 0;
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || 0);
    if (oh > 23 || om > 59) throw invalid(`slot ${describeValue(text)} has an invalid offset`);
    offsetMs = sign * (oh * 60 + om) * 60_000;
  }
  // The fraction of a second, kept below the millisecond too (a number of epoch ms holds about 0.2 µs).
  const fractionMs = fraction === undefined ? 0 : Number(`0.${fraction}`) * 1000;
  return utc - offsetMs + fractionMs;
}

/**
 * Reads a slot: an instant (ISO 8601, epoch ms, a `Date`) or an opaque key. Throws `INVALID_SLOT` for anything else
 * (a malformed date, NaN, an invalid `Date`, an empty or over-long string).
 */
export function readSlot(slot: unknown, what = 'slot'): SlotValue {
  if (typeof slot === 'number') {
    if (Number.isFinite(slot)) return { kind: 'instant', ms: slot };
  } else if (slot instanceof Date || Object.prototype.toString.call(slot) === '[object Date]') {
    const ms = (slot as Date).getTime();
    if (Number.isFinite(ms)) return { kind: 'instant', ms };
    throw invalid(`${what} is an invalid Date`);
  } else if (typeof slot === 'string' && slot.length > 0 && slot.length <= MAX_SLOT_LENGTH && isWellFormed(slot) && !slot.includes('\u0000')) {
    const ms = parseIso(slot);
    return ms === undefined ? { kind: 'key', key: slot } : { kind: 'instant', ms };
  }
  throw invalid(
    `${what} must be an instant (an ISO 8601 string such as EventBridge's event.time, epoch ms such as a Worker's controller.scheduledTime, or a Date) or a key string of 1-${MAX_SLOT_LENGTH} characters; got ${describeValue(slot)}`,
  );
}

/** Orders two read slots; instants and keys are never compared (`INVALID_SLOT`). */
export function compareSlotValues(a: SlotValue, b: SlotValue): number {
  if (a.kind === 'instant' && b.kind === 'instant') return a.ms - b.ms;
  if (a.kind === 'key' && b.kind === 'key') return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  const [instant, key] = a.kind === 'instant' ? [a, b as { key: string }] : [b as { ms: number }, a];
  throw invalid(
    `cannot order the instant ${new Date((instant as { ms: number }).ms).toISOString()} against the key ${describeValue(key.key)}: a job's slots must all be instants (ISO 8601, epoch ms, Date) or all keys`,
  );
}

/**
 * Orders two slots as instants (ISO 8601 with any precision or offset, epoch ms, `Date`), or as strings when both are
 * opaque keys. Throws `INVALID_SLOT` when one is an instant and the other a key, or when either is malformed.
 * @example
 * compareSlots('2026-01-01T02:00:00Z', '2026-01-01T02:00:00.000Z') // 0: one instant
 */
export function compareSlots(a: Slot, b: Slot): number {
  return compareSlotValues(readSlot(a), readSlot(b));
}

/** A read slot as the slot record keeps it (epoch ms for an instant, the string for a key) and as results report it. */
export function slotOutput(value: SlotValue): number | string {
  return value.kind === 'instant' ? value.ms : value.key;
}

/** A read slot for a message: an instant in ISO 8601, a key as given. */
export function describeSlot(value: SlotValue): string {
  return value.kind === 'instant' ? new Date(value.ms).toISOString() : JSON.stringify(value.key);
}

/**
 * The instant of a trigger, in epoch ms: an EventBridge scheduled event (`event.time`), a Workers
 * `ScheduledController` or scheduled event (`scheduledTime`), a Fetch `Request` from Cloud Scheduler (its
 * `X-CloudScheduler-ScheduleTime` header), a `Date`, an ISO 8601 string (any precision or offset) or a number.
 * Anything else throws `INVALID_SLOT`.
 * @example
 * export const handler = (event) => runExclusive(store, { name: 'nightly', slot: slotOf(event) }, job) // Lambda
 * async scheduled(controller, env) { await runExclusive(store, { name: 'nightly', slot: slotOf(controller) }, job) } // Workers
 */
export function slotOf(trigger: unknown): number {
  let value: unknown = trigger;
  let what = 'trigger';
  if (typeof trigger === 'object' && trigger !== null && !(trigger instanceof Date) && Object.prototype.toString.call(trigger) !== '[object Date]') {
    const t = trigger as { time?: unknown; scheduledTime?: unknown; headers?: { get?: unknown } };
    if (typeof t.headers?.get === 'function') {
      // Cloud Scheduler's HTTP target: the header names the scheduled time (RFC 3339).
      value = (t.headers.get as (name: string) => unknown).call(t.headers, 'X-CloudScheduler-ScheduleTime');
      what = 'the X-CloudScheduler-ScheduleTime header';
      if (value === null || value === undefined) {
        throw invalid('slotOf: the request has no X-CloudScheduler-ScheduleTime header (is it from Cloud Scheduler?)');
      }
    } else if (t.scheduledTime !== undefined) {
      value = t.scheduledTime;
      what = 'scheduledTime';
    } else if (t.time !== undefined) {
      value = t.time;
      what = "the event's time";
    } else {
      throw invalid(
        'slotOf takes an EventBridge scheduled event ({ time }), a Workers ScheduledController ({ scheduledTime }), a Cloud Scheduler Request, a Date, an ISO 8601 string or epoch ms; got an object with none of these',
      );
    }
  }
  const slot = readSlot(value, `slotOf: ${what}`);
  if (slot.kind !== 'instant') throw invalid(`slotOf: ${what} is not an instant (ISO 8601 or epoch ms); got ${describeValue(value)}`);
  return slot.ms;
}

/**
 * The completed slot a job's slot record keeps in its `data` (`{"slot": epoch ms | "key", "at": epoch ms}`, as
 * `runExclusive` writes it), as written: a number, a string, or `undefined` when the data holds none (not JSON, no
 * `slot`, or a slot of another type). Shared by the core, which then reads it as a slot, and the CLI, which shows it.
 * Internal to leasehold.
 */
export function slotInRecordData(data: string): number | string | undefined {
  let value: unknown;
  try {
    value = (JSON.parse(data) as { slot?: unknown }).slot;
  } catch {
    return undefined;
  }
  return typeof value === 'number' || typeof value === 'string' ? value : undefined;
}
