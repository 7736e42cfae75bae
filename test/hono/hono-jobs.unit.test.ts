/**
 * Scheduled jobs in `leasehold/hono`, in-process (Hono's `app.request`) over the memory store on a manual clock: the
 * `jobs` option, `GET /jobs` (last run, next due, missed, overdue), the dead-man check `GET /health/jobs/:name` (503
 * once a job is overdue, 200 again after it runs; 503 within its bound on a silent store), and the page's share of it
 * (the job names it is given, its script, its nonce CSP). The page in a browser: test/hono/status-page.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import { createLeaseApp } from '../../src/hono/index.js';
import { runExclusive } from '../../src/jobs.js';
import { tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';

const MIN = 60_000;
const EVERY_5_MIN = { cron: '*/5 * * * *' };

/** A store, its clock (2030-01-01T00:00Z, a whole hour: a slot of every schedule here) and an app watching `nightly` and `sync`. */
function setup() {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const app = createLeaseApp({
    store,
    names: ['nightly', 'other'],
    clock,
    jobs: { nightly: { schedule: EVERY_5_MIN }, sync: { schedule: { everyMs: MIN }, overdueAfterMs: 10_000 } },
  });
  const t0 = clock.now();
  const run = (name: string, schedule: object) => runExclusive(store, { name, schedule: schedule as never, clock, ttlMs: 10_000 }, ({ slot }) => slot);
  const get = async (path: string) => {
    const response = await app.request(path);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { clock, store, app, t0, run, get };
}

describe('leasehold/hono: scheduled jobs', () => {
  it('GET /jobs and /jobs/:name: last run, next due, missed and overdue, after runs and after a gap', async () => {
    const { clock, t0, run, get } = setup();
    const first = await get('/jobs');
    expect(first.status).toBe(200);
    expect(first.body.now).toBe(t0);
    expect(first.body.jobs).toEqual([
      {
        name: 'nightly',
        schedule: '*/5 * * * * (UTC)',
        overdueAfterMs: 60_000,
        lastSlot: null,
        lastCompletedAt: null,
        running: null,
        nextDue: t0 + 5 * MIN,
        latestDue: t0,
        missed: null,
        overdue: false,
      },
      expect.objectContaining({ name: 'sync', schedule: 'every 60000 ms', overdueAfterMs: 10_000, lastSlot: null, overdue: false }),
    ]);
    clock.advance(3_000);
    expect(await run('nightly', EVERY_5_MIN)).toMatchObject({ ran: true, slot: t0 });
    expect((await get('/jobs/nightly')).body).toMatchObject({ lastSlot: t0, lastCompletedAt: t0 + 3_000, missed: 0, overdue: false, nextDue: t0 + 5 * MIN });
    // A gap: three slots fall due with no run; the latest is more than a minute old.
    clock.advance(15 * MIN + 2 * MIN - 3_000);
    expect((await get('/jobs/nightly')).body).toMatchObject({ lastSlot: t0, missed: 3, overdue: true, latestDue: t0 + 15 * MIN, nextDue: t0 + 20 * MIN });
    expect(await run('nightly', EVERY_5_MIN)).toMatchObject({ ran: true, slot: t0 + 15 * MIN, missed: 2 });
    expect((await get('/jobs/nightly')).body).toMatchObject({ lastSlot: t0 + 15 * MIN, lastCompletedAt: t0 + 17 * MIN, missed: 0, overdue: false });
  });

  it('GET /health/jobs/:name is a dead-man check: 200 while the job keeps up, 503 overdue once a due slot goes unrun, 200 after the next run', async () => {
    const { clock, t0, run, get } = setup();
    // Never run, but its first due slot (now) is not yet a minute old.
    expect(await get('/health/jobs/nightly')).toMatchObject({ status: 200, body: { status: 'ok', name: 'nightly', lastSlot: null } });
    clock.advance(60_001);
    expect(await get('/health/jobs/nightly')).toMatchObject({ status: 503, body: { status: 'overdue', lastSlot: null, latestDue: t0 } });
    expect(await run('nightly', EVERY_5_MIN)).toMatchObject({ ran: true, slot: t0 });
    expect(await get('/health/jobs/nightly')).toMatchObject({ status: 200, body: { status: 'ok', lastSlot: t0, overdue: false } });
    // The next slot (t0 + 5 min) falls due; exactly overdueAfterMs later it is not yet overdue, a millisecond after it is.
    clock.advance(5 * MIN - 1);
    expect(await get('/health/jobs/nightly')).toMatchObject({ status: 200, body: { status: 'ok', missed: 1, overdue: false } });
    clock.advance(1);
    expect(await get('/health/jobs/nightly')).toMatchObject({ status: 503, body: { status: 'overdue', missed: 1, latestDue: t0 + 5 * MIN } });
    expect(await run('nightly', EVERY_5_MIN)).toMatchObject({ ran: true, slot: t0 + 5 * MIN });
    expect(await get('/health/jobs/nightly')).toMatchObject({ status: 200, body: { status: 'ok', missed: 0 } });
  });

  it('a run in progress is shown as running; GET /health/jobs answers for every job (503 if any is overdue)', async () => {
    const { clock, store, t0, run, get } = setup();
    await run('nightly', EVERY_5_MIN);
    await run('sync', { everyMs: MIN });
    expect(await get('/health/jobs')).toMatchObject({
      status: 200,
      body: { status: 'ok', jobs: [expect.objectContaining({ name: 'nightly', status: 'ok' }), expect.objectContaining({ name: 'sync', status: 'ok' })] },
    });
    // sync is due every minute and overdue 10 s after; nightly's next slot is 5 minutes out.
    clock.advance(MIN + 10_001);
    const held = await tryLead(store, { name: 'sync', holder: 'runner-7', clock, ttlMs: 10_000 });
    expect(held.isLeader).toBe(true);
    const answer = await get('/health/jobs');
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      status: 'overdue',
      jobs: [
        expect.objectContaining({ name: 'nightly', status: 'ok', overdue: false }),
        expect.objectContaining({ name: 'sync', status: 'overdue', running: 'runner-7', lastSlot: t0, latestDue: t0 + MIN }),
      ],
    });
    await held.release();
  });

  it('unknown jobs are 404 UNKNOWN_JOB; the routes list names the job routes', async () => {
    const { get } = setup();
    for (const path of ['/jobs/nope', '/health/jobs/nope', '/jobs/other']) {
      expect(await get(path), path).toMatchObject({ status: 404, body: { code: 'UNKNOWN_JOB' } });
    }
    expect((await get('/nope')).body.message).toContain('GET /health/jobs/:name');
  });

  it('a silent store: GET /health/jobs/:name answers 503 store-unreachable within healthTimeoutMs, with the code only', async () => {
    const clock = new ManualClock();
    const inner = new MemoryStore({ clock });
    const silent: Store = {
      kind: 'silent',
      clockSource: 'store',
      timeoutMs: 600_000,
      read: () => new Promise(() => {}),
      create: (w) => inner.create(w),
      replace: (v, w) => inner.replace(v, w),
    };
    const app = createLeaseApp({ store: silent, names: ['nightly'], clock, healthTimeoutMs: 20, jobs: { nightly: { schedule: EVERY_5_MIN } } });
    const response = await app.request('/health/jobs/nightly');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'store-unreachable',
      name: 'nightly',
      schedule: '*/5 * * * * (UTC)',
      overdueAfterMs: 60_000,
      error: { code: 'STORE_UNAVAILABLE', message: 'could not read this job' },
    });
    const all = await app.request('/health/jobs');
    expect(all.status).toBe(503);
    expect(await all.json()).toMatchObject({ status: 'store-unreachable' });
  });

  it('the page is given the job names, keeps its nonce CSP, and its script parses', async () => {
    const { app } = setup();
    const response = await app.request('/');
    const html = await response.text();
    const csp = response.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1] as string;
    expect(csp).not.toContain('unsafe-inline');
    expect(html.match(/<script(?! type="application\/json")[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    const cfg = JSON.parse(/<script type="application\/json" id="cfg">([^<]*)<\/script>/.exec(html)?.[1] as string);
    expect(cfg).toEqual({ pollMs: 1_000, names: ['nightly', 'other'], jobs: ['nightly', 'sync'] });
    expect(html).toContain('each scheduled job’s last run, next due time and whether it is overdue');
    const script = new RegExp(`<script nonce="${nonce.replace(/[+/=]/g, '\\$&')}">([\\s\\S]*?)</script>`).exec(html)?.[1] as string;
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain("fetch(base + 'jobs'");
    // Without jobs, the page neither lists nor polls any.
    const plain = await (await createLeaseApp({ store: new MemoryStore(), names: ['a'] }).request('/')).text();
    expect(plain).toContain('"jobs":[]');
  });

  it('bad jobs options are typed errors naming the job', () => {
    const store = new MemoryStore();
    const bad: [unknown, string, RegExp][] = [
      [['nightly'], 'INVALID_OPTION', /jobs must be an object/],
      [{ nightly: null }, 'INVALID_OPTION', /jobs\["nightly"\] must be/],
      [{ nightly: { schedule: { cron: '0 2 * *' } } }, 'INVALID_OPTION', /jobs\["nightly"\].*5 fields/],
      [{ nightly: { schedule: { cron: '0 2 * * *', timezone: 'Mars/Base' } } }, 'INVALID_OPTION', /IANA time zone/],
      [{ nightly: { schedule: { everyMs: 1_000 }, overdueAfterMs: -1 } }, 'INVALID_OPTION', /overdueAfterMs/],
      [{ 'bad name': { schedule: { everyMs: 1_000 } } }, 'INVALID_NAME', /name/],
    ];
    for (const [jobs, code, message] of bad) {
      let error: unknown;
      try {
        createLeaseApp({ store, names: ['a'], jobs: jobs as never });
      } catch (e) {
        error = e;
      }
      expect(isLeaseholdError(error, code as never), `${JSON.stringify(jobs)} → ${String(error)}`).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});
