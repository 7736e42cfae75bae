/**
 * The signals `leasehold run` passes on to its command's process group (SIGINT, SIGTERM, SIGHUP) and the exit code a
 * signal gives, as a shell reports it.
 * @module
 */
import { constants } from 'node:os';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The exit code of a process ended by `signal`, as a shell reports it: 128 + the signal number. */
export function signalExit(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** Signals that reached leasehold: passed on to the command's group while it runs; before it, they cancel the run. */
export class SignalRelay {
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
