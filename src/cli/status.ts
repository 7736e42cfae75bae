/**
 * `leasehold status`, `leasehold release` and `leasehold init`: one look at a lease, an operator's release of a
 * holder, and creating the table, each over one store URL.
 * @module
 */
import { DEFAULT_OVERDUE_AFTER_MS } from '../jobs.js';
import { release } from '../lead.js';
import { checkHolder, checkName, DEFAULT_MAX_CLOCK_SKEW_MS } from '../options.js';
import { formatDuration, parseCommandArgs, parseDuration } from './args.js';
import { EXIT, usage } from './exit-codes.js';
import { type LeaseStatus, readStatus, type ScheduledStatus, storeFailure } from './lease-status.js';
import type { Write } from './output.js';
import { parseScheduleFlags, SCHEDULE_FLAGS } from './schedule-flags.js';
import { type OpenedStore, openStore, parseStoreUrl } from './store-url.js';

const STORE_FLAG = `  --store <url>          The store (default: $LEASEHOLD_STORE): postgres://…, redis://…,
                         dynamodb://<table>?region=…, firestore://<project>/<collection>, memory: (this process only)`;

/** `leasehold status --help`. */
export const STATUS_HELP = `Usage: leasehold status <name…> --store <url> [--schedule <cron> | --every <d>] [--json]

Shows who holds each lease: holder, fencing token, when it was acquired, when it expires and the time
left (by the store's clock where it has one), and the job's last completed slot. With a schedule, also
the job's last run, when the next slot is due, how many slots were missed and whether it is overdue.
One round trip per lease (its lease and its completed slot, read together); writes nothing.

Options:
${STORE_FLAG}
  --name <name>          A lease name (as the positional names; may be repeated)
  --schedule <cron>      The job's schedule, as run --schedule has it: 5 fields, e.g. '0 2 * * *'
  --timezone <zone>      The time zone the cron expression is read in (default UTC), e.g. Europe/Paris
  --every <duration>     Or a fixed period, e.g. 5m (slots at whole multiples of it since the epoch)
  --overdue-after <d>    A due slot not completed this long after it fell due is overdue (default 1m)
  --max-clock-skew <d>   Skew margin for DynamoDB (default 1s): a lease counts as held until expiry + margin
  --json                 One JSON object per lease, one per line: { name, state (held|free|never), holder,
                         lastHolder, token, acquiredAt, expiresAt, timeLeftMs, lastCompletedSlot, clock },
                         and with a schedule job: { schedule, lastSlot, lastCompletedAt, running, nextDue,
                         latestDue, missed, overdue, overdueAfterMs } (times in epoch ms)
  -h, --help             Show this help

Exit codes: 0 read (whatever the state, overdue included), 64 bad usage, 69 store unreachable.

Examples:
  leasehold status nightly-report --store postgres://localhost/ops
  leasehold status --name nightly --schedule '0 2 * * *' --timezone Europe/Paris --json
  LEASEHOLD_STORE='dynamodb://leases?region=eu-west-1' leasehold status backup deploy --json
`;

/** `leasehold release --help`. */
export const RELEASE_HELP = `Usage: leasehold release <name> --holder <id> --store <url> [--json]

Releases the lease <name> if <id> holds it (an operator's cleanup after a run was stopped by hand):
the next run can claim it at once, with a new fencing token. The release is conditional on the holder,
so it never takes a lease from anyone else.

Releasing the lease of a leasehold run whose command is still running lets another host start its
command at once, while that one still runs: the running leasehold notices within ttl/12 (at most 1s),
stops its command (SIGTERM, then SIGKILL after its --kill-grace) and exits 80, but the two commands
overlap until then. To stop a job, send SIGTERM to its leasehold (or the command) instead; release only
the lease of a holder that is gone.

Options:
${STORE_FLAG}
  --holder <id>          The holder to release (leasehold status shows it)
  --json                 Print { name, holder, released } as JSON
  -h, --help             Show this help

Exit codes: 0 released, 1 that holder did not hold it (nothing changed), 64 bad usage, 69 store unreachable.

Examples:
  leasehold release nightly-report --holder web-2:4711 --store postgres://localhost/ops
`;

/** `leasehold init --help`. */
export const INIT_HELP = `Usage: leasehold init --store <url>

Creates what the store needs, if missing: the Postgres table (as sql/postgres.sql), or the DynamoDB
table (on demand, partition key pk; for development: create production tables with your infrastructure
tool). Firestore and memory: need nothing. Safe to run again.

Options:
${STORE_FLAG}
  --json                 Print { store, message } as JSON
  -h, --help             Show this help

Exit codes: 0 ready, 64 bad usage, 69 store unreachable (or no right to create the table).

Examples:
  leasehold init --store postgres://localhost/ops
  leasehold init --store 'dynamodb://leases?region=us-east-1&endpoint=http://127.0.0.1:8000'
`;

function storeUrl(value: string | undefined, env: NodeJS.ProcessEnv, command: string): string {
  const url = value ?? env.LEASEHOLD_STORE;
  if (url === undefined || url === '') throw usage(`leasehold ${command} needs --store <url> (or LEASEHOLD_STORE); see leasehold ${command} --help`);
  return url;
}

async function withStore<T>(url: string, what: string, use: (opened: OpenedStore) => Promise<T>, note: Write): Promise<T> {
  const spec = parseStoreUrl(url);
  if (spec.scheme === 'memory') note('leasehold: memory: is a store inside this one process; it holds nothing from other runs');
  let opened: OpenedStore | undefined;
  try {
    opened = await openStore(spec);
    return await use(opened);
  } catch (error) {
    throw storeFailure(error, spec, what);
  } finally {
    await opened?.close();
  }
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** Human lines for a scheduled job's state. */
function describeJob(j: ScheduledStatus): string {
  const slot = j.lastSlot === null ? 'never completed' : typeof j.lastSlot === 'number' ? new Date(j.lastSlot).toISOString() : j.lastSlot;
  const overdue = j.overdue
    ? `yes: the slot due ${iso(j.latestDue)} has not completed within ${formatDuration(j.overdueAfterMs)}`
    : `no (overdue ${formatDuration(j.overdueAfterMs)} after a slot falls due)`;
  return [
    `\n  schedule:  ${j.schedule}`,
    `\n  last run:  ${slot}${j.lastCompletedAt === null ? '' : `, completed ${iso(j.lastCompletedAt)}`}`,
    `\n  next due:  ${iso(j.nextDue)}`,
    `\n  missed:    ${j.missed === null ? '-' : j.missed}`,
    `\n  overdue:   ${overdue}`,
  ].join('');
}

/** Human lines for one lease. */
export function describeStatus(s: LeaseStatus): string {
  const slot = (s.lastCompletedSlot === null || s.job ? '' : `\n  last completed slot: ${s.lastCompletedSlot}`) + (s.job ? describeJob(s.job) : '');
  if (s.state === 'never') return `${s.name}: never claimed${slot}`;
  if (s.state === 'free') {
    return `${s.name}: free (${s.lastHolder === null ? 'released' : `expired; last holder ${s.lastHolder}`}; last token ${s.token})${slot}`;
  }
  const skew = s.clock === 'client' ? ' (by client clocks; others wait out the skew margin too)' : '';
  return (
    [
      `${s.name}: held by ${s.holder}`,
      `  token:     ${s.token}`,
      `  acquired:  ${iso(s.acquiredAt)}`,
      `  expires:   ${iso(s.expiresAt)}`,
      `  time left: ${formatDuration(s.timeLeftMs)}${skew}`,
    ].join('\n') + slot
  );
}

/** `leasehold status …`: returns the exit code. */
export async function statusCommand(args: string[], env: NodeJS.ProcessEnv, stdout: Write, stderr: Write): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'status',
    args,
    {
      store: { type: 'string' },
      name: { type: 'string', multiple: true },
      ...SCHEDULE_FLAGS,
      'overdue-after': { type: 'string' },
      'max-clock-skew': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  const names = [...positionals, ...(values.name ?? [])];
  if (names.length === 0) throw usage('leasehold status needs a lease name, e.g. leasehold status nightly-report --store postgres://host/db');
  for (const name of names) checkNameOrUsage(name);
  const flags = parseScheduleFlags(values, 'status');
  if (values['overdue-after'] !== undefined && flags === undefined) throw usage('--overdue-after needs --schedule or --every; see leasehold status --help');
  const overdueAfterMs = values['overdue-after'] === undefined ? DEFAULT_OVERDUE_AFTER_MS : parseDuration(values['overdue-after'], '--overdue-after');
  const scheduled = flags === undefined ? undefined : { timetable: flags.timetable, overdueAfterMs };
  const skew = values['max-clock-skew'] === undefined ? DEFAULT_MAX_CLOCK_SKEW_MS : parseDuration(values['max-clock-skew'], '--max-clock-skew');
  const url = storeUrl(values.store, env, 'status');
  const statuses = await withStore(url, 'nothing was read', ({ store }) => Promise.all(names.map((name) => readStatus(store, name, skew, scheduled))), stderr);
  for (const s of statuses) stdout(values.json ? JSON.stringify(s) : describeStatus(s));
  return EXIT.OK;
}

/** `leasehold release …`: returns the exit code. */
export async function releaseCommand(args: string[], env: NodeJS.ProcessEnv, stdout: Write, stderr: Write): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'release',
    args,
    { store: { type: 'string' }, holder: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (positionals.length !== 1) throw usage('leasehold release needs one lease name, e.g. leasehold release nightly-report --holder web-2:4711');
  const name = checkNameOrUsage(positionals[0]);
  if (values.holder === undefined) throw usage(`leasehold release needs --holder <id> (leasehold status ${name} shows the holder)`);
  try {
    checkHolder(values.holder);
  } catch (error) {
    throw usage((error as Error).message.replace(/^holder/, '--holder'));
  }
  const holder = values.holder;
  const url = storeUrl(values.store, env, 'release');
  const released = await withStore(url, 'nothing was released', ({ store }) => release(store, { name, holder }), stderr);
  if (values.json) stdout(JSON.stringify({ name, holder, released }));
  else stdout(released ? `released ${name} (holder ${holder})` : `${name} was not held by ${holder}; nothing changed`);
  return released ? EXIT.OK : EXIT.NOT_HOLDER;
}

/** `leasehold init …`: returns the exit code. */
export async function initCommand(args: string[], env: NodeJS.ProcessEnv, stdout: Write, stderr: Write): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'init',
    args,
    { store: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (positionals.length > 0) throw usage(`leasehold init takes no names (got ${positionals.join(' ')}); see leasehold init --help`);
  const url = storeUrl(values.store, env, 'init');
  const message = await withStore(url, 'nothing was created', (opened) => opened.init(), stderr);
  stdout(values.json ? JSON.stringify({ store: parseStoreUrl(url).shown, message }) : message);
  return EXIT.OK;
}

function checkNameOrUsage(name: string | undefined): string {
  try {
    return checkName(name, 'the lease name');
  } catch (error) {
    throw usage((error as Error).message);
  }
}
