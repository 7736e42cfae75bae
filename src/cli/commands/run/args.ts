/**
 * The arguments of `leasehold run`: its flags, read and checked (usage errors, exit 64, say which flag and how to fix
 * it), with the defaults that follow from the lease (the kill grace, how often the lease is read between renewals).
 * @module
 */
import { hostname } from 'node:os';
import { defaultRenewEveryMs } from '../../../options.js';
import { formatDuration, holderArg, leaseNameArg, maxClockSkewArg, parseCommandArgs, parseDuration, parseExitCode, required } from '../../args.js';
import { EXIT, usage } from '../../exit-codes.js';
import { parseEarly, parseScheduleFlags, SCHEDULE_FLAGS, type ScheduleFlags } from '../../schedule-flags.js';

function defaultHolder(): string {
  const host = hostname().replace(/[^\x21-\x7e]/g, '') || 'host';
  return `${host}:${process.pid}`.slice(0, 256);
}

/** What `leasehold run` was asked to do. */
export interface RunOptions {
  storeUrl: string;
  name: string;
  ttlMs: number;
  maxClockSkewMs: number;
  slot: string | undefined;
  /** `--schedule`/`--every`: the slot is derived from it (after the store is opened) and `slot` set then. */
  scheduled: { flags: ScheduleFlags; earlyMs: number } | undefined;
  waitMs: number;
  holder: string;
  killGraceMs: number;
  conflictExitCode: number;
  doneExitCode: number;
  quiet: boolean;
  leaveChildren: boolean;
  /** How often the lease is read between renewals, to notice a release or a takeover sooner. */
  leaseCheckMs: number;
  command: string[];
}

/** Reads the arguments of `leasehold run` (the command after `--`); throws a usage error (exit 64) naming the flag. */
export function parseRunArgs(args: string[], env: NodeJS.ProcessEnv): RunOptions {
  const split = args.indexOf('--');
  const own = split < 0 ? args : args.slice(0, split);
  const command = split < 0 ? [] : args.slice(split + 1);
  const { values } = parseCommandArgs(
    'run',
    own,
    {
      store: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string' },
      slot: { type: 'string' },
      ...SCHEDULE_FLAGS,
      early: { type: 'string' },
      wait: { type: 'string' },
      holder: { type: 'string' },
      'kill-grace': { type: 'string' },
      'max-clock-skew': { type: 'string' },
      'conflict-exit-code': { type: 'string' },
      'done-exit-code': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      'leave-children': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  const example = 'leasehold run --store postgres://host/db --name report --ttl 30s -- ./report.sh';
  const storeUrl = values.store ?? env.LEASEHOLD_STORE;
  if (storeUrl === undefined || storeUrl === '')
    throw usage(`leasehold run needs --store <url> (or LEASEHOLD_STORE), e.g. ${example}; see leasehold run --help`);
  const name = required(values.name, '--name <name>', 'run', example);
  leaseNameArg(name, '--name');
  const ttlMs = parseDuration(required(values.ttl, '--ttl <duration>', 'run', example), '--ttl');
  const maxClockSkewMs = maxClockSkewArg(values['max-clock-skew']);
  if (ttlMs <= maxClockSkewMs) {
    throw usage(
      `--ttl (${formatDuration(ttlMs)}) must be longer than --max-clock-skew (${formatDuration(maxClockSkewMs)}); a lease of 30s or more suits most jobs`,
    );
  }
  // The validity left when a renewal falls due: a kill grace at least this long would start stopping a healthy run.
  const renewEveryMs = defaultRenewEveryMs(ttlMs, maxClockSkewMs);
  const graceLimit = ttlMs - maxClockSkewMs - renewEveryMs;
  let killGraceMs: number;
  if (values['kill-grace'] === undefined) {
    killGraceMs = Math.min(10_000, Math.floor(graceLimit / 2));
  } else {
    killGraceMs = parseDuration(values['kill-grace'], '--kill-grace');
    if (killGraceMs <= 0 || killGraceMs >= graceLimit) {
      throw usage(
        `--kill-grace (${formatDuration(killGraceMs)}) must be above 0 and shorter than the validity left when a renewal falls due (ttl - max-clock-skew - the renewal interval = ${formatDuration(graceLimit)}); lower it or raise --ttl`,
      );
    }
  }
  if (killGraceMs < 1) throw usage(`--ttl (${formatDuration(ttlMs)}) leaves no time to stop the command; raise --ttl`);
  const holder = holderArg(values.holder ?? defaultHolder());
  if (values.slot !== undefined && (values.slot === '' || values.slot.length > 256))
    throw usage('--slot must be 1-256 characters, e.g. the scheduled time 2030-01-01T05:00');
  if (values.slot !== undefined && (values.schedule !== undefined || values.every !== undefined)) {
    throw usage(`--slot and --${values.schedule !== undefined ? 'schedule' : 'every'} exclude each other: give the slot, or let the schedule name it`);
  }
  const flags = parseScheduleFlags(values, 'run');
  if (values.early !== undefined && flags === undefined) throw usage('--early needs --schedule or --every; see leasehold run --help');
  const scheduled = flags === undefined ? undefined : { flags, earlyMs: parseEarly(values.early, flags) };
  if (command.length === 0 || command[0] === '') throw usage(`leasehold run needs a command after --, e.g. ${example}; see leasehold run --help`);
  return {
    storeUrl,
    name,
    ttlMs,
    maxClockSkewMs,
    slot: values.slot,
    scheduled,
    waitMs: values.wait === undefined ? 0 : parseDuration(values.wait, '--wait'),
    holder,
    killGraceMs,
    conflictExitCode: values['conflict-exit-code'] === undefined ? EXIT.HELD : parseExitCode(values['conflict-exit-code'], '--conflict-exit-code'),
    doneExitCode: values['done-exit-code'] === undefined ? EXIT.DONE : parseExitCode(values['done-exit-code'], '--done-exit-code'),
    quiet: values.quiet === true,
    leaveChildren: values['leave-children'] === true,
    // Four reads per renewal for leases up to 12s, at most one a second for longer ones.
    leaseCheckMs: Math.min(1_000, Math.max(100, Math.round(ttlMs / 12))),
    command,
  };
}
