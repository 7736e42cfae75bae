/**
 * Where the CLI's own messages go: human lines prefixed `leasehold:` by default, or one JSON object per line
 * with `--json`. `run` writes them to stderr (its stdout belongs to the command); the other commands print their
 * answer on stdout and their errors on stderr.
 * @module
 */

/** The CLI's message sink. */
export interface Output {
  /** Whether `--json` is on. */
  readonly json: boolean;
  /** A side remark (stderr): `{ "event": "note", "message" }` in JSON. */
  note(message: string): void;
  /** Something that happened (e.g. `stopping`); human text, or `{ "event": kind, "message", …data }`. */
  event(kind: string, message: string, data?: Record<string, unknown>): void;
  /** The final outcome with its exit code; the message is printed only when non-empty (human mode). */
  result(outcome: string, exitCode: number, message: string, data?: Record<string, unknown>): void;
}

/** Writes a line to a stream (synchronous for files, pipes and terminals on Linux, so nothing is lost at exit). */
export type Write = (line: string) => void;

/** An Output writing human lines or JSON lines through `write`. */
export function createOutput(json: boolean, write: Write): Output {
  return {
    json,
    note(message) {
      write(json ? JSON.stringify({ event: 'note', message }) : `leasehold: ${message}`);
    },
    event(kind, message, data = {}) {
      write(json ? JSON.stringify({ event: kind, message, ...data }) : `leasehold: ${message}`);
    },
    result(outcome, exitCode, message, data = {}) {
      if (json) write(JSON.stringify({ outcome, exitCode, ...(message ? { message } : {}), ...data }));
      else if (message) write(`leasehold: ${message} (exit ${exitCode})`);
    },
  };
}

/**
 * Joins the clauses of a message with `; `, dropping empty ones and the end punctuation a clause brings from
 * elsewhere (a library message ends in a full stop: no "poll.; the command was not run").
 */
export function joinClauses(...clauses: Array<string | undefined>): string {
  return clauses
    .map((clause) => (clause ?? '').trim().replace(/[\s.;,:]+$/, ''))
    .filter((clause) => clause !== '')
    .join('; ');
}

/** Writes to stderr. */
export const toStderr: Write = (line) => {
  process.stderr.write(`${line}\n`);
};

/** Writes to stdout. */
export const toStdout: Write = (line) => {
  process.stdout.write(`${line}\n`);
};
