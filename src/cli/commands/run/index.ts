/**
 * `leasehold run`: a distributed `flock`. Runs a command only while this host leads the lease (through
 * `runExclusive`, which claims, renews well inside the lease and releases after the command has exited), in its
 * own process group, without a shell, under a watchdog process (`./watchdog.ts`) that holds the validity end and
 * stops the command by then even when leasehold is stopped or starved (DESIGN.md, "Nothing leasehold supervises
 * outlives the lease"); stops it (SIGTERM, then SIGKILL after `--kill-grace`) when leadership is being lost; ends
 * what it left in its group before the release; exits with its code, or with one of the CLI's own codes.
 *
 * This folder: the command's loop (here), its flags (./args.ts), its help (./help.ts), the job that runs the command
 * (./command-job.ts), the signals it passes on (./signal-relay.ts), and its supervision: the watchdog (./watchdog.ts,
 * its own process), leasehold's side of it (./watchdog-link.ts) and the command's process group (./process-group.ts).
 * @module
 */
import { isLeaseholdError } from '../../../errors.js';
import { type RunExclusiveResult, runExclusive, SLOT_RECORD_SUFFIX } from '../../../jobs.js';
import type { Store } from '../../../store.js';
import { formatDuration } from '../../args.js';
import { EXIT, usage } from '../../exit-codes.js';
import { readStatus, storeFailure } from '../../lease-status.js';
import type { Output } from '../../output.js';
import { dueSlot, type ScheduleFlags, slotClock } from '../../schedule-flags.js';
import { type OpenedStore, openStore, parseStoreUrl } from '../../store-url.js';
import { parseRunArgs, type RunOptions } from './args.js';
import { type ChildExit, commandJob, JobEnded } from './command-job.js';
import { SignalRelay, signalExit } from './signal-relay.js';

/** `leasehold run …`: returns the exit code. */
export async function runCommand(args: string[], out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const options = parseRunArgs(args, env);
  const spec = parseStoreUrl(options.storeUrl);
  if (spec.scheme === 'memory') out.note('memory: is a store inside this one process: nothing is shared with other runs or hosts (for trying leasehold out)');
  const relay = new SignalRelay();
  let opened: OpenedStore | undefined;
  try {
    opened = await openStore(spec).catch((error: unknown) => {
      throw storeFailure(error, spec, 'the command was not run');
    });
    if (options.scheduled !== undefined) options.slot = await scheduledSlot(opened.store, options, options.scheduled);
    return await runLoop(opened, options, relay, out);
  } finally {
    relay.close();
    await opened?.close();
  }
}

/** The slot a scheduled run fires for (see {@link dueSlot}), in ISO 8601: what LEASEHOLD_SLOT and the messages show. */
async function scheduledSlot(store: Store, options: RunOptions, scheduled: { flags: ScheduleFlags; earlyMs: number }): Promise<string> {
  const now = await slotClock(store, `${options.name}${SLOT_RECORD_SUFFIX}`).catch((error: unknown) => {
    throw storeFailure(error, parseStoreUrl(options.storeUrl), 'the command was not run');
  });
  const slot = dueSlot(scheduled.flags.timetable, now, scheduled.earlyMs);
  if (slot === undefined) throw usage(`the schedule ${scheduled.flags.timetable.text} has no slot at or before ${new Date(now).toISOString()}`);
  return new Date(slot).toISOString();
}

async function runLoop(opened: OpenedStore, options: RunOptions, relay: SignalRelay, out: Output): Promise<number> {
  const { store, spec } = opened;
  const deadline = Date.now() + options.waitMs;
  // Poll well inside the lease (a quarter of it, 100 ms to 2 s, with jitter): a released lease is taken at the next poll.
  const pollMs = Math.min(2_000, Math.max(100, options.ttlMs / 4));
  const base = { name: options.name, holder: options.holder, ...(options.slot !== undefined ? { slot: options.slot } : {}) };
  let reported = false;
  for (;;) {
    let outcome: RunExclusiveResult<ChildExit>;
    try {
      outcome = await runExclusive(
        store,
        {
          name: options.name,
          holder: options.holder,
          ttlMs: options.ttlMs,
          maxClockSkewMs: options.maxClockSkewMs,
          ...(options.slot !== undefined ? { slot: options.slot } : {}),
          ...(options.scheduled !== undefined ? { schedule: options.scheduled.flags.schedule } : {}),
        },
        commandJob(options, relay, out, store),
      );
    } catch (error) {
      if (error instanceof JobEnded) {
        const outcome = error.kind === 'lost' ? 'lost' : error.kind === 'failed' ? 'ran' : error.kind === 'watchdog' ? 'watchdog-failed' : error.kind;
        // A command that exits non-zero speaks for itself; an ending by a signal is worth a line.
        const quiet = error.kind === 'failed' && error.detail.commandSignal === null;
        out.result(outcome, error.exitCode, quiet ? '' : error.message, { ...base, ...error.detail });
        return error.exitCode;
      }
      const failure = storeFailure(error, spec, 'the command was not run');
      const left = deadline - Date.now();
      if (failure.exitCode === EXIT.STORE_UNAVAILABLE && isLeaseholdError(error, 'STORE_UNAVAILABLE') && left > 0 && !relay.received) {
        if (!reported) out.note(`${failure.message}; retrying until --wait runs out (${formatDuration(left)})`);
        reported = true;
        await relay.sleep(Math.min(left, pollMs));
        if (!relay.received) continue;
      }
      if (relay.received) return interrupted(relay.received, out, base);
      throw failure;
    }
    if (outcome.ran) {
      const missed = options.scheduled !== undefined ? { missed: outcome.missed } : {};
      out.result('ran', EXIT.OK, '', { ...base, token: outcome.token, exitCode: 0, slotRecorded: outcome.slotRecorded, ...missed });
      return EXIT.OK;
    }
    if (outcome.reason === 'done') {
      out.result(
        'done',
        options.doneExitCode,
        // --done-exit-code 0 says "a done slot is not worth a mail": silent as --quiet (the --json line still comes).
        (options.quiet || options.doneExitCode === 0) && !out.json
          ? ''
          : `slot ${options.slot} of ${options.name} is already done (last completed slot: ${typeof outcome.doneSlot === 'number' ? new Date(outcome.doneSlot).toISOString() : outcome.doneSlot}); the command was not run`,
        { ...base, doneSlot: outcome.doneSlot },
      );
      return options.doneExitCode;
    }
    const left = deadline - Date.now();
    if (left > 0 && !relay.received) {
      await relay.sleep(Math.min(left, pollMs * (0.8 + Math.random() * 0.4)));
      if (!relay.received) continue;
    }
    if (relay.received) return interrupted(relay.received, out, base);
    // Who holds it and until when: one more read (the claim's answer carries the holder, not the expiry).
    const status = await readStatus(store, options.name, options.maxClockSkewMs).catch(() => undefined);
    const until =
      status?.state === 'held' && status.expiresAt !== null
        ? ` until ${new Date(status.expiresAt).toISOString()} (${formatDuration(status.timeLeftMs)} left, unless renewed)`
        : '';
    const waited = options.waitMs > 0 ? ` after waiting ${formatDuration(options.waitMs)}` : '';
    out.result(
      'held',
      options.conflictExitCode,
      options.quiet && !out.json
        ? ''
        : `${options.name} is held by ${outcome.leader ?? 'another run'} (token ${outcome.token})${until}${waited}; the command was not run`,
      { ...base, leader: outcome.leader, token: outcome.token, expiresAt: status?.expiresAt ?? null, timeLeftMs: status?.timeLeftMs ?? null },
    );
    return options.conflictExitCode;
  }
}

function interrupted(signal: NodeJS.Signals, out: Output, base: Record<string, unknown>): number {
  const code = signalExit(signal);
  out.result('interrupted', code, `received ${signal}; the command was not run`, base);
  return code;
}
