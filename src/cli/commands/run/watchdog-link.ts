/**
 * leasehold's side of `run`'s watchdog (`./watchdog.ts`, started as its own process from ../../watchdog.ts): starts it, tells it each new validity end, asks it to stop
 * the command or to pass a signal on, and hears how the command ended. They talk over Node's IPC channel.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { watchdogArgs } from '../../watchdog-script.js';
import { signalGroup } from './process-group.js';

/**
 * The end of a lease's validity on the two clocks that every process of this machine shares: the monotonic one
 * (CLOCK_MONOTONIC, as {@link sharedMonotonicMs} reads it) and the wall clock (epoch ms). The earlier one counts:
 * the monotonic clock stands still while the machine is suspended, the wall clock may jump.
 */
export interface Deadline {
  monotonic: number;
  wall: number;
}

/**
 * Monotonic milliseconds with the same origin in every process of the machine (`process.hrtime`); a process's
 * `performance.now()` counts from that process's start instead.
 */
export function sharedMonotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * How long before the end of validity the SIGKILL is sent, so that a timer that fires late on a loaded machine still
 * kills the group before the end: 200 ms, or a quarter of a kill grace shorter than 800 ms.
 */
export function killAheadMs(killGraceMs: number): number {
  return Math.min(200, killGraceMs / 4);
}

/** What the watchdog is to run, and the first validity end. */
export interface WatchdogStart {
  type: 'start';
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The lease's name, for messages. */
  name: string;
  killGraceMs: number;
  /** Leave what the command left in its group when it exits by itself (`--leave-children`). */
  leaveChildren: boolean;
  /** Print messages as JSON lines (`--json`). */
  json: boolean;
  until: Deadline;
}

/** leasehold → watchdog. */
export type ToWatchdog =
  | WatchdogStart
  /** A renewal's new validity end. */
  | { type: 'deadline'; until: Deadline }
  /** Leadership is being lost: SIGTERM now, SIGKILL after the grace (no later than the validity end). */
  | { type: 'stop'; reason: string }
  /** A signal leasehold received, for the command's group. */
  | { type: 'signal'; signal: NodeJS.Signals };

/** How the command ended, once its process group is gone (or left alone). */
export interface CommandEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The command could not be started: the errno code (`ENOENT`, `EACCES`) or message. */
  spawnError?: string;
  /** The command was not started, and why. */
  notStarted?: string;
  /** It was not started because leasehold passed on this signal first. */
  interrupted?: NodeJS.Signals;
  /** The command was stopped: why, by whom, and the signals its group got. */
  stopped?: { reason: string; by: 'watchdog' | 'leasehold'; sent: NodeJS.Signals[] };
  /** The command exited by itself and left processes in its group, which were ended with these signals. */
  leftBehind?: { sent: NodeJS.Signals[]; survived: boolean };
  processGroup?: number;
}

/** watchdog → leasehold. */
export type FromWatchdog = { type: 'started'; pid: number } | { type: 'ended'; end: CommandEnd };

/** A running watchdog, as leasehold holds it. */
export class Watchdog {
  /** The command's process group, once started. */
  group: number | undefined;
  /** Settles when the command has ended and its group is gone; rejects if the watchdog itself fails. */
  readonly ended: Promise<CommandEnd>;
  private readonly process: ChildProcess;
  private last: Deadline;

  /**
   * Starts the watchdog, which starts the command. In its own session: a SIGSTOP, SIGTSTP (Ctrl-Z) or SIGKILL sent to
   * leasehold or to its process group does not reach it.
   */
  constructor(start: Omit<WatchdogStart, 'type'>) {
    this.last = start.until;
    this.process = spawn(process.execPath, watchdogArgs(), { detached: true, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    this.ended = new Promise<CommandEnd>((resolve, reject) => {
      let settled = false;
      this.process.on('message', (message: FromWatchdog) => {
        if (message.type === 'started') this.group = message.pid;
        else if (message.type === 'ended' && !settled) {
          settled = true;
          resolve(message.end);
        }
      });
      const failed = (why: string) => {
        if (settled) return;
        settled = true;
        // Fail safe: nothing may run on unwatched.
        if (this.group !== undefined) signalGroup(this.group, 'SIGKILL');
        reject(new Error(why));
      };
      this.process.once('error', (error) => failed(`it could not be started (${error.message})`));
      this.process.once('exit', (code, signal) => failed(`it exited (${signal ?? `code ${code}`}) before the command ended`));
    });
    this.send({ type: 'start', ...start });
  }

  /** Tells the watchdog a new validity end, if it changed. */
  deadline(until: Deadline): void {
    if (until.monotonic === this.last.monotonic && until.wall === this.last.wall) return;
    this.last = until;
    this.send({ type: 'deadline', until });
  }

  /** Asks the watchdog to stop the command now. */
  stop(reason: string): void {
    this.send({ type: 'stop', reason });
  }

  /** Passes a signal on to the command's group. */
  signal(signal: NodeJS.Signals): void {
    this.send({ type: 'signal', signal });
  }

  /** Lets the watchdog go (it exits once the command has ended). */
  close(): void {
    if (this.process.connected) this.process.disconnect();
  }

  private send(message: ToWatchdog): void {
    // A watchdog that is gone is noticed by its exit; the message is then moot.
    if (this.process.connected) this.process.send(message, () => {});
  }
}
