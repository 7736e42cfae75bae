/**
 * `leasehold/logger`: structured log lines about a store's calls and about leadership, into the logger you already
 * have — `console`, pino, or the AWS Lambda Powertools logger, passed as it is. Silent unless you wrap a store.
 *
 * Lines carry the lease name, holder, token, outcome, store kind, operation and error code; never lease `data`,
 * credentials or an error's message (the caller gets the error itself).
 * @module
 */
import { LeaseholdError } from '../errors.js';
import { type LeaseholdLogger, type LoggerOptions, loggerObserver } from '../observe/log-lines.js';
import { observeStore } from '../observe/observed-store.js';
import type { Store } from '../store.js';

export type { LeaseholdLogFields, LeaseholdLogger, LoggerOptions, LogLevel, LogStyle } from '../observe/log-lines.js';

/**
 * Wraps `store` so that its calls and leadership changes are logged to `logger`; use the result wherever you used
 * the store. Everything else is unchanged: same `kind`, clock model, limits, timeout and identity (a release through
 * the original store ends the results won through the wrapper at once, and the other way round), the same fused
 * paths, the same answers (a logger that throws is ignored). Keep the original for store-specific methods (`migrate()`,
 * `createTable()`). Wrap once, at module scope: leadership is tracked per wrapped store.
 *
 * Lines: `info` when leadership through this store is gained or lost (released, expired, superseded), `warn`
 * when a store call fails, `error` when a store's answer breaks the lease contract, and with `level: 'debug'` one
 * line per store call. Throws `INVALID_STORE` for a non-store, `INVALID_OPTION` for a bad logger or option.
 * @example
 * import pino from 'pino'
 * const store = withLogger(new PostgresStore({ pool }), pino())
 * const lead = await tryLead(store, { name: 'nightly-report', holder: context.awsRequestId })
 */
export function withLogger(store: Store, logger: LeaseholdLogger, options: LoggerOptions = {}): Store {
  if (typeof options !== 'object' || options === null) throw new LeaseholdError('INVALID_OPTION', 'withLogger options must be an object, or omitted');
  const observer = loggerObserver(logger, options);
  return observeStore(store, [observer], { clock: options.clock, maxClockSkewMs: options.maxClockSkewMs }).store;
}
