/**
 * Schedules: platform triggers read as instants (slotOf), cron and periodic timetables (croner, time zones), and the
 * input rules of runExclusive's schedule options. Catch-up, skip and jobStatus run on every engine through the
 * conformance suite (src/testing/index.ts).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { jobStatus, runExclusive } from '../../src/jobs.js';
import { checkSchedule } from '../../src/schedule.js';
import { slotOf } from '../../src/slot.js';
import { MemoryStore } from '../../src/stores/memory.js';

const AT = Date.UTC(2030, 0, 2, 2, 0, 0);

describe('slotOf: the instant of a trigger', () => {
  it('reads EventBridge, Workers, Cloud Scheduler, Date, ISO 8601 and epoch ms alike', () => {
    expect(slotOf({ version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2030-01-02T02:00:00Z', detail: {} })).toBe(AT);
    expect(slotOf({ cron: '0 2 * * *', scheduledTime: AT, noRetry() {} })).toBe(AT);
    expect(slotOf(new Request('https://job.example/run', { method: 'POST', headers: { 'X-CloudScheduler-ScheduleTime': '2030-01-02T03:00:00+01:00' } }))).toBe(
      AT,
    );
    expect(slotOf(new Date(AT))).toBe(AT);
    expect(slotOf('2030-01-02T02:00:00.000Z')).toBe(AT);
    expect(slotOf(AT)).toBe(AT);
  });

  it('anything else is a typed INVALID_SLOT', () => {
    for (const bad of [undefined, null, {}, { time: 'soon' }, { scheduledTime: Number.NaN }, 'batch-7', new Request('https://x.example/'), [], () => 1, 1n]) {
      expect(() => slotOf(bad), String(bad)).toThrow(expect.objectContaining({ code: 'INVALID_SLOT' }));
    }
  });
});

describe('timetables', () => {
  it('cron in a time zone follows its daylight-saving changes', () => {
    const berlin = checkSchedule({ cron: '0 2 * * *', timezone: 'Europe/Berlin' });
    // 02:00 in Berlin is 01:00Z in winter and 00:00Z in summer.
    expect(berlin.latestAtOrBefore(Date.UTC(2030, 0, 15, 12))).toBe(Date.UTC(2030, 0, 15, 1));
    expect(berlin.latestAtOrBefore(Date.UTC(2030, 6, 15, 12))).toBe(Date.UTC(2030, 6, 15, 0));
    // Without a zone, UTC: every host reads the same instants.
    expect(checkSchedule({ cron: '0 2 * * *' }).latestAtOrBefore(Date.UTC(2030, 0, 15, 12))).toBe(Date.UTC(2030, 0, 15, 2));
  });

  it('counts a long gap without listing it, and keeps only the latest slots asked for', () => {
    const everyMinute = checkSchedule({ cron: '* * * * *' });
    const gap = everyMinute.between(AT, AT + 24 * 3_600_000, 3);
    expect(gap.count).toBe(24 * 60 - 1);
    expect(gap.slots).toEqual([AT + (24 * 60 - 3) * 60_000, AT + (24 * 60 - 2) * 60_000, AT + (24 * 60 - 1) * 60_000]);
    const periodic = checkSchedule({ everyMs: 300_000 });
    expect(periodic.between(AT, AT + 3_600_000, 2)).toEqual({ slots: [AT + 50 * 60_000, AT + 55 * 60_000], count: 11 });
  });

  it('refuses what is not a schedule, naming what to fix', () => {
    for (const bad of [
      null,
      {},
      { cron: '0 2 * *' },
      { cron: '0 0 2 * * *' },
      { cron: '61 2 * * *' },
      { cron: '0 2 31 2 *' },
      { cron: '0 2 * * *', timezone: 'Mars/Olympus' },
      { everyMs: 10 },
      { everyMs: 1.5e3 + 0.5 },
      { cron: '* * * * *', everyMs: 60_000 },
    ]) {
      expect(() => checkSchedule(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    }
  });
});

describe('runExclusive and jobStatus: schedule options', () => {
  it('missed and maxCatchUp are checked before anything is sent; missed needs a schedule', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const job = () => 1;
    for (const options of [
      { name: 'j', missed: 'all' },
      { name: 'j', schedule: { everyMs: 60_000 }, missed: 'some' },
      { name: 'j', schedule: { everyMs: 60_000 }, maxCatchUp: -1 },
      { name: 'j', schedule: { cron: 'nope' } },
    ]) {
      await expect(runExclusive(store, { clock, ...options } as never, job)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    }
    await expect(runExclusive(store, { name: 'j', clock, schedule: { everyMs: 60_000 }, slot: 'batch-1' }, job)).rejects.toMatchObject({
      code: 'INVALID_SLOT',
    });
    expect(await store.read('j')).toMatchObject({ record: null });
  });

  it('a job that never ran is overdue once its first due slot is older than overdueAfterMs; without a schedule, never', async () => {
    const clock = new ManualClock(AT + 30_000);
    const store = new MemoryStore({ clock });
    const schedule = { cron: '0 2 * * *' };
    expect(await jobStatus(store, 'nightly', { schedule, clock })).toMatchObject({ lastSlot: null, overdue: false, latestDue: AT, nextDue: AT + 86_400_000 });
    clock.advance(60_000);
    expect(await jobStatus(store, 'nightly', { schedule, clock })).toMatchObject({ overdue: true });
    expect(await jobStatus(store, 'nightly', { clock })).toMatchObject({ overdue: false, nextDue: null, missed: null });
    await runExclusive(store, { name: 'nightly', clock, schedule }, () => 'ok');
    expect(await jobStatus(store, 'nightly', { schedule, clock })).toMatchObject({ lastSlot: AT, lastCompletedAt: AT + 90_000, missed: 0, overdue: false });
  });
});
