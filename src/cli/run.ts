/**
 * `leasehold run`: a distributed `flock`. Runs a command only while this host leads the lease (through
 * `runExclusive`, which claims, renews well inside the lease and releases after the command has exited), in its
 * own process group, without a shell, under a watchdog process (`./watchdog.ts`) that holds the validity end and
 * stops the command by then even when leasehold is stopped or starved (DESIGN.md, "Nothing leasehold supervises
 * outlives the lease"); stops it (SIGTERM, then SIGKILL after `--kill-grace`) when leadership is being lost; ends
 * what it left in its group before the release; exits with its code, or with one of the CLI's own codes.
 * @module
 */
import { constants, hostname } from 'node:os';
import { isLeaseholdError } from '../errors.js';
import { type JobContext, type RunExclusiveResult, runExclusive, SLOT_RECORD_SUFFIX } from '../jobs.js';
import { getLeader } from '../lead.js';
import { checkHolder, checkName, DEFAULT_MAX_CLOCK_SKEW_MS } from '../options.js';
import type { Store } from '../store.js';
import { formatDuration, parseCommandArgs, parseDuration, parseExitCode, required } from './args.js';
import { CliError, EXIT, usage } from './exit-codes.js';
import { readStatus, storeFailure } from './lease-status.js';
import type { Output } from './output.js';
import { dueSlot, parseEarly, parseScheduleFlags, SCHEDULE_FLAGS, type ScheduleFlags, slotClock } from './schedule-flags.js';
import { type OpenedStore, openStore, parseStoreUrl } from './store-url.js';
import { type CommandEnd, type Deadline, killAheadMs, sharedMonotonicMs, Watchdog } from './watchdog-link.js';

/** `leasehold run --help`. */
export const RUN_HELP = `Usage: leasehold run --store <url> --name <name> --ttl <duration> [options] -- <command> [args…]

Runs <command> only on the host that holds the lease <name>, renewing the lease while it runs and
releasing it when the command has exited: the same crontab line on several hosts runs the job once.
The command is spawned directly (no shell), in its own process group, by a small watchdog process that
holds the lease's deadline; SIGINT, SIGTERM and SIGHUP are passed on to that group. leasehold exits
with the command's exit code (128 + n if signal n ended it), or with one of its own codes below.
Nothing is printed on success; messages go to stderr.

Options:
  --store <url>              The store (default: $LEASEHOLD_STORE): postgres://user@host/db[?table=t],
                             redis://[user:password@]host[:6379][/db], dynamodb://<table>?region=<r>[&endpoint=<url>],
                             firestore://<project>/<collection>,
                             memory: (this process only: for trying it out)
  --name <name>              Lease name: 1-128 of A-Z a-z 0-9 _ . : @ - (at most 123 with --slot)
  --ttl <duration>           Lease length, e.g. 30s, 2m: how long a crashed host blocks the job. Renewed
                             every ttl/3 while the command runs; choose it well above a renewal round trip
  --slot <key>               Run at most once per slot, e.g. the scheduled time: "$(date -u +%Y-%m-%dT%H:%M)".
                             A later slot counts as done for earlier ones; a failed run does not complete it
  --schedule <cron>          Or let leasehold name the slot from the job's schedule (5 fields, the crontab's
                             own line, e.g. '0 2 * * *'): the latest scheduled instant at or before now +
                             --early, now by the store's clock where it has one (Postgres, Firestore), else
                             this host's; so hosts firing seconds apart agree. Not with --slot
  --timezone <zone>          The time zone --schedule is read in (default UTC), e.g. Europe/Paris: as the
                             crontab's (CRON_TZ, or the host's zone)
  --every <duration>         Or a fixed period, e.g. 5m: slots at whole multiples of it since the epoch
  --early <duration>         A host firing up to this long before a slot (a clock running fast) runs that slot
                             (default 5s; under half the gap between slots)
  --wait <duration>          Keep trying until leader or the duration passes (polling well inside the
                             lease); default: do not wait
  --holder <id>              This run's holder id (default: <hostname>:<pid>)
  --kill-grace <duration>    After SIGTERM, SIGKILL the group this long later (default: 10s, or less to fit
                             the lease). Shorter than the lease: ttl - max-clock-skew - ttl/3
  --max-clock-skew <d>       Clock-skew margin (default 1s): subtracted from validity; DynamoDB waits it out
  --leave-children           When the command exits, leave what it started in its process group running
                             (default: SIGTERM it, then SIGKILL after --kill-grace, before the release)
  --conflict-exit-code <n>   Exit code when another host holds the lease (default 75)
  --done-exit-code <n>       Exit code when the slot is already done (default 79)
  --quiet                    Print nothing when the command is not run because the lease is held or the
                             slot is done (the exit code still says so): cron then mails nothing
  --json                     Print leasehold's own messages as JSON lines on stderr (stdout is the command's)
  -h, --help                 Show this help

Losing leadership: when validity is about to run out with no renewal (the store unreachable, or
leasehold itself stopped, paused or starved: the watchdog holds the deadline, and a SIGSTOP or Ctrl-Z
sent to leasehold does not reach it), the command's group gets SIGTERM --kill-grace before the end of
validity and SIGKILL just before it. When a renewal, or a read of the lease between renewals (every
ttl/12, at most 1s apart), finds it taken or released, SIGTERM comes at once and SIGKILL after
--kill-grace, no later than the end of validity. So the command never runs past its lease, even if it
ignores SIGTERM, and if leasehold is killed the watchdog stops it. When the command exits, what it left
in its process group is ended before the lease is released (--leave-children keeps it; a process that
leaves the group, e.g. with setsid, is not followed). Releasing a running lease with leasehold release
lets another host start at once: both commands run until this run notices (ttl/12, at most 1s) and its
command exits. The command sees LEASEHOLD_FENCING_TOKEN (pass it to what it writes), LEASEHOLD_NAME,
LEASEHOLD_SLOT and LEASEHOLD_HOLDER.

Exit codes:
  <n>   the command's own exit code (128 + signal number when a signal ended it)
  64    bad usage: unknown flag, bad duration, unknown store scheme, missing SDK (nothing ran)
  69    the store could not be reached or failed: fail closed, the command did not run
  75    another holder has the lease (--conflict-exit-code); stderr says who and until when
  79    --slot/--schedule: this slot (or a later one) is already done (--done-exit-code)
  80    leadership was lost (taken, released, or not renewed in time) while the command ran; it was stopped
  126   the command could not be executed; 127: the command was not found

Examples:
  # crontab, the same on every host (LEASEHOLD_STORE=… at its top): the report runs once per trigger
  */5 * * * * leasehold run --quiet --name report --ttl 2m --slot "$(date -u +\\%Y-\\%m-\\%dT\\%H:\\%M)" -- /opt/report/run.sh
  # the same, the slot named from the schedule (no date arithmetic in the crontab)
  0 2 * * * leasehold run --quiet --name nightly --ttl 10m --schedule '0 2 * * *' -- /opt/nightly.sh
  leasehold run --store postgres://localhost/ops --name deploy --ttl 30s --wait 5m -- ./deploy.sh --prod
  leasehold run --store 'dynamodb://leases?region=eu-west-1' --name backup --ttl 10m -- pg_dump -f /backups/db.sql ops
  leasehold run --store memory: --name try --ttl 5s -- sh -c 'echo "token $LEASEHOLD_FENCING_TOKEN"'
`;

/** How the command ended. */
interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The job ended without completing: the command failed, could not start, was interrupted, or leadership was lost. */
class JobEnded extends Error {
  constructor(
    readonly exitCode: number,
    readonly kind: 'failed' | 'spawn' | 'lost' | 'interrupted' | 'watchdog',
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function signalExit(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

function defaultHolder(): string {
  const host = hostname().replace(/[^\x21-\x7e]/g, '') || 'host';
  return `${host}:${process.pid}`.slice(0, 256);
}

interface RunOptions {
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

function parseRunArgs(args: string[], env: NodeJS.ProcessEnv): RunOptions {
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
  try {
    checkName(name, '--name');
  } catch (error) {
    throw usage((error as Error).message);
  }
  const ttlMs = parseDuration(required(values.ttl, '--ttl <duration>', 'run', example), '--ttl');
  const maxClockSkewMs = values['max-clock-skew'] === undefined ? DEFAULT_MAX_CLOCK_SKEW_MS : parseDuration(values['max-clock-skew'], '--max-clock-skew');
  if (ttlMs <= maxClockSkewMs) {
    throw usage(
      `--ttl (${formatDuration(ttlMs)}) must be longer than --max-clock-skew (${formatDuration(maxClockSkewMs)}); a lease of 30s or more suits most jobs`,
    );
  }
  // The validity left when a renewal falls due: a kill grace at least this long would start stopping a healthy run.
  const renewEveryMs = ttlMs / 3;
  const graceLimit = ttlMs - maxClockSkewMs - renewEveryMs;
  let killGraceMs: number;
  if (values['kill-grace'] === undefined) {
    killGraceMs = Math.min(10_000, Math.floor(graceLimit / 2));
  } else {
    killGraceMs = parseDuration(values['kill-grace'], '--kill-grace');
    if (killGraceMs <= 0 || killGraceMs >= graceLimit) {
      throw usage(
        `--kill-grace (${formatDuration(killGraceMs)}) must be above 0 and shorter than the validity left when a renewal falls due (ttl - max-clock-skew - ttl/3 = ${formatDuration(graceLimit)}); lower it or raise --ttl`,
      );
    }
  }
  if (killGraceMs < 1) throw usage(`--ttl (${formatDuration(ttlMs)}) leaves no time to stop the command; raise --ttl`);
  const holder = values.holder ?? defaultHolder();
  try {
    checkHolder(holder);
  } catch (error) {
    throw usage((error as Error).message.replace(/^holder/, '--holder'));
  }
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

/** Signals that reached leasehold: passed on to the command's group while it runs; before it, they cancel the run. */
class SignalRelay {
  received: NodeJS.Signals | undefined;
  private forward: ((signal: NodeJS.Signals) => void) | undefined;
  private readonly listeners = new Map<NodeJS.Signals, () => void>();
  private wake: (() => void) | undefined;

  constructor() {
    for (const signal of FORWARDED) {
      const listener = () => {
        this.received ??= signal;
        this.forward?.(signal);
        this.wake?.();
      };
      this.listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  /** Where signals go while the command runs (its watchdog passes them on to its group), or nowhere. */
  attach(forward: ((signal: NodeJS.Signals) => void) | undefined): void {
    this.forward = forward;
  }

  /** Sleeps `ms`, or less if a signal arrives. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  close(): void {
    for (const [signal, listener] of this.listeners) process.off(signal, listener);
  }
}

/** The validity end of the term `lead` on the clocks its watchdog reads (see {@link Deadline}). */
function deadlineOf(lead: JobContext['lead'], offset: number): Deadline {
  return { monotonic: lead.validUntil + offset, wall: lead.validUntilWall };
}

/**
 * The job: the command, started by its watchdog and seen through. leasehold renews (through `runExclusive`) and hands
 * each renewal's validity end to the watchdog; the watchdog stops the command by that end if no renewal follows,
 * whatever happens to leasehold. leasehold asks it to stop the command at once when leadership is lost (a renewal
 * found another holder) or when a read of the lease between renewals finds it released or taken.
 */
function commandJob(options: RunOptions, relay: SignalRelay, out: Output, store: Store) {
  return ({ signal, token, lead }: JobContext): Promise<ChildExit> =>
    new Promise<ChildExit>((resolve, reject) => {
      if (relay.received) {
        reject(new JobEnded(signalExit(relay.received), 'interrupted', `received ${relay.received} before the command started; it was not run`));
        return;
      }
      const [file, ...args] = options.command as [string, ...string[]];
      // runExclusive's monotonic clock is performance.now(), which counts from this process's start.
      const offset = sharedMonotonicMs() - globalThis.performance.now();
      const watchdog = new Watchdog({
        file,
        args,
        env: {
          ...process.env,
          LEASEHOLD_FENCING_TOKEN: String(token),
          LEASEHOLD_NAME: options.name,
          LEASEHOLD_SLOT: options.slot ?? '',
          LEASEHOLD_HOLDER: options.holder,
        },
        name: options.name,
        killGraceMs: options.killGraceMs,
        leaveChildren: options.leaveChildren,
        json: out.json,
        until: deadlineOf(lead, offset),
      });
      relay.attach((sig) => watchdog.signal(sig));
      let stopping: string | undefined;
      let settled = false;
      const validityLeft = () => Math.min(lead.validUntil - globalThis.performance.now(), lead.validUntilWall - Date.now());
      const stop = (why: string) => {
        if (stopping || settled) return;
        stopping = why;
        const killIn = Math.max(0, Math.min(options.killGraceMs, validityLeft() - killAheadMs(options.killGraceMs)));
        out.event('stopping', `${why}: sending SIGTERM to the command (process group ${watchdog.group}), SIGKILL in ${formatDuration(killIn)}`, {
          reason: why,
          by: 'leasehold',
          processGroup: watchdog.group,
          killGraceMs: options.killGraceMs,
          validUntil: lead.validUntilWall,
          leaseCheckMs: options.leaseCheckMs,
        });
        watchdog.stop(why);
      };
      // runExclusive renews on its own timers: each new validity goes to the watchdog within 20 ms (it stops the
      // command --kill-grace before the old one ends, and a renewal comes well before that).
      const sync = setInterval(() => watchdog.deadline(deadlineOf(lead, offset)), 20);
      // Between renewals, read the lease: an operator's release (or a takeover) is noticed within leaseCheckMs, not
      // at the next renewal, while another host may already run the job.
      let checkTimer: ReturnType<typeof setTimeout> | undefined;
      const check = async () => {
        if (settled || stopping) return;
        try {
          const now = await getLeader(store, options.name, { maxClockSkewMs: options.maxClockSkewMs });
          if (settled || stopping) return;
          if (now === null && validityLeft() > 0) {
            stop(`lost leadership of ${options.name} (released): the lease was released by another process (leasehold release?)`);
          } else if (now !== null && now.holder !== options.holder) {
            stop(`lost leadership of ${options.name} (taken-over): ${now.holder} holds it now (token ${now.token})`);
          } else if (now !== null && now.token !== token) {
            stop(`lost leadership of ${options.name} (released): it was released and claimed again (token ${now.token})`);
          }
        } catch {
          // A read that fails says nothing: renewals judge the store, and the watchdog holds the deadline.
        }
        if (!settled && !stopping) checkTimer = setTimeout(check, options.leaseCheckMs);
      };
      checkTimer = setTimeout(check, options.leaseCheckMs);
      const onLost = () => {
        let reason: string = (isLeaseholdError(signal.reason) ? signal.reason.reason : undefined) ?? 'lost';
        // A renewal that found a new term while validity was left on the clocks: the lease was released meanwhile.
        if (reason === 'expired' && validityLeft() > 0) reason = 'released';
        // Past the validity end the watchdog sends SIGKILL at once.
        stop(`lost leadership of ${options.name} (${reason})`);
      };
      const finish = (end: CommandEnd | JobEnded) => {
        if (settled) return;
        settled = true;
        relay.attach(undefined);
        clearInterval(sync);
        clearTimeout(checkTimer);
        signal.removeEventListener('abort', onLost);
        watchdog.close();
        if (end instanceof JobEnded) {
          reject(end);
          return;
        }
        if (end.spawnError !== undefined) {
          const notFound = end.spawnError === 'ENOENT';
          reject(
            new JobEnded(
              notFound ? EXIT.NOT_FOUND : EXIT.NOT_EXECUTABLE,
              'spawn',
              `${notFound ? 'command not found' : 'cannot execute'}: ${file} (${end.spawnError})`,
            ),
          );
          return;
        }
        if (end.interrupted !== undefined) {
          reject(new JobEnded(signalExit(end.interrupted), 'interrupted', `received ${end.interrupted} before the command started; it was not run`));
          return;
        }
        if (end.notStarted !== undefined) {
          reject(new JobEnded(EXIT.LOST, 'lost', `${end.notStarted}; the command was not started`, { sent: [] }));
          return;
        }
        const group = end.processGroup;
        if (end.leftBehind) {
          const { sent, survived } = end.leftBehind;
          out.event(
            'left-behind',
            `the command left processes running in its process group ${group}: ended them (${sent.join(', then ')}) before releasing the lease${survived ? ', but some outlived SIGKILL' : ''} (--leave-children keeps them)`,
            { processGroup: group, sent, survived },
          );
        }
        const detail = { commandExitCode: end.code, commandSignal: end.signal, processGroup: group };
        const stopped = end.stopped ?? (stopping === undefined ? undefined : { reason: stopping, sent: [] });
        if (stopped) {
          const how = stopped.sent.length > 0 ? `the command was stopped (${stopped.sent.join(', then ')})` : 'the command had ended';
          reject(new JobEnded(EXIT.LOST, 'lost', `${stopped.reason}; ${how}`, { ...detail, sent: stopped.sent }));
        } else if (end.signal) {
          reject(new JobEnded(signalExit(end.signal), 'failed', `the command was ended by ${end.signal}`, detail));
        } else if (end.code !== 0) {
          reject(new JobEnded(end.code ?? EXIT.SOFTWARE, 'failed', `the command exited with code ${end.code}`, detail));
        } else {
          resolve({ code: end.code, signal: end.signal });
        }
      };
      watchdog.ended.then(finish, (error: Error) =>
        finish(
          new JobEnded(EXIT.SOFTWARE, 'watchdog', `the command's watchdog failed: ${error.message}; the command's process group was killed`, {
            processGroup: watchdog.group,
          }),
        ),
      );
      if (signal.aborted) onLost();
      else signal.addEventListener('abort', onLost, { once: true });
    });
}

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

export { CliError };
