/**
 * `leasehold status`: one look at each lease (holder, fencing token, time left, last completed slot; with a schedule,
 * the job's last run, next due slot, missed count and whether it is overdue), in words or as JSON lines.
 * @module
 */
import { DEFAULT_OVERDUE_AFTER_MS } from '../../../jobs.js';
import { formatDuration, leaseNameArg, maxClockSkewArg, parseCommandArgs, parseDuration } from '../../args.js';
import { EXIT, usage } from '../../exit-codes.js';
import { type LeaseStatus, readStatus, type ScheduledStatus } from '../../lease-status.js';
import type { Write } from '../../output.js';
import { parseScheduleFlags, SCHEDULE_FLAGS } from '../../schedule-flags.js';
import { storeUrl, withStore } from '../../store-flag.js';

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
  for (const name of names) leaseNameArg(name);
  const flags = parseScheduleFlags(values, 'status');
  if (values['overdue-after'] !== undefined && flags === undefined) throw usage('--overdue-after needs --schedule or --every; see leasehold status --help');
  const overdueAfterMs = values['overdue-after'] === undefined ? DEFAULT_OVERDUE_AFTER_MS : parseDuration(values['overdue-after'], '--overdue-after');
  const scheduled = flags === undefined ? undefined : { timetable: flags.timetable, overdueAfterMs };
  const skew = maxClockSkewArg(values['max-clock-skew']);
  const url = storeUrl(values.store, env, 'status');
  const statuses = await withStore(url, 'nothing was read', ({ store }) => Promise.all(names.map((name) => readStatus(store, name, skew, scheduled))), stderr);
  for (const s of statuses) stdout(values.json ? JSON.stringify(s) : describeStatus(s));
  return EXIT.OK;
}
