/**
 * `leasehold run --schedule` and `leasehold status --schedule` as cron runs them: separate CLI processes (the bundled
 * CLI of test/support/cli-process.ts) against a real PostgreSQL, whose clock names the slot. Three hosts firing at
 * slightly different times within one slot agree on it and run the command once; a gap shows in `status` as missed
 * slots and an overdue job, until the next run. The slot rule itself (`--early`) is checked as a function, on fixed
 * instants.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { dueSlot, parseEarly, parseScheduleFlags } from '../../src/cli/schedule-flags.js';
import { runExclusive } from '../../src/jobs.js';
import { checkSchedule } from '../../src/schedule.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { buildCli, jsonLines, ROOT, type Running, sleep, startCli } from '../support/cli-process.js';

const WORK = join(ROOT, '.tmp', `cli-schedule-${process.pid}`);
const BIN = join(WORK, 'bin', 'bin.js');
const databaseUrl = inject('databaseUrl');
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const store = new PostgresStore({ pool });

const start = (args: string[]): Running => startCli(BIN, args, { LEASEHOLD_STORE: databaseUrl }, WORK);
const cli = (args: string[]) => start(args).done;
let seq = 0;
const fresh = (label: string) => {
  const name = `cli-sched-${label}-${process.pid}-${++seq}`;
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  return { name, out: join(dir, 'out') };
};
const lines = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/**
 * An hourly schedule whose minute is half an hour from now (on the database's clock), so its latest slot is about
 * 30 minutes old and the next about 30 minutes away: no run of this file straddles a slot. Returns the cron
 * expression and that latest slot.
 */
async function hourlyAwayFromNow(): Promise<{ cron: string; slot: number }> {
  const { rows } = await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  const now = (rows[0] as { now: Date }).now.getTime();
  const minute = (new Date(now).getUTCMinutes() + 30) % 60;
  const cron = `${minute} * * * *`;
  return { cron, slot: checkSchedule({ cron }).latestAtOrBefore(now) as number };
}

beforeAll(async () => {
  await buildCli(WORK);
  await store.migrate();
}, 60_000);
afterAll(async () => {
  await pool.end();
  rmSync(WORK, { recursive: true, force: true });
});

describe('leasehold run --schedule (PostgreSQL)', () => {
  it('three hosts firing at slightly different times within one slot name the same slot: the command runs once; status shows the run', async () => {
    const { name, out } = fresh('three');
    const { cron, slot } = await hourlyAwayFromNow();
    const iso = new Date(slot).toISOString();
    const hosts: Promise<Awaited<Running['done']>>[] = [];
    for (const i of [1, 2, 3]) {
      // Fired 0, 150 and 300 ms apart, as three crontabs on clocks a little apart would.
      hosts.push(
        cli([
          'run',
          '--name',
          name,
          '--ttl',
          '10s',
          '--holder',
          `host-${i}`,
          '--schedule',
          cron,
          '--json',
          '--',
          'sh',
          '-c',
          `echo "$LEASEHOLD_SLOT" >> ${out}; sleep 1`,
        ]),
      );
      await sleep(150);
    }
    const results = await Promise.all(hosts);
    expect(lines(out)).toEqual([iso]);
    const codes = results.map((r) => r.code);
    expect(codes.filter((c) => c === 0)).toHaveLength(1);
    for (const code of codes.filter((c) => c !== 0)) expect([EXIT.HELD, EXIT.DONE]).toContain(code);
    // Every host named the same slot, whatever it answered.
    for (const r of results) expect(jsonLines(r.stderr).find((l) => 'outcome' in l)?.slot, r.stderr).toBe(iso);
    const ran = results.find((r) => r.code === 0) as Awaited<Running['done']>;
    expect(jsonLines(ran.stderr).find((l) => 'outcome' in l)).toMatchObject({ outcome: 'ran', slot: iso, slotRecorded: true, missed: 0 });
    // A fourth host, late within the slot: done.
    const late = await cli(['run', '--name', name, '--ttl', '10s', '--schedule', cron, '--', 'sh', '-c', `echo late >> ${out}`]);
    expect(late.code).toBe(EXIT.DONE);
    expect(late.stderr).toContain(`slot ${iso} of ${name} is already done`);

    const status = await cli(['status', '--name', name, '--schedule', cron, '--json']);
    expect(status.code).toBe(0);
    const [job] = jsonLines(status.stdout);
    expect(job).toMatchObject({
      name,
      state: 'free',
      job: { schedule: `${cron} (UTC)`, lastSlot: slot, missed: 0, overdue: false, nextDue: slot + 3_600_000 },
    });
    const text = await cli(['status', name, '--schedule', cron]);
    expect(text.stdout).toContain(`  schedule:  ${cron} (UTC)\n  last run:  ${iso}, completed `);
    expect(text.stdout).toContain(`  next due:  ${new Date(slot + 3_600_000).toISOString()}\n  missed:    0\n  overdue:   no`);
  });

  it('after a gap, status counts the missed slots and says overdue; the next run runs the due slot, counts the skipped ones, and clears it', async () => {
    const { name, out } = fresh('gap');
    const { cron, slot } = await hourlyAwayFromNow();
    // The job last completed three hours before its latest slot.
    expect(await runExclusive(store, { name, slot: slot - 3 * 3_600_000, schedule: { cron }, ttlMs: 10_000 }, () => 'old')).toMatchObject({ ran: true });
    const before = await cli(['status', name, '--schedule', cron, '--overdue-after', '5m']);
    expect(before.stdout).toContain('  missed:    3');
    expect(before.stdout).toContain(`  overdue:   yes: the slot due ${new Date(slot).toISOString()} has not completed within 5m00s`);
    const run = await cli(['run', '--name', name, '--ttl', '10s', '--schedule', cron, '--json', '--', 'sh', '-c', `echo "$LEASEHOLD_SLOT" >> ${out}`]);
    expect(run.code).toBe(0);
    expect(jsonLines(run.stderr).find((l) => 'outcome' in l)).toMatchObject({ outcome: 'ran', slot: new Date(slot).toISOString(), missed: 2 });
    const [after] = jsonLines((await cli(['status', name, '--schedule', cron, '--json'])).stdout);
    expect(after).toMatchObject({ job: { lastSlot: slot, missed: 0, overdue: false } });
  });

  it('usage: --slot with --schedule, --timezone or --early alone, a bad cron, --overdue-after without a schedule: exit 64, nothing run', async () => {
    const { name, out } = fresh('usage');
    const cases: [string[], RegExp][] = [
      [['run', '--name', name, '--ttl', '10s', '--schedule', '0 2 * * *', '--slot', '2030-01-01T02:00Z'], /--slot and --schedule exclude each other/],
      [['run', '--name', name, '--ttl', '10s', '--every', '5m', '--slot', 'x'], /--slot and --every exclude each other/],
      [['run', '--name', name, '--ttl', '10s', '--timezone', 'Europe/Paris'], /--timezone needs --schedule/],
      [['run', '--name', name, '--ttl', '10s', '--early', '2s'], /--early needs --schedule or --every/],
      [['run', '--name', name, '--ttl', '10s', '--schedule', '0 2 * *'], /--schedule must have 5 fields/],
      [['run', '--name', name, '--ttl', '10s', '--schedule', '0 2 * * *', '--timezone', 'Mars/Base'], /--timezone must be an IANA time zone/],
      [['run', '--name', name, '--ttl', '10s', '--schedule', '0 2 * * *', '--every', '1h'], /--schedule or --every, not both/],
      [['run', '--name', name, '--ttl', '10s', '--every', '1m', '--early', '30s'], /--early \(30s\) must be under half the gap between slots \(1m00s\)/],
      [['status', name, '--overdue-after', '5m'], /--overdue-after needs --schedule or --every/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args[0] === 'run' ? [...args, '--', 'sh', '-c', `echo ran >> ${out}`] : args)));
    for (const [i, r] of results.entries()) {
      expect(r.code, String(cases[i]?.[0])).toBe(EXIT.USAGE);
      expect(r.stderr, String(cases[i]?.[0])).toMatch(cases[i]?.[1] as RegExp);
    }
    expect(lines(out)).toEqual([]);
  });
});

describe('the slot rule (--early)', () => {
  const at = (iso: string) => Date.parse(iso);
  it('the latest scheduled instant at or before now + early: a host firing a little early or late names the same slot', () => {
    const flags = parseScheduleFlags({ schedule: '0 2 * * *' }, 'run');
    if (!flags) throw new Error('no flags');
    const early = parseEarly(undefined, flags);
    expect(early).toBe(5_000);
    const slot = at('2030-01-02T02:00:00Z');
    for (const now of ['2030-01-02T01:59:55Z', '2030-01-02T01:59:58.500Z', '2030-01-02T02:00:00Z', '2030-01-02T02:00:03Z', '2030-01-03T01:59:54.999Z']) {
      expect(dueSlot(flags.timetable, at(now), early), now).toBe(slot);
    }
    // More than --early before the slot: still the previous one.
    expect(dueSlot(flags.timetable, at('2030-01-02T01:59:54.999Z'), early)).toBe(at('2030-01-01T02:00:00Z'));
    // In a time zone: 02:00 in Paris is 01:00 UTC in winter.
    const paris = parseScheduleFlags({ schedule: '0 2 * * *', timezone: 'Europe/Paris' }, 'run');
    expect(dueSlot(paris?.timetable as never, at('2030-01-02T00:59:57Z'), 5_000)).toBe(at('2030-01-02T01:00:00Z'));
    // --every: a quarter of a short period by default; --early 0 names only slots already due.
    const every = parseScheduleFlags({ every: '10s' }, 'run');
    expect(parseEarly(undefined, every as never)).toBe(2_500);
    expect(dueSlot(every?.timetable as never, at('2030-01-01T00:00:09.999Z'), parseEarly('0', every as never))).toBe(at('2030-01-01T00:00:00Z'));
  });
});
