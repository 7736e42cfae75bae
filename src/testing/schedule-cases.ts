/**
 * The conformance suite's schedule cases: `runExclusive` on a cron or interval schedule (derived slots, missed
 * slots skipped or caught up) and what `jobStatus` reads of it.
 * @module
 */
import { expect, it } from 'vitest';
import { jobStatus, runExclusive } from '../jobs.js';
import { getLeader, tryLead } from '../lead.js';
import { type ConformanceContext, SKEW, TTL } from './context.js';

/** Defines the schedule cases of one path of the suite. */
export function scheduleCases(suite: ConformanceContext): void {
  it('runExclusive on a schedule: the due slot is derived, missed slots are skipped and counted or caught up in order; jobStatus follows', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    // The suite's clock starts on a whole hour; a slot every minute.
    const schedule = { cron: '* * * * *' };
    const t0 = Math.floor(h.clock.now() / 60_000) * 60_000;
    const seen: unknown[] = [];
    const job = ({ slot }: { slot: number | string | undefined }) => {
      seen.push(slot);
      return slot;
    };
    const run = (extra: object = {}) => runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock, schedule, ...extra }, job);
    expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({ lastSlot: null, missed: null, running: null });
    h.clock.advance(10_000);
    expect(await run()).toMatchObject({ ran: true, slot: t0, missed: 0, caughtUp: [], slotRecorded: true });
    // Another host firing seconds later derives the same slot: done.
    h.clock.advance(20_000);
    expect(await run()).toMatchObject({ ran: false, reason: 'done', doneSlot: t0 });
    // Five minutes pass with no trigger: 'skip' runs only the due slot and counts the four it skipped.
    h.clock.advance(5 * 60_000);
    const status = await jobStatus(store, name, { schedule, clock: h.clock, overdueAfterMs: 20_000 });
    expect(status).toMatchObject({ lastSlot: t0, missed: 5, overdue: true, running: null, latestDue: t0 + 5 * 60_000, nextDue: t0 + 6 * 60_000 });
    expect(status.lastCompletedAt).toBe(t0 + 10_000);
    expect(await run()).toMatchObject({ ran: true, slot: t0 + 5 * 60_000, missed: 4, caughtUp: [] });
    expect(await jobStatus(store, name, { schedule, clock: h.clock, overdueAfterMs: 30_000 })).toMatchObject({ missed: 0, overdue: false });
    // Three more minutes: 'all' runs each missed slot in order, then the due one, each with its own ctx.slot.
    h.clock.advance(3 * 60_000);
    seen.length = 0;
    expect(await run({ missed: 'all' })).toMatchObject({ ran: true, slot: t0 + 8 * 60_000, missed: 0, caughtUp: [t0 + 6 * 60_000, t0 + 7 * 60_000] });
    expect(seen).toEqual([t0 + 6 * 60_000, t0 + 7 * 60_000, t0 + 8 * 60_000]);
    // maxCatchUp bounds it: the latest ones run, older ones are counted as missed.
    h.clock.advance(4 * 60_000);
    seen.length = 0;
    expect(await run({ missed: 'all', maxCatchUp: 1 })).toMatchObject({ ran: true, caughtUp: [t0 + 11 * 60_000], missed: 2 });
    expect(seen).toEqual([t0 + 11 * 60_000, t0 + 12 * 60_000]);
    // A slot off the schedule is refused before anything is sent.
    await expect(run({ slot: t0 + 12 * 60_000 + 30_000 })).rejects.toMatchObject({ code: 'INVALID_SLOT' });
    // While a run holds the lease, the status says so.
    const held = await tryLead(store, opts('runner-1'));
    expect((await jobStatus(store, name, { schedule, clock: h.clock })).running).toBe('runner-1');
    await held.release();
  });

  it('runExclusive on a schedule: concurrent triggers seconds apart derive one slot and run it once; jobStatus shows it', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name } = suite;
    const schedule = { everyMs: 60_000 };
    const slot = Math.floor(h.clock.now() / 60_000) * 60_000;
    h.clock.advance(3_000);
    let runs = 0;
    const job = async ({ slot: current }: { slot: number | string | undefined }) => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return current;
    };
    const run = () => runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock, schedule }, job);
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => run()));
    expect(runs).toBe(1);
    expect(outcomes.filter((o) => o.ran)).toEqual([expect.objectContaining({ ran: true, result: slot, slot, slotRecorded: true, missed: 0 })]);
    for (const o of outcomes) if (!o.ran) expect(['held', 'done']).toContain(o.reason);
    // A host firing 20 s later in the same slot: done.
    h.clock.advance(20_000);
    expect(await run()).toMatchObject({ ran: false, reason: 'done', doneSlot: slot });
    expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({
      lastSlot: slot,
      lastCompletedAt: slot + 3_000,
      running: null,
      missed: 0,
      overdue: false,
      nextDue: slot + 60_000,
    });
  });

  it("runExclusive with missed: 'all': a catch-up run that throws keeps the slots completed before it; the next trigger resumes at the failed slot", async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name } = suite;
    const schedule = { cron: '* * * * *' };
    const t0 = Math.floor(h.clock.now() / 60_000) * 60_000;
    const seen: unknown[] = [];
    let failOn: number | undefined;
    const job = ({ slot }: { slot: number | string | undefined }) => {
      seen.push(slot);
      if (slot === failOn) throw new Error(`slot ${slot} failed`);
      return slot;
    };
    const run = () => runExclusive(store, { name, ttlMs: TTL, maxClockSkewMs: SKEW, clock: h.clock, schedule, missed: 'all' }, job);
    expect(await run()).toMatchObject({ ran: true, slot: t0, caughtUp: [] });
    h.clock.advance(4 * 60_000);
    failOn = t0 + 2 * 60_000;
    seen.length = 0;
    await expect(run()).rejects.toThrow(`slot ${failOn} failed`);
    expect(seen).toEqual([t0 + 60_000, t0 + 2 * 60_000]);
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
    expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({ lastSlot: t0 + 60_000, missed: 3 });
    failOn = undefined;
    seen.length = 0;
    expect(await run()).toMatchObject({ ran: true, slot: t0 + 4 * 60_000, caughtUp: [t0 + 2 * 60_000, t0 + 3 * 60_000], missed: 0 });
    expect(seen).toEqual([t0 + 2 * 60_000, t0 + 3 * 60_000, t0 + 4 * 60_000]);
    expect(await jobStatus(store, name, { schedule, clock: h.clock })).toMatchObject({ lastSlot: t0 + 4 * 60_000, missed: 0, overdue: false });
  });
}
