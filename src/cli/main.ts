/**
 * `leasehold`, the command line: `run` (a distributed flock for crontab hosts), `status`, `release`, `watch` and
 * `init`, over a store URL. Built on `runExclusive`, `release` and the stores; the election rule stays in the core.
 * @module
 */
import { readFileSync } from 'node:fs';
import { INIT_HELP } from './commands/init/help.js';
import { initCommand } from './commands/init/index.js';
import { RELEASE_HELP } from './commands/release/help.js';
import { releaseCommand } from './commands/release/index.js';
import { RUN_HELP } from './commands/run/help.js';
import { runCommand } from './commands/run/index.js';
import { STATUS_HELP } from './commands/status/help.js';
import { statusCommand } from './commands/status/index.js';
import { WATCH_HELP } from './commands/watch/help.js';
import { watchCommand } from './commands/watch/index.js';
import { CliError, EXIT } from './exit-codes.js';
import { createOutput, toStderr, toStdout, type Write } from './output.js';
import { argumentScrubber, type Scrub } from './secrets/scrub.js';

/** `leasehold --help`. */
export const MAIN_HELP = `Usage: leasehold <command> [options]

Leader election over the database you already use, from the shell: run a command on one host of many.

Commands:
  run       Run a command only while this host holds the lease (a distributed flock for crontabs)
  status    Show who holds a lease, its fencing token and the time left
  release   Release a lease held by a given holder
  watch     A live view of leases, with takeovers as they happen
  init      Create the table a store needs (Postgres, DynamoDB; Redis needs none)

Store URLs (--store, or LEASEHOLD_STORE; credentials come from each SDK's usual environment):
  postgres://user@host:5432/db[?table=leasehold_leases&schema=…]   needs the pg package
  redis://[user:password@]host:6379[/db][?prefix=leasehold:]       needs ioredis or redis (rediss:// for TLS)
  dynamodb://<table>?region=<region>[&endpoint=<url>]             needs @aws-sdk/client-dynamodb
  firestore://<project>[/<collection>]                              needs @google-cloud/firestore
  memory:                                                           this process only, for trying it out
A password in a URL is percent-encoded where it holds @ : / ? # % (encodeURIComponent). leasehold never
prints a secret: a store is shown masked (postgres://user:****@host/db), one it cannot read with certainty
is refused (exit 64), and errors are scrubbed of what the URL and the arguments hold.

Run leasehold <command> --help for each command's options, exit codes and examples.

Examples:
  leasehold init --store postgres://localhost/ops
  leasehold run --store postgres://localhost/ops --name nightly --ttl 2m -- ./nightly.sh
  leasehold run --store postgres://localhost/ops --name nightly --ttl 2m --schedule '0 2 * * *' -- ./nightly.sh
  leasehold status nightly --store postgres://localhost/ops
  leasehold status nightly --schedule '0 2 * * *' --store postgres://localhost/ops
  leasehold watch nightly backup --store postgres://localhost/ops
`;

const HELP: Record<string, string> = { run: RUN_HELP, status: STATUS_HELP, release: RELEASE_HELP, watch: WATCH_HELP, init: INIT_HELP };

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Whether `--help`/`-h` comes before any `--` (after it, it belongs to the command `run` runs). */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Whether `--json` comes before any `--`. */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/**
 * Runs the CLI with `argv` (without `node` and the script); resolves to the exit code. Never throws: errors are
 * printed (as JSON with `--json`) and mapped to their exit codes. Whatever a command prints passes through a
 * scrubber of the secrets its arguments and `LEASEHOLD_STORE` carry (DESIGN.md, "Secrets are never echoed"): each
 * message shows a store URL only masked already; this catches what comes from elsewhere (a driver's error, an
 * argument echoed by a usage message).
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...args] = argv;
  const json = wantsJson(args);
  const scrub = argumentScrubber(argv, env);
  const stdout: Write = (line) => toStdout(scrub(line));
  const stderr: Write = (line) => toStderr(scrub(line));
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      const topic = command === 'help' ? args[0] : undefined;
      toStdout((topic && HELP[topic]) || MAIN_HELP);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (command === '--version' || command === '-v') {
      toStdout(version());
      return EXIT.OK;
    }
    const help = HELP[command];
    if (help === undefined)
      throw new CliError(EXIT.USAGE, `unknown command ${JSON.stringify(command)}; commands: run, status, release, watch, init (see leasehold --help)`, 'usage');
    if (wantsHelp(args)) {
      toStdout(help);
      return EXIT.OK;
    }
    switch (command) {
      case 'run':
        return await runCommand(args, createOutput(json, stderr), env);
      case 'status':
        return await statusCommand(args, env, stdout, stderr);
      case 'release':
        return await releaseCommand(args, env, stdout, stderr);
      case 'watch':
        return await watchCommand(args, env, stdout, stderr);
      default:
        return await initCommand(args, env, stdout, stderr);
    }
  } catch (error) {
    return report(error, json, scrub);
  }
}

/** Prints an error as main does (scrubbed, as JSON with `--json`) and returns its exit code. */
function report(error: unknown, json: boolean, scrub: Scrub): number {
  const e =
    error instanceof CliError
      ? error
      : new CliError(EXIT.SOFTWARE, `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 'error');
  createOutput(json, (line) => toStderr(scrub(line))).result(e.outcome, e.exitCode, scrub(e.message));
  return e.exitCode;
}

/**
 * Reports an error that escaped every handler (an SDK's event emitter, say) as main reports its own, scrubbed of the
 * secrets in `argv` and the environment; returns the exit code (70) for the process to exit with.
 */
export function reportUncaught(error: unknown, argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  return report(error, wantsJson(argv.slice(1)), argumentScrubber(argv, env));
}
