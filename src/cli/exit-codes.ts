/**
 * The CLI's own exit codes. `run` otherwise exits with its command's code (or 128 + the signal that ended it), so
 * these sit in the BSD `sysexits.h` range (64-78) and just above it, where commands rarely put their own.
 * @module
 */

/** Exit codes of `leasehold`; the README's table documents each. */
export const EXIT = {
  /** Success: the command ran and exited 0, the lease was released, the status was read. */
  OK: 0,
  /** `release`: that holder did not hold the lease; nothing changed. */
  NOT_HOLDER: 1,
  /** Bad usage: an unknown flag, a bad duration, an unknown store scheme, a missing SDK (`EX_USAGE`). */
  USAGE: 64,
  /** The store could not be reached or answered with an error; fail closed: the command was not run (`EX_UNAVAILABLE`). */
  STORE_UNAVAILABLE: 69,
  /** An unexpected internal error (`EX_SOFTWARE`). */
  SOFTWARE: 70,
  /** `run`: another holder has the lease (`EX_TEMPFAIL`); `--conflict-exit-code` changes it. */
  HELD: 75,
  /** `run --slot`: this slot (or a later one) has already completed; `--done-exit-code` changes it. */
  DONE: 79,
  /** `run`: leadership was lost while the command ran; the command was stopped (SIGTERM, then SIGKILL). */
  LOST: 80,
  /** `run`: the command was found but could not be executed (as a shell says). */
  NOT_EXECUTABLE: 126,
  /** `run`: the command was not found (as a shell says). */
  NOT_FOUND: 127,
} as const;

/** The CLI's failure as an exit code and a message saying what to do; the entry point prints it. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    /** A machine-readable outcome for `--json` (e.g. `usage`, `store-unavailable`). */
    readonly outcome: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Bad usage: exit 64, with a message that says what to fix. */
export function usage(message: string): CliError {
  return new CliError(EXIT.USAGE, message, 'usage');
}
