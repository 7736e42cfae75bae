/**
 * The watchdog of `leasehold run` (DESIGN.md, "Nothing leasehold supervises outlives the lease"): a small process in
 * a session of its own that starts the command and holds the deadline its lease gives it. leasehold tells it each
 * new validity end after a renewal (`./watchdog-link.ts`); when none comes in time, it sends SIGTERM to the
 * command's process group `--kill-grace` before the validity ends and SIGKILL just before the end, whatever leasehold
 * is doing: stopped (SIGSTOP, Ctrl-Z), paused, starved, or killed. A signal sent to leasehold or to its process group
 * does not reach it. When the command exits, it ends what the command left in its group (SIGTERM, then SIGKILL after
 * the grace, never after the validity end) unless `--leave-children`, and only then reports the end: leasehold
 * releases the lease after that. Its executable is ../../watchdog.ts, which calls {@link superviseForLeasehold}.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { formatDuration } from '../../args.js';
import { createOutput, type Output, toStderr } from '../../output.js';
import { groupRunning, signalGroup } from './process-group.js';
import { type CommandEnd, type Deadline, type FromWatchdog, killAheadMs, sharedMonotonicMs, type ToWatchdog, type WatchdogStart } from './watchdog-link.js';

/** A round of signals to the group: since when, which were sent, and when the SIGKILL went. */
interface Phase {
  at: number;
  sent: NodeJS.Signals[];
  killedAt?: number;
}

let config: WatchdogStart | undefined;
let out: Output = createOutput(false, toStderr);
let until: Deadline = { monotonic: 0, wall: 0 };
let group: number | undefined;
let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
/** Leadership is being lost: the group is being stopped. */
let stopping: (Phase & { reason: string; by: 'watchdog' | 'leasehold' }) | undefined;
/** The command exited by itself and left processes in its group: they are being ended. */
let leftBehind: Phase | undefined;
let ended = false;
let orphaned = false;
/** A stop or a signal that came before the command started: it is then not started. */
let stopBeforeStart: string | undefined;
let signalBeforeStart: NodeJS.Signals | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

/** Validity left, on both clocks. */
const left = () => Math.min(until.monotonic - sharedMonotonicMs(), until.wall - Date.now());
const grace = () => config?.killGraceMs ?? 0;

function report(message: FromWatchdog): void {
  if (process.connected) process.send?.(message);
}

function term(phase: Phase): void {
  if (group === undefined) return;
  phase.sent.push('SIGTERM');
  signalGroup(group, 'SIGTERM');
  // A stopped process would keep SIGTERM pending: let it run its handler (as systemd does).
  signalGroup(group, 'SIGCONT');
}

function kill(phase: Phase): void {
  if (group === undefined) return;
  phase.sent.push('SIGKILL');
  phase.killedAt = sharedMonotonicMs();
  signalGroup(group, 'SIGKILL');
}

/** Time until a round begun at `phase.at` is due its SIGKILL: the grace, cut short to end before the validity does. */
function killIn(phase: Phase): number {
  return Math.min(phase.at + grace() - sharedMonotonicMs(), left() - killAheadMs(grace()));
}

function beginStop(reason: string, by: 'watchdog' | 'leasehold'): void {
  if (stopping || group === undefined || ended) return;
  stopping = { reason, by, at: sharedMonotonicMs(), sent: [] };
  if (by === 'watchdog') {
    out.event('stopping', `${reason}: sending SIGTERM to the command (process group ${group}), SIGKILL in ${formatDuration(Math.max(0, killIn(stopping)))}`, {
      reason,
      by,
      processGroup: group,
      killGraceMs: grace(),
      validUntil: until.wall,
    });
  }
  term(stopping);
}

function schedule(ms: number): void {
  clearTimeout(timer);
  timer = setTimeout(tick, Math.max(1, Math.min(ms, 250)));
}

/**
 * The one place that acts on time. Woken at the next moment something is due, and at least every 250 ms, so that a
 * wall clock that jumped, or a machine back from suspend, is noticed at once.
 */
function tick(): void {
  clearTimeout(timer);
  timer = undefined;
  if (config === undefined || group === undefined || ended) return;
  if (exited === undefined) {
    if (!stopping && left() <= grace()) {
      beginStop(
        `leadership of ${config.name} is running out (${formatDuration(Math.max(0, left()))} left, and no renewal came in time: the store failing, or leasehold stopped or starved)`,
        'watchdog',
      );
    }
    if (stopping && stopping.killedAt === undefined && killIn(stopping) <= 0) kill(stopping);
    schedule(stopping === undefined ? left() - grace() : stopping.killedAt === undefined ? killIn(stopping) : 250);
    return;
  }
  // The command has exited: wait until its group is gone, SIGKILLing what is left when due.
  const phase = stopping ?? leftBehind;
  if (phase === undefined || !groupRunning(group)) {
    end(false);
    return;
  }
  if (phase.killedAt === undefined) {
    if (killIn(phase) <= 0) kill(phase);
  } else if (sharedMonotonicMs() - phase.killedAt > 2_000) {
    // What outlives SIGKILL this long is stuck in the kernel (or, without /proc, exited and not reaped): say so.
    end(true);
    return;
  }
  schedule(50);
}

function end(survived: boolean): void {
  if (ended) return;
  ended = true;
  clearTimeout(timer);
  const result: CommandEnd = { code: exited?.code ?? null, signal: exited?.signal ?? null, processGroup: group };
  if (stopping) result.stopped = { reason: stopping.reason, by: stopping.by, sent: stopping.sent };
  else if (leftBehind) result.leftBehind = { sent: leftBehind.sent, survived };
  report({ type: 'ended', end: result });
  if (orphaned) process.exit(0);
}

/**
 * Starts the command once more than the kill grace of validity is left (judged on the newest validity end: the
 * renewals leasehold made while this process was starting are read first), unless validity runs out first, or
 * leasehold asked to stop or passed on a signal meanwhile.
 */
function start(message: WatchdogStart): void {
  const notStarted = (why: string, interrupted?: NodeJS.Signals) => {
    ended = true;
    report({ type: 'ended', end: { code: null, signal: null, notStarted: why, ...(interrupted ? { interrupted } : {}) } });
    if (orphaned) process.exit(0);
  };
  if (stopBeforeStart !== undefined) {
    notStarted(stopBeforeStart);
    return;
  }
  if (signalBeforeStart !== undefined) {
    notStarted(`received ${signalBeforeStart} before the command started`, signalBeforeStart);
    return;
  }
  if (left() <= grace()) {
    // Too little validity left to let the command run (a slow claim, or a slow start of this process): wait for the
    // next renewal, unless validity runs out first.
    if (left() > 0) setTimeout(() => start(message), Math.max(1, Math.min(50, left())));
    else notStarted(`leadership of ${message.name} ran out before the command could start (no renewal came in time)`);
    return;
  }
  let command: ChildProcess;
  try {
    command = spawn(message.file, message.args, { detached: true, stdio: 'inherit', env: message.env });
  } catch (error) {
    ended = true;
    report({ type: 'ended', end: { code: null, signal: null, spawnError: (error as Error).message } });
    return;
  }
  command.once('error', (error: NodeJS.ErrnoException) => {
    if (command.pid !== undefined && error.code !== 'ENOENT' && error.code !== 'EACCES') return;
    if (ended) return;
    ended = true;
    report({ type: 'ended', end: { code: null, signal: null, spawnError: error.code ?? error.message } });
    if (orphaned) process.exit(0);
  });
  if (command.pid === undefined) return;
  group = command.pid;
  report({ type: 'started', pid: group });
  command.once('exit', (code, signal) => {
    exited = { code, signal };
    if (!stopping && group !== undefined) {
      if (message.leaveChildren) {
        end(false);
        return;
      }
      if (groupRunning(group)) {
        leftBehind = { at: sharedMonotonicMs(), sent: [] };
        term(leftBehind);
      }
    }
    tick();
  });
  tick();
}

/**
 * Runs this process as the watchdog: it waits for leasehold's start message over the IPC channel, then starts the
 * command and holds its deadline; when leasehold goes away (the channel closes), it stops the command.
 */
export function superviseForLeasehold(): void {
  process.on('message', (message: ToWatchdog) => {
    if (message.type === 'start') {
      config = message;
      until = message.until;
      out = createOutput(message.json, toStderr);
      // Messages already received (the renewals made while this process started) are handled before the start.
      setImmediate(() => start(message));
    } else if (message.type === 'deadline') {
      until = message.until;
      tick();
    } else if (message.type === 'stop') {
      if (group === undefined) stopBeforeStart ??= message.reason;
      beginStop(message.reason, 'leasehold');
      tick();
    } else if (message.type === 'signal') {
      if (group === undefined) signalBeforeStart ??= message.signal;
      else if (!ended) signalGroup(group, message.signal);
    }
  });

  // leasehold is gone (it exited, or was killed): nobody renews, nobody will report; stop the command now.
  process.on('disconnect', () => {
    orphaned = true;
    if (ended || config === undefined || group === undefined) process.exit(0);
    beginStop(`leasehold ended before its command did (killed?): stopping the command of ${config.name}`, 'watchdog');
    tick();
  });
}
