/**
 * `leasehold/hono` in-process through Hono's `app.request`, on the memory store and a manual clock (no engine, no
 * runtime): every route, the admin routes' token check (accepted, refused, absent), bad input (typed errors, nothing
 * written), a store outage (fail closed: 503, never a leader), and the scheduled-job routes. The same app in workerd:
 * test/hono/hono.test.ts; the jobs in depth: test/hono/hono-jobs.unit.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLeaseApp, type LeaseAppOptions } from '../../src/hono/index.js';
import { tryLead } from '../../src/lead.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { type FaultyStore, withFaults } from '../../src/testing/faults.js';

const TOKEN = 'admin-token-0123456789abcdef';
const NAMES = ['nightly', 'singleton'];

/** An app over a fault-injecting memory store on a manual clock, with the admin routes open to `TOKEN`. */
function setup(options: Partial<LeaseAppOptions> = {}) {
  const clock = new ManualClock();
  const memory = new MemoryStore({ clock });
  const store = withFaults(memory);
  const app = createLeaseApp({ store, names: NAMES, clock, adminToken: TOKEN, ttlMs: 30_000, ...options });
  const call = async (method: 'GET' | 'POST', path: string, init: { body?: string; authorization?: string | null } = {}) => {
    const headers: Record<string, string> = {};
    const authorization = init.authorization === undefined ? `Bearer ${TOKEN}` : init.authorization;
    if (authorization !== null) headers.authorization = authorization;
    const response = await app.request(path, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: response.status, headers: response.headers, text, body: body as Record<string, unknown> };
  };
  return { clock, memory, store, app, call };
}

/** Writes that reached the store. */
const writes = (store: FaultyStore) => store.calls.create + store.calls.replace + store.calls.claim + store.calls.releaseHolder;

afterEach(() => vi.restoreAllMocks());

describe('the read routes', () => {
  it('GET /leases lists every configured lease, vacant then held, with time left on the app’s clock; never cached', async () => {
    const { clock, memory, call } = setup();
    const vacant = await call('GET', '/leases');
    expect(vacant.status).toBe(200);
    expect(vacant.body).toEqual({
      now: clock.now(),
      push: true,
      leases: NAMES.map((name) => ({ name, holder: null, token: null, acquiredAt: null, expiresAt: null, timeLeftMs: null, ttlMs: 30_000 })),
    });
    expect(vacant.headers.get('cache-control')).toBe('no-store');
    expect(vacant.headers.get('x-content-type-options')).toBe('nosniff');
    const t0 = clock.now();
    await tryLead(memory, { name: 'nightly', holder: 'host-a', ttlMs: 30_000, clock, data: 'private' });
    clock.advance(10_000);
    const held = await call('GET', '/leases/nightly');
    expect(held.body).toEqual({ name: 'nightly', holder: 'host-a', token: 1, acquiredAt: t0, expiresAt: t0 + 30_000, timeLeftMs: 20_000, ttlMs: 30_000 });
    expect(held.text).not.toContain('private');
    // Past its expiry nobody holds it.
    clock.advance(20_001);
    expect((await call('GET', '/leases/nightly')).body).toMatchObject({ holder: null, token: null });
  });

  it('exposeData shows the holder’s payload', async () => {
    const { clock, memory, call } = setup({ exposeData: true });
    await tryLead(memory, { name: 'nightly', holder: 'host-a', ttlMs: 30_000, clock, data: 'build 42' });
    expect((await call('GET', '/leases/nightly')).body).toMatchObject({ holder: 'host-a', data: 'build 42' });
    expect((await call('GET', '/leases/singleton')).body).toMatchObject({ holder: null, data: null });
  });

  it('a name that is not configured is 404 UNKNOWN_LEASE; an invalid one 400 INVALID_NAME; neither reads the store', async () => {
    const { store, call } = setup();
    expect(await call('GET', '/leases/other')).toMatchObject({
      status: 404,
      body: { code: 'UNKNOWN_LEASE', message: 'no lease named "other" here; GET /leases lists them' },
    });
    expect(await call('GET', '/leases/has%20space')).toMatchObject({ status: 400, body: { code: 'INVALID_NAME' } });
    expect(store.calls.read).toBe(0);
  });

  it('GET /leases?wait= refuses a bad wait with 400 INVALID_OPTION', async () => {
    const { call } = setup();
    for (const wait of ['', '-1', '2.5', '30001', 'later']) {
      expect(await call('GET', `/leases?wait=${wait}`), wait).toMatchObject({ status: 400, body: { code: 'INVALID_OPTION' } });
    }
    expect((await call('GET', '/leases?wait=0')).status).toBe(200);
  });

  it('GET /health without an elector: 200 ok while the store answers a read', async () => {
    const { call } = setup();
    expect(await call('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('GET / is the page with a nonce CSP; page: false leaves only the JSON routes', async () => {
    const { call } = setup({ page: { title: 'Prod <leases>' } });
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{24}'/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.text).toContain('<title>Prod &lt;leases&gt;</title>');
    const off = setup({ page: false });
    const none = await off.call('GET', '/');
    expect(none.status).toBe(404);
    expect(none.body).toEqual({ code: 'NOT_FOUND', message: 'routes: GET /leases, GET /leases/:name, GET /health' });
  });

  it('an unknown route is 404 NOT_FOUND naming the routes', async () => {
    const { call } = setup();
    expect(await call('GET', '/nope')).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'routes: GET /, GET /leases, GET /leases/:name, GET /health' },
    });
  });
});

describe('the admin routes', () => {
  it('with the token: lead, refuse a second holder, release for the holder only, then for whoever holds it', async () => {
    const { clock, call } = setup();
    const lead = await call('POST', '/leases/nightly/lead', { body: JSON.stringify({ holder: 'host-a', ttlMs: 20_000 }) });
    expect(lead.status).toBe(200);
    expect(lead.body).toMatchObject({ isLeader: true, leader: 'host-a', token: 1, expiresAt: clock.now() + 20_000 });
    expect(lead.body.remainingMs).toBeGreaterThan(0);
    expect(lead.body.remainingMs).toBeLessThanOrEqual(20_000);
    expect((await call('POST', '/leases/nightly/lead', { body: '{"holder":"host-b"}' })).body).toMatchObject({
      isLeader: false,
      leader: 'host-a',
      remainingMs: 0,
    });
    expect((await call('POST', '/leases/nightly/release', { body: '{"holder":"host-b"}' })).body).toEqual({ released: false, holder: 'host-b' });
    expect((await call('GET', '/leases/nightly')).body).toMatchObject({ holder: 'host-a' });
    expect((await call('POST', '/leases/nightly/release', { body: '' })).body).toEqual({ released: true, holder: 'host-a' });
    expect((await call('POST', '/leases/nightly/release', { body: '{}' })).body).toEqual({ released: false, holder: null });
    // A new holder after a release gets a larger token.
    expect((await call('POST', '/leases/nightly/lead', { body: '{"holder":"host-b"}' })).body).toMatchObject({ isLeader: true, token: 2 });
  });

  it('the scheme is case-insensitive; the token itself is compared exactly', async () => {
    const { call } = setup();
    expect((await call('POST', '/leases/nightly/lead', { body: '{"holder":"h"}', authorization: `bearer ${TOKEN}` })).status).toBe(200);
  });

  const refused: [string, string | null, number, string][] = [
    ['no Authorization header', null, 401, 'UNAUTHORIZED'],
    ['an empty bearer token', 'Bearer ', 401, 'UNAUTHORIZED'],
    ['a Basic scheme', `Basic ${btoa(`x:${TOKEN}`)}`, 401, 'UNAUTHORIZED'],
    ['a wrong token of the same length', `Bearer ${TOKEN.slice(0, -1)}X`, 403, 'FORBIDDEN'],
    ['the token in another case', `Bearer ${TOKEN.toUpperCase()}`, 403, 'FORBIDDEN'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`, 403, 'FORBIDDEN'],
    ['the token with a suffix', `Bearer ${TOKEN}x`, 403, 'FORBIDDEN'],
  ];
  it.each(refused)('refuse %s, say nothing more, and write nothing', async (_what, authorization, status, code) => {
    const { store, call } = setup();
    for (const action of ['lead', 'release']) {
      const answer = await call('POST', `/leases/nightly/${action}`, { body: '{"holder":"intruder"}', authorization });
      expect(answer.status, action).toBe(status);
      expect(answer.body, action).toEqual({ code, message: status === 401 ? 'authentication required' : 'forbidden' });
      expect(answer.headers.get('www-authenticate'), action).toBe(status === 401 ? 'Bearer' : null);
    }
    expect(writes(store)).toBe(0);
    expect(store.calls.read).toBe(0);
  });

  it('do not exist without a token (404 NOT_FOUND), nor while a per-request token is empty', async () => {
    for (const adminToken of [undefined, () => '', () => undefined]) {
      const { store, call } = setup({ adminToken });
      const answer = await call('POST', '/leases/nightly/lead', { body: '{"holder":"intruder"}' });
      expect(answer).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      expect(writes(store)).toBe(0);
    }
    // A per-request token that is set opens them.
    const { call } = setup({ adminToken: () => TOKEN });
    expect((await call('POST', '/leases/nightly/lead', { body: '{"holder":"h"}' })).body).toMatchObject({ isLeader: true });
  });

  const bad: [string, string, string, string][] = [
    ['holder missing', 'lead', '{"ttlMs":30000}', 'INVALID_HOLDER'],
    ['holder a number', 'lead', '{"holder":42}', 'INVALID_HOLDER'],
    ['holder with a space (release)', 'release', '{"holder":"a b"}', 'INVALID_HOLDER'],
    ['ttlMs 0', 'lead', '{"holder":"h","ttlMs":0}', 'INVALID_TTL'],
    ['data an object', 'lead', '{"holder":"h","data":{"a":1}}', 'INVALID_OPTION'],
    ['a body that is not JSON', 'lead', 'holder=h', 'INVALID_OPTION'],
    ['an empty body (lead)', 'lead', '', 'INVALID_OPTION'],
    ['a JSON array', 'lead', '[]', 'INVALID_OPTION'],
    ['JSON null (release)', 'release', 'null', 'INVALID_OPTION'],
    ['an unknown field', 'lead', '{"holder":"h","ttl":30000}', 'INVALID_OPTION'],
  ];
  it.each(bad)('bad input, %s: 400 with its code, no stack, nothing written', async (_what, action, body, code) => {
    const { store, call } = setup();
    const answer = await call('POST', `/leases/nightly/${action}`, { body });
    expect(answer.status).toBe(400);
    expect(Object.keys(answer.body).sort()).toEqual(['code', 'message']);
    expect(answer.body.code).toBe(code);
    expect(answer.text).not.toMatch(/\n\s+at |\.[tj]s:\d+/);
    expect(writes(store)).toBe(0);
  });

  it('the body’s refusal says what to send', async () => {
    const { call } = setup();
    expect((await call('POST', '/leases/nightly/lead', { body: '{"holder":"h","ttl":1}' })).body).toEqual({
      code: 'INVALID_OPTION',
      message: 'unknown field "ttl"; send a JSON object like {"holder":"host-1:nightly","ttlMs":60000}',
    });
  });
});

describe('a store outage fails closed', () => {
  it('reads answer 503 with the code only; a claim answers 503, never a leader; health 503 store-unreachable', async () => {
    const { store, call } = setup();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    store.failAll(true);
    const all = await call('GET', '/leases');
    expect(all.status).toBe(503);
    expect(all.body.leases).toEqual(
      NAMES.map((name) => ({
        name,
        holder: null,
        token: null,
        acquiredAt: null,
        expiresAt: null,
        timeLeftMs: null,
        error: { code: 'STORE_UNAVAILABLE', message: 'could not read this lease' },
      })),
    );
    const one = await call('GET', '/leases/nightly');
    expect(one).toMatchObject({ status: 503, body: { code: 'STORE_UNAVAILABLE', message: 'the lease store could not be reached; retry shortly' } });
    const lead = await call('POST', '/leases/nightly/lead', { body: '{"holder":"host-a"}' });
    expect(lead.status).toBe(503);
    expect(lead.body).toEqual({ code: 'STORE_UNAVAILABLE', message: 'the lease store could not be reached; retry shortly' });
    expect(await call('GET', '/health')).toMatchObject({ status: 503, body: { status: 'store-unreachable', lastError: 'STORE_UNAVAILABLE' } });
    for (const answer of [all, one, lead]) expect(answer.text).not.toContain('injected');
    expect(spy).toHaveBeenCalled();
    // Back up: the same routes answer again, and nothing was claimed meanwhile.
    store.failAll(false);
    expect(await call('GET', '/leases/nightly')).toMatchObject({ status: 200, body: { holder: null } });
  });
});

describe('the scheduled-job routes', () => {
  const jobs = { nightly: { schedule: { everyMs: 60_000 }, overdueAfterMs: 10_000 } };

  it('GET /jobs and /jobs/:name; GET /health/jobs/:name and /health/jobs turn 503 once the job is overdue', async () => {
    const { clock, call } = setup({ jobs });
    const listed = await call('GET', '/jobs');
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ now: clock.now(), jobs: [{ name: 'nightly', schedule: 'every 60000 ms', overdueAfterMs: 10_000, overdue: false }] });
    expect((await call('GET', '/jobs/nightly')).body).toMatchObject({ name: 'nightly', lastSlot: null });
    expect(await call('GET', '/health/jobs/nightly')).toMatchObject({ status: 200, body: { status: 'ok', name: 'nightly' } });
    expect(await call('GET', '/health/jobs')).toMatchObject({ status: 200, body: { status: 'ok' } });
    // Never run: its first due slot (now, a whole minute) is overdue once 10 s have gone by, not a millisecond before.
    clock.advance(10_000);
    expect(await call('GET', '/health/jobs/nightly')).toMatchObject({ status: 200, body: { status: 'ok' } });
    clock.advance(1);
    expect(await call('GET', '/health/jobs/nightly')).toMatchObject({ status: 503, body: { status: 'overdue', overdue: true } });
    expect(await call('GET', '/health/jobs')).toMatchObject({ status: 503, body: { status: 'overdue' } });
  });

  it('an unknown job is 404 UNKNOWN_JOB; the 404 of an unknown route names the job routes', async () => {
    const { call } = setup({ jobs });
    for (const path of ['/jobs/nope', '/health/jobs/nope', '/jobs/singleton']) {
      expect(await call('GET', path), path).toMatchObject({
        status: 404,
        body: { code: 'UNKNOWN_JOB', message: `no job named ${JSON.stringify(path.split('/').pop())} here; GET /jobs lists them` },
      });
    }
    expect((await call('GET', '/nope')).body.message).toContain('GET /jobs, GET /jobs/:name, GET /health/jobs, GET /health/jobs/:name');
  });

  it('a store outage: GET /jobs and the health checks answer 503 store-unreachable with the code only', async () => {
    const { store, call } = setup({ jobs });
    store.failAll(true);
    const error = { code: 'STORE_UNAVAILABLE', message: 'could not read this job' };
    expect(await call('GET', '/jobs')).toMatchObject({ status: 503, body: { jobs: [{ name: 'nightly', error }] } });
    expect(await call('GET', '/health/jobs/nightly')).toMatchObject({ status: 503, body: { status: 'store-unreachable', error } });
    expect(await call('GET', '/health/jobs')).toMatchObject({ status: 503, body: { status: 'store-unreachable' } });
  });
});

describe('an option function that throws', () => {
  it('answers 500 NOT_CONFIGURED; its words go to the log only, masked', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { call } = setup({
      names: () => {
        throw new Error('token=s3cret-value missing');
      },
    });
    const answer = await call('GET', '/leases');
    expect(answer).toMatchObject({
      status: 500,
      body: { code: 'NOT_CONFIGURED', message: "this lease app's names option failed; the server log has the detail" },
    });
    expect(answer.text).not.toContain('s3cret');
    const log = spy.mock.calls.map((args) => args.join(' ')).join('\n');
    expect(log).toContain('leasehold/hono: GET /leases: the names option failed: token=****');
    expect(log).not.toContain('s3cret');
  });
});
