/**
 * The version of each write: unique per attempt (README safety: "Lost answers and late writes": a caller recognises its own write by it),
 * from the caller's generator or `crypto.randomUUID`, checked before anything is sent.
 * @module
 */
import { LeaseholdError } from './errors.js';
import { describeValue, isValidVersion, MAX_VERSION_LENGTH } from './options.js';

/**
 * A new write version from the caller's generator (default `crypto.randomUUID`), checked: throws `INVALID_OPTION`
 * when `generate` is not a function or returns anything but a new, non-empty, well-formed string.
 * @example
 * const version = newVersion(options.newVersion)
 */
export function newVersion(generate: unknown): string {
  if (generate !== undefined && typeof generate !== 'function') {
    throw new LeaseholdError('INVALID_OPTION', 'newVersion must be a function returning a new, non-empty string at every call; omit it for crypto.randomUUID');
  }
  // The default needs no check: a UUID is short, ASCII and new at every call.
  if (generate === undefined) return globalThis.crypto.randomUUID();
  const version = (generate as () => unknown)();
  // Every store must give the version back exactly as written, or a caller would not recognise its own write.
  if (!isValidVersion(version)) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `newVersion must return a new, non-empty string of at most ${MAX_VERSION_LENGTH} characters, well-formed Unicode without NUL, at every call; got ${describeValue(version)}. Nothing was sent`,
    );
  }
  return version;
}
