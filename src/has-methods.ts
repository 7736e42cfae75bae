/**
 * The structural check of an interface a user passes in (a clock, a store): whether a value is an object with the
 * named methods. Written once for both; each caller still names its own error and fix.
 * @module
 */

/**
 * True when `value` is an object whose members named in `methods` are all functions.
 * @example
 * if (!hasMethods(clock, ['now', 'monotonic', 'setTimeout', 'clearTimeout'])) throw new LeaseholdError('INVALID_OPTION', …)
 */
export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const members = value as Record<string, unknown>;
  for (let i = 0; i < methods.length; i++) {
    if (typeof members[methods[i] as string] !== 'function') return false;
  }
  return true;
}
