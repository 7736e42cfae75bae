/**
 * The log lines of `leasehold/logger` (and of `leasehold/otel`'s `logger` option): a store observer that writes
 * structured lines into a logger passed as it is. Not a public entry point; `leasehold/logger` re-exports its types.
 * @module
 */
import type { Clock } from '../clock.js';
import { LeaseholdError } from '../errors.js';
import { describeValue } from '../options.js';
import type { StoreObserver } from './observed-store.js';

/**
 * A logger, typed by its shape: four methods that each take a message and an object of fields, in either order.
 * `console`, pino (`pino()`, a child logger) and `@aws-lambda-powertools/logger`'s `Logger` all fit as they are.
 */
export interface LeaseholdLogger {
  /** Per store call (only with `level: 'debug'`). */
  debug(...args: never[]): unknown;
  /** Leadership gained or lost. */
  info(...args: never[]): unknown;
  /** A store call failed (the core failed closed: not leader). */
  warn(...args: never[]): unknown;
  /** A store's answer broke the lease contract (`STORE_CORRUPT`), or the store was refused (`INVALID_STORE`). */
  error(...args: never[]): unknown;
}

/**
 * Argument order of the logger's methods. `'message-first'`: `info(message, fields)`, as `console`, the Lambda
 * Powertools logger and winston take them. `'fields-first'`: `info(fields, message)`, as pino and bunyan do.
 * `'auto'` (default): fields-first for a pino logger (recognised by pino's own markers), message-first otherwise.
 */
export type LogStyle = 'auto' | 'message-first' | 'fields-first';

/** The least severe line written. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Options of {@link withLogger}. */
export interface LoggerOptions {
  /** Argument order (default `'auto'`): see {@link LogStyle}. */
  style?: LogStyle;
  /**
   * Least severe line written (default `'info'`: leadership changes, failures). `'debug'` adds a line per store
   * call, which a hot loop makes many of; your logger's own level still filters what it prints.
   */
  level?: LogLevel;
  /** Clock for durations and leadership validity (default: the system clock). Pass the one your calls use. */
  clock?: Clock;
  /** The skew margin your calls use, in ms (default 1 000); see `maxClockSkewMs` of `tryLead()`. */
  maxClockSkewMs?: number;
}

/**
 * The fields of one line. Flat, so that CloudWatch Logs Insights, pino and Powertools show them as top-level keys;
 * `lease` (not `name`, which pino and others use for the logger's own name) is the election name.
 */
export interface LeaseholdLogFields {
  /** Election name. */
  lease: string;
  /** The store's `kind`. */
  storeKind: string;
  /** The holder claiming or releasing, or whose leadership changed (absent where a call names none). */
  holder?: string;
  /** The fencing token in the answer, or of the term that began or ended. */
  token?: number;
  /** The lease's holder in the answer (`null`: released). Store-call lines only. */
  leader?: string | null;
  /** A store call's outcome (`won`, `lost`, `found`, `released`, `error`, …) or a transition (`gained`, `lost`). */
  outcome: string;
  /** Store method (`claim`, `read`, `create`, `replace`, `releaseHolder`). Store-call lines only. */
  operation?: string;
  /** What the library was doing (`claim`, `release`, `read`, `slot`). Store-call lines only. */
  intent?: string;
  /** Which request of its library call this was (1 = the first). Store-call lines only. */
  roundTrip?: number;
  /** The call's duration in ms. Store-call lines only. */
  durationMs?: number;
  /** Why leadership ended: `released`, `expired` or `superseded`. */
  reason?: string;
  /** A failed call's LeaseholdError code, or `untyped`. */
  errorCode?: string;
  /** A failed call's error `name` (never its message). */
  errorName?: string;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Catches the rejection of `value` when it is a thenable (an async logger's answer); anything else is left alone. */
function ignoreRejection(value: unknown): void {
  if ((typeof value === 'object' || typeof value === 'function') && value !== null) {
    try {
      const then = (value as { then?: unknown }).then;
      if (typeof then === 'function') then.call(value, undefined, () => {});
    } catch {
      // A `then` getter that throws: nothing to wait on.
    }
  }
}

/** Whether `logger` is a pino logger: pino marks its instances with registered symbols. */
function isPino(logger: object): boolean {
  return Symbol.for('pino.serializers') in logger || Symbol.for('pino.chindings') in logger;
}

/** Checks a logger option; throws `INVALID_OPTION`. */
export function checkLogger(logger: unknown, where = 'logger'): LeaseholdLogger {
  const l = logger as Partial<Record<LogLevel, unknown>> | null;
  if (typeof l !== 'object' || l === null || !(['debug', 'info', 'warn', 'error'] as const).every((m) => typeof l[m] === 'function')) {
    throw new LeaseholdError(
      'INVALID_OPTION',
      `${where} must have debug, info, warn and error methods (console, a pino logger, a Powertools Logger); got ${describeValue(logger)}`,
    );
  }
  return l as LeaseholdLogger;
}

/**
 * The observer that writes the lines: what {@link withLogger} and `leasehold/otel`'s `instrument({ logger })` use.
 * Throws `INVALID_OPTION` for a bad logger, style or level.
 */
export function loggerObserver(logger: unknown, options: Pick<LoggerOptions, 'style' | 'level'> = {}): StoreObserver {
  const log = checkLogger(logger);
  const style = options.style ?? 'auto';
  if (style !== 'auto' && style !== 'message-first' && style !== 'fields-first') {
    throw new LeaseholdError('INVALID_OPTION', `logger style must be 'auto', 'message-first' or 'fields-first'; got ${describeValue(style)}`);
  }
  const level = options.level ?? 'info';
  // A string first: Object.hasOwn converts its key, and an object without toString (Object.create(null)) would throw.
  if (typeof level !== 'string' || !Object.hasOwn(LEVELS, level)) {
    throw new LeaseholdError('INVALID_OPTION', `logger level must be 'debug', 'info', 'warn' or 'error'; got ${describeValue(level)}`);
  }
  const fieldsFirst = style === 'fields-first' || (style === 'auto' && isPino(log));
  const least = LEVELS[level];
  const write = (at: LogLevel, message: string, fields: LeaseholdLogFields) => {
    if (LEVELS[at] < least) return;
    // Absent fields are left out, not written as undefined.
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const method = log[at] as (this: LeaseholdLogger, ...args: unknown[]) => unknown;
    // A logger that fails is ignored (observed-store.ts catches a throw; a rejected promise is caught here): an async
    // logger's rejection must not become an unhandled rejection, which ends a Node process.
    ignoreRejection(fieldsFirst ? method.call(log, clean, message) : method.call(log, message, clean));
  };
  return {
    onCall(call) {
      return {
        end(end) {
          const fields: LeaseholdLogFields = {
            lease: call.name,
            storeKind: call.storeKind,
            ...(call.holder !== null ? { holder: call.holder } : {}),
            token: end.token,
            leader: end.leader,
            outcome: end.outcome,
            operation: call.operation,
            intent: call.intent,
            roundTrip: call.roundTrip,
            durationMs: Math.round(end.durationMs * 1000) / 1000,
            errorCode: end.errorCode,
            errorName: end.errorName,
          };
          if (end.outcome !== 'error') write('debug', `leasehold: ${call.storeKind} ${call.operation} ${end.outcome}`, fields);
          else if (end.errorCode === 'STORE_CORRUPT' || end.errorCode === 'INVALID_STORE') {
            write('error', `leasehold: ${call.storeKind} ${call.operation} broke the lease contract (${end.errorCode})`, fields);
          } else write('warn', `leasehold: ${call.storeKind} ${call.operation} failed (${end.errorCode}); not leader on this call`, fields);
        },
      };
    },
    onTransition(t) {
      write('info', `leasehold: leadership of ${t.name} ${t.direction}${t.reason ? ` (${t.reason})` : ''}`, {
        lease: t.name,
        storeKind: t.storeKind,
        holder: t.holder,
        token: t.token,
        outcome: t.direction,
        reason: t.reason,
      });
    },
  };
}
