/**
 * Arguments: Node's own `util.parseArgs` (strict; nothing added to the package), durations with units, and
 * errors that name the flag, what was wrong and where the help is.
 * @module
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { checkHolder, checkName, DEFAULT_MAX_CLOCK_SKEW_MS } from '../options.js';
import { usage } from './exit-codes.js';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/**
 * Parses a duration with units: `500ms`, `30s`, `2m`, `1h`, `1d`, or combined (`1m30s`); `0` alone is zero.
 * A bare number is refused: `30` could mean seconds or milliseconds.
 */
export function parseDuration(text: string, flag: string): number {
  if (text === '0') return 0;
  if (!DURATION.test(text)) {
    throw usage(`${flag} must be a duration with a unit, like 500ms, 30s, 2m, 1h or 1m30s; got ${JSON.stringify(text)}`);
  }
  let ms = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(value) * (UNITS[unit ?? 's'] ?? 1);
  return Math.round(ms);
}

/** Formats milliseconds for people: `850ms`, `12.3s`, `4m05s`, `2h10m`. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 1_000) return `${v}ms`;
  if (v < 60_000) return `${(v / 1_000).toFixed(v < 10_000 && v % 1_000 !== 0 ? 1 : 0)}s`;
  if (v < 3_600_000) return `${Math.floor(v / 60_000)}m${String(Math.floor((v % 60_000) / 1_000)).padStart(2, '0')}s`;
  return `${Math.floor(v / 3_600_000)}h${String(Math.floor((v % 3_600_000) / 60_000)).padStart(2, '0')}m`;
}

/** Parses an exit code flag: an integer from 0 to 255. */
export function parseExitCode(text: string, flag: string): number {
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255) throw usage(`${flag} must be an exit code from 0 to 255; got ${JSON.stringify(text)}`);
  return Number(text);
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `util.parseArgs`, strict, with its errors reworded to say which command's help to read. Returns the values
 * and the positionals.
 */
export function parseCommandArgs<T extends Options>(
  command: string,
  args: string[],
  options: T,
  allowPositionals: boolean,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const detail = (e.message ?? String(error)).split('. To specify a positional')[0];
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && command === 'run') {
      throw usage(`${detail}: put the command after --, e.g. leasehold run --name job --ttl 30s -- ./job.sh; see leasehold run --help`);
    }
    throw usage(`${detail}; see leasehold ${command} --help`);
  }
}

/** A required string flag, or a usage error saying so. */
export function required(value: string | undefined, flag: string, command: string, example: string): string {
  if (value === undefined || value === '') throw usage(`leasehold ${command} needs ${flag}, e.g. ${example}; see leasehold ${command} --help`);
  return value;
}

/** A lease name, checked as the core checks it (`checkName`); its error becomes a usage error naming `what`. */
export function leaseNameArg(name: string | undefined, what = 'the lease name'): string {
  try {
    return checkName(name, what);
  } catch (error) {
    throw usage((error as Error).message);
  }
}

/** A holder id (`--holder`), checked as the core checks it (`checkHolder`); its error becomes a usage error naming the flag. */
export function holderArg(holder: string): string {
  try {
    checkHolder(holder);
  } catch (error) {
    throw usage((error as Error).message.replace(/^holder/, '--holder'));
  }
  return holder;
}

/** `--max-clock-skew`, a duration; the core's default (1 s) when not given. */
export function maxClockSkewArg(text: string | undefined): number {
  return text === undefined ? DEFAULT_MAX_CLOCK_SKEW_MS : parseDuration(text, '--max-clock-skew');
}
