/**
 * `leasehold/hono` inside workerd (Miniflare): test/support/lease-worker.ts mounts `createLeaseApp` over the Durable
 * Object store (`/app`, admin token set; `/closed`, none; `/data`, `exposeData`) and over an instance's `Elector`
 * on a manual clock whose store can be taken down (`/node`). Checked: the JSON routes, the page's shape, the admin
 * routes' auth (absent without a token, 401 without a bearer token, 403 with a wrong one, nothing written either way),
 * bad input (400 with a stable code, no stack), and every health code.
 */
import { Hono } from 'hono';
import type { Miniflare } from 'miniflare';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector } from '../../src/elector.js';
import { LeaseholdError } from '../../src/errors.js';
import { createLeaseApp } from '../../src/hono/index.js';
import { release, tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { genericOnly } from '../../src/testing/faults.js';
import { startLeaseWorker } from '../support/lease-miniflare.js';

const ADMIN_TOKEN = `admin-${crypto.randomUUID()}`;
const NAMES = ['nightly-report', 'cache-warmer', 'billing-sync', 'api-errors', 'bad-input'];
let mf: Miniflare;

beforeAll(async () => {
  mf = await startLeaseWorker({ LEASE_NAMES: NAMES.join(','), ADMIN_TOKEN });
});
afterAll(async () => {
  await mf?.dispose();
});

interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

async function call<T = Record<string, unknown>>(
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; authorization?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await mf.dispatchFetch(`http://worker.test${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}

const lease = (name: string, base = '/app') => call('GET', `${base}/leases/${encodeURIComponent(name)}`);
const lead = (name: string, body: unknown, base = '/app') => call('POST', `${base}/leases/${encodeURIComponent(name)}/lead`, { body });
const requestsTo = async (name: string) => ((await call<{ requests: number }>('GET', `/count?name=${name}`)).body as { requests: number }).requests;

describe('leasehold/hono in workerd: JSON routes', () => {
  it('lists every configured lease, vacant at first', async () => {
    const answer = await call<{ now: number; leases: { name: string; holder: null; token: null }[] }>('GET', '/closed/leases');
    expect(answer.status).toBe(200);
    expect(Math.abs(answer.body.now - Date.now())).toBeLessThan(5_000);
    expect(answer.body.leases.map((l) => l.name)).toEqual(NAMES);
    expect(answer.body.leases[2]).toEqual({ name: 'billing-sync', holder: null, token: null, acquiredAt: null, expiresAt: null, timeLeftMs: null });
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('shows holder, token, acquired, expires and time left; a takeover after release has a larger token', async () => {
    const first = await lead('nightly-report', { holder: 'host-a:cron', ttlMs: 30_000, data: 'secret build notes' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ isLeader: true, leader: 'host-a:cron', token: 1 });
    const seen = await lease('nightly-report');
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ name: 'nightly-report', holder: 'host-a:cron', token: 1 });
    const { acquiredAt, expiresAt, timeLeftMs } = seen.body as { acquiredAt: number; expiresAt: number; timeLeftMs: number };
    expect(expiresAt - acquiredAt).toBe(30_000);
    expect(timeLeftMs).toBeGreaterThan(25_000);
    expect(timeLeftMs).toBeLessThanOrEqual(30_000);
    // `data` stays out unless the app is configured to show it.
    expect(seen.body).not.toHaveProperty('data');
    expect(seen.text).not.toContain('secret build notes');
    expect((await lease('nightly-report', '/data')).body).toMatchObject({ data: 'secret build notes' });

    expect((await lead('nightly-report', { holder: 'host-b:cron' })).body).toMatchObject({ isLeader: false, leader: 'host-a:cron', remainingMs: 0 });
    // Release only for the named holder; then for whoever holds it.
    expect((await call('POST', '/app/leases/nightly-report/release', { body: { holder: 'host-b:cron' } })).body).toEqual({
      released: false,
      holder: 'host-b:cron',
    });
    expect((await call('POST', '/app/leases/nightly-report/release', { raw: '' })).body).toEqual({ released: true, holder: 'host-a:cron' });
    expect((await lease('nightly-report')).body).toMatchObject({ holder: null, token: null });
    expect((await call('POST', '/app/leases/nightly-report/release', { body: {} })).body).toEqual({ released: false, holder: null });
    expect((await lead('nightly-report', { holder: 'host-b:cron' })).body).toMatchObject({ isLeader: true, token: 2 });
  });

  it('a lease that is not configured is 404 UNKNOWN_LEASE, and its object is never asked', async () => {
    const answer = await lease('not-configured');
    expect(answer).toMatchObject({ status: 404, body: { code: 'UNKNOWN_LEASE' } });
    expect(await requestsTo('not-configured')).toBe(0);
    expect((await lead('not-configured', { holder: 'x' })).status).toBe(404);
    expect(await requestsTo('not-configured')).toBe(0);
  });

  it('an unknown route is 404 (JSON naming the routes when the app is served whole: test/system/cloudflare-worker.test.ts)', async () => {
    expect((await call('GET', '/app/nope')).status).toBe(404);
    expect((await call('POST', '/app/leases')).status).toBe(404);
  });

  it('a store that cannot be reached: 503 with the code only, per lease in the list', async () => {
    await call('POST', '/ctl/down?on=1');
    try {
      const one = await call<{ code: string; message: string }>('GET', '/node/leases/singleton');
      expect(one.status).toBe(503);
      expect(one.body).toEqual({ code: 'STORE_UNAVAILABLE', message: 'the lease store could not be reached; retry shortly' });
      const all = await call<{ leases: { error?: { code: string } }[] }>('GET', '/node/leases');
      expect(all.status).toBe(503);
      expect(all.body.leases[0]?.error?.code).toBe('STORE_UNAVAILABLE');
      expect(all.text).not.toContain('injected');
    } finally {
      await call('POST', '/ctl/down?on=0');
    }
  });
});

describe('leasehold/hono in workerd: the admin routes', () => {
  it('do not exist when no token is configured (404), whatever the request carries', async () => {
    const before = await requestsTo('cache-warmer');
    for (const action of ['lead', 'release']) {
      const answer = await call('POST', `/closed/leases/cache-warmer/${action}`, { body: { holder: 'intruder' } });
      expect(answer).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    }
    expect(await requestsTo('cache-warmer')).toBe(before);
  });

  const refused: [string, { token?: string | null; authorization?: string }, number, string][] = [
    ['no Authorization header', { token: null }, 401, 'UNAUTHORIZED'],
    ['an empty bearer token', { authorization: 'Bearer ' }, 401, 'UNAUTHORIZED'],
    ['a Basic scheme', { authorization: `Basic ${btoa(`x:${ADMIN_TOKEN}`)}` }, 401, 'UNAUTHORIZED'],
    ['a wrong token', { token: 'not-the-admin-token-at-all' }, 403, 'FORBIDDEN'],
    ['the token with a suffix', { token: `${ADMIN_TOKEN}x` }, 403, 'FORBIDDEN'],
    ['a prefix of the token', { token: ADMIN_TOKEN.slice(0, -1) }, 403, 'FORBIDDEN'],
  ];
  it.each(refused)('refuse %s, say nothing more, and write nothing', async (_what, auth, status, code) => {
    const before = await requestsTo('cache-warmer');
    for (const action of ['lead', 'release']) {
      const answer = await call<{ code: string; message: string }>('POST', `/app/leases/cache-warmer/${action}`, { body: { holder: 'intruder' }, ...auth });
      expect(answer.status).toBe(status);
      expect(answer.body).toEqual({ code, message: status === 401 ? 'authentication required' : 'forbidden' });
      if (status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(await requestsTo('cache-warmer')).toBe(before);
    expect((await lease('cache-warmer')).body).toMatchObject({ holder: null });
  });

  it('reads need no token', async () => {
    expect((await call('GET', '/app/leases/cache-warmer', { token: null })).status).toBe(200);
  });
});

describe('leasehold/hono in workerd: bad input is 400 with a stable code, no stack, nothing written', () => {
  const holder = 'host-a:cron';
  const body = (value: unknown) => JSON.stringify(value);
  // [what, path, raw body, expected status, expected code]
  const cases: [string, string, string, number, string][] = [
    ['name with a space', '/app/leases/has%20space/lead', body({ holder }), 400, 'INVALID_NAME'],
    ['name with unicode', `/app/leases/${encodeURIComponent('unicodé')}/lead`, body({ holder }), 400, 'INVALID_NAME'],
    ['name of 200 characters', `/app/leases/${'x'.repeat(200)}/lead`, body({ holder }), 400, 'INVALID_NAME'],
    ['name with SQL metacharacters', `/app/leases/${encodeURIComponent("x'; DROP TABLE t; --")}/lead`, body({ holder }), 400, 'INVALID_NAME'],
    ['holder empty', '/app/leases/bad-input/lead', body({ holder: '' }), 400, 'INVALID_HOLDER'],
    ['holder a number', '/app/leases/bad-input/lead', body({ holder: 42 }), 400, 'INVALID_HOLDER'],
    ['holder missing', '/app/leases/bad-input/lead', body({ ttlMs: 30_000 }), 400, 'INVALID_HOLDER'],
    ['holder with a space (release)', '/app/leases/bad-input/release', body({ holder: 'a b' }), 400, 'INVALID_HOLDER'],
    ['ttlMs 0', '/app/leases/bad-input/lead', body({ holder, ttlMs: 0 }), 400, 'INVALID_TTL'],
    ['ttlMs a string', '/app/leases/bad-input/lead', body({ holder, ttlMs: '1000' }), 400, 'INVALID_TTL'],
    ['data an object', '/app/leases/bad-input/lead', body({ holder, data: { a: 1 } }), 400, 'INVALID_OPTION'],
    ['body not JSON', '/app/leases/bad-input/lead', 'holder=a', 400, 'INVALID_OPTION'],
    ['body empty (lead)', '/app/leases/bad-input/lead', '', 400, 'INVALID_OPTION'],
    ['body a JSON array', '/app/leases/bad-input/lead', '[]', 400, 'INVALID_OPTION'],
    ['body JSON null', '/app/leases/bad-input/release', 'null', 400, 'INVALID_OPTION'],
    ['an unknown field (ttl for ttlMs)', '/app/leases/bad-input/lead', body({ holder, ttl: 30_000 }), 400, 'INVALID_OPTION'],
    ['an unknown field (release)', '/app/leases/bad-input/release', body({ who: holder }), 400, 'INVALID_OPTION'],
  ];
  it.each(cases)('%s', async (_what, path, raw, status, code) => {
    const before = await requestsTo('bad-input');
    const answer = await call<{ code: string; message: string }>('POST', path, { raw });
    expect(answer.status).toBe(status);
    expect(Object.keys(answer.body).sort()).toEqual(['code', 'message']);
    expect(answer.body.code).toBe(code);
    expect(answer.body.message.length).toBeGreaterThan(10);
    expect(answer.text).not.toMatch(/\n\s+at |\.[tj]s:\d+/);
    expect(await requestsTo('bad-input')).toBe(before);
  });

  it('a bad name on the read routes too', async () => {
    expect(await call('GET', '/app/leases/has%20space')).toMatchObject({ status: 400, body: { code: 'INVALID_NAME' } });
  });
});

describe('leasehold/hono in workerd: the status page', () => {
  it('is one offline document: inline style and script, no external URL, a strict CSP', async () => {
    // Mounted at /app in a parent with Hono's default (strict) routing, the page is at /app and /app/.
    for (const path of ['/app', '/app/']) {
      const page = await call('GET', path, { token: null });
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
      expect(page.text).toMatch(/^<!doctype html>/);
      expect(page.text).not.toMatch(/(src|href)=|https?:\/\/|@import|url\(/);
      for (const name of NAMES) expect(page.text).toContain(name);
    }
  });

  it('escapes its title', async () => {
    const page = await call('GET', '/data');
    expect(page.text).toContain('<title>Leases &lt;prod&gt;</title>');
    expect(page.text).toContain('"pollMs":250');
  });
});

describe('leasehold/hono in workerd: GET /health', () => {
  const health = async (base = '/node') => call<{ status: string; leader: boolean; token?: number; lastError?: string }>('GET', `${base}/health`);

  it('without an elector: 200 ok while the store answers a read', async () => {
    expect(await health('/app')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('an instance: leader 200, failing renewals still 200, validity out 503 expired, follower 200, store down 503, stopped 503', async () => {
    // Nothing seen yet and the store answers: a follower for now.
    expect(await health()).toMatchObject({ status: 200, body: { status: 'follower', leader: false } });
    await call('POST', '/ctl/start');
    expect(await health()).toMatchObject({ status: 200, body: { status: 'leader', leader: true, token: 1 } });

    // The store goes down: renewals fail, but the lease earned so far still holds (ttl 9 s − skew 1 s).
    await call('POST', '/ctl/down?on=1');
    await call('POST', '/ctl/advance?ms=4000');
    expect(await health()).toMatchObject({ status: 200, body: { status: 'leader', leader: true, lastError: 'STORE_UNAVAILABLE' } });
    await call('POST', '/ctl/advance?ms=4500');
    expect(await health()).toMatchObject({ status: 503, body: { status: 'expired', leader: false } });

    // Still down until the lease ran out on the store's clock too (9 s after the last renewal).
    await call('POST', '/ctl/advance?ms=1000');
    expect(await health()).toMatchObject({ status: 503, body: { status: 'expired' } });
    // Back up; another node takes the lease: once this one polls, it follows, healthy again.
    await call('POST', '/ctl/down?on=0');
    expect((await call('POST', '/ctl/claim?holder=other-node')).body).toMatchObject({ isLeader: true });
    expect(await health()).toMatchObject({ status: 503, body: { status: 'expired' } });
    await call('POST', '/ctl/advance?ms=3500');
    expect(await health()).toMatchObject({ status: 200, body: { status: 'follower', leader: false } });

    // Down as a follower: 503 once an attempt failed and a read fails too; 200 again as soon as the store answers.
    await call('POST', '/ctl/down?on=1');
    await call('POST', '/ctl/advance?ms=3500');
    expect(await health()).toMatchObject({ status: 503, body: { status: 'store-unreachable', lastError: 'STORE_UNAVAILABLE' } });
    await call('POST', '/ctl/down?on=0');
    expect(await health()).toMatchObject({ status: 200, body: { status: 'follower' } });

    // other-node's lease runs out (it never renews): this node takes over, then stops.
    await call('POST', '/ctl/advance?ms=6000');
    expect(await health()).toMatchObject({ status: 200, body: { status: 'leader', token: 3 } });
    await call('POST', '/ctl/stop');
    expect(await health()).toMatchObject({ status: 503, body: { status: 'stopped', leader: false } });
  });
});

describe('createLeaseApp refuses bad options with a typed error', () => {
  const store = new MemoryStore();
  const cases: [string, unknown, string][] = [
    ['no options', undefined, 'INVALID_OPTION'],
    ['no store', { names: ['a'] }, 'INVALID_STORE'],
    ['a store without the interface', { store: {}, names: ['a'] }, 'INVALID_STORE'],
    ['no names', { store, names: [] }, 'INVALID_OPTION'],
    ['names not a list', { store, names: 'a,b' }, 'INVALID_OPTION'],
    ['a bad name', { store, names: ['ok', 'has space'] }, 'INVALID_NAME'],
    ['a repeated name', { store, names: ['a', 'a'] }, 'INVALID_OPTION'],
    ['a short admin token', { store, names: ['a'], adminToken: 'short' }, 'INVALID_OPTION'],
    ['an admin token with a space', { store, names: ['a'], adminToken: 'sixteen chars or more' }, 'INVALID_OPTION'],
    ['a poll interval of 10 ms', { store, names: ['a'], page: { pollMs: 10 } }, 'INVALID_OPTION'],
    ['an empty title', { store, names: ['a'], page: { title: '' } }, 'INVALID_OPTION'],
    ['health without an elector', { store, names: ['a'], health: { name: 'a' } }, 'INVALID_OPTION'],
    ['a negative skew', { store, names: ['a'], maxClockSkewMs: -1 }, 'INVALID_OPTION'],
    ['a lease length of 1e15 ms', { store, names: ['a'], ttlMs: 1e15 }, 'INVALID_TTL'],
    ['a lease length by a bad name', { store, names: ['a'], ttlMs: { 'has space': 1_000 } }, 'INVALID_NAME'],
    ['lease lengths as a list', { store, names: ['a'], ttlMs: [1_000] }, 'INVALID_TTL'],
    ['a health bound of 0', { store, names: ['a'], healthTimeoutMs: 0 }, 'INVALID_OPTION'],
    ['a health bound of 10 minutes', { store, names: ['a'], healthTimeoutMs: 600_000 }, 'INVALID_OPTION'],
  ];
  it.each(cases)('%s', (_what, options, code) => {
    expect(() => createLeaseApp(options as never)).toThrow(expect.objectContaining({ name: 'LeaseholdError', code }));
  });
});

// The app in-process, through Hono's own app.request (no runtime, no network).
describe('createLeaseApp in-process (app.request)', () => {
  afterEach(() => vi.restoreAllMocks());
  const SECRET_URL = 'postgres://app:hunter2-s3cret@db.internal:5432/leases';
  const quiet = () => vi.spyOn(console, 'error').mockImplementation(() => {});
  const logged = (spy: ReturnType<typeof quiet>) => spy.mock.calls.map((args) => args.map(String).join(' ')).join('\n');

  it('GET /leases?wait= is a long poll on a store that pushes: a release answers it at once; elsewhere it answers at once', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const app = createLeaseApp({ store, names: ['pushed'], clock });
    await tryLead(store, { name: 'pushed', holder: 'x', ttlMs: 60_000, clock });
    const first = await app.request('/leases');
    expect(await first.json()).toMatchObject({ push: true, leases: [{ name: 'pushed', holder: 'x' }] });
    let settled = false;
    const waiting = Promise.resolve(app.request('/leases?wait=30000')).then((r) => {
      settled = true;
      return r;
    });
    // The manual clock never moves: only the push can answer it.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(settled).toBe(false);
    await release(store, { name: 'pushed', holder: 'x', clock });
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ push: true, waited: true, leases: [{ name: 'pushed', holder: null }] });
    for (const bad of ['', '-1', '1.5', '30001', 'soon']) {
      const r = await app.request(`/leases?wait=${bad}`);
      expect(r.status, bad).toBe(400);
      expect(await r.json(), bad).toMatchObject({ code: 'INVALID_OPTION' });
    }
    // A store without wake-ups (DynamoDB, Firestore, the Durable Object) answers at once: the page polls.
    const polled: Store = { ...genericOnly(store) };
    delete (polled as { watch?: unknown }).watch;
    const plain = await createLeaseApp({ store: polled, names: ['pushed'], clock }).request('/leases?wait=30000');
    const body = (await plain.json()) as Record<string, unknown>;
    expect(body.push).toBeUndefined();
    expect(body.waited).toBeUndefined();
  });

  it('an option function that throws: 500 NOT_CONFIGURED with a generic message; the detail, masked, only in the log', async () => {
    const store = new MemoryStore();
    const failing = () => {
      throw new Error(`could not connect to ${SECRET_URL} (password=hunter2-s3cret)`);
    };
    const apps: [string, Hono, string, string][] = [
      ['store', createLeaseApp({ store: failing, names: ['a'] }), 'GET', '/leases'],
      ['names', createLeaseApp({ store, names: failing }), 'GET', '/leases'],
      ['adminToken', createLeaseApp({ store, names: ['a'], adminToken: failing }), 'POST', '/leases/a/lead'],
    ];
    for (const [option, app, method, path] of apps) {
      const spy = quiet();
      const response = await app.request(path, {
        method,
        headers: { authorization: 'Bearer whatever-token-0123456789' },
        ...(method === 'POST' ? { body: '{"holder":"h"}' } : {}),
      });
      const text = await response.text();
      expect(response.status, option).toBe(500);
      expect(JSON.parse(text), option).toEqual({ code: 'NOT_CONFIGURED', message: `this lease app's ${option} option failed; the server log has the detail` });
      for (const leak of ['hunter2', 'db.internal', 'postgres://', 'could not connect']) expect(text, option).not.toContain(leak);
      // The operator still learns what failed, with the password masked.
      const log = logged(spy);
      expect(log, option).toContain(`the ${option} option failed: could not connect to postgres://app:****@db.internal:5432/leases (password=****)`);
      expect(log, option).not.toContain('hunter2');
      spy.mockRestore();
    }
  });

  it('a weak per-request admin token is not announced to the client either', async () => {
    const spy = quiet();
    const app = createLeaseApp({ store: new MemoryStore(), names: ['a'], adminToken: () => 'short' });
    const response = await app.request('/leases/a/lead', { method: 'POST', headers: { authorization: 'Bearer short' }, body: '{"holder":"h"}' });
    expect(response.status).toBe(500);
    expect(await response.text()).not.toMatch(/shorter|16 characters/);
    expect(logged(spy)).toContain('the admin token is shorter than 16 characters');
  });

  it('mounted: the page answers at the mount path with and without a trailing slash; other paths are untouched', async () => {
    const parent = new Hono();
    parent.route('/leases-status', createLeaseApp({ store: new MemoryStore(), names: ['nightly-report'] }));
    parent.get('/leases-status/extra', (c) => c.text('the parent’s own route'));
    for (const path of ['/leases-status', '/leases-status/']) {
      const response = await parent.request(path);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toMatch(/^<!doctype html>[\s\S]*nightly-report/);
    }
    expect((await parent.request('/leases-status/leases')).status).toBe(200);
    expect(await (await parent.request('/leases-status/extra')).text()).toBe('the parent’s own route');
    for (const path of ['/leases-status/leases/', '/leases-status/nope/', '/leases-status/nope']) expect((await parent.request(path)).status, path).toBe(404);
    // Under a mount path with a parameter too.
    const tenants = new Hono();
    tenants.route('/:tenant/leases-status', createLeaseApp({ store: new MemoryStore(), names: ['nightly-report'] }));
    expect((await tenants.request('/acme/leases-status/')).status).toBe(200);
    expect((await tenants.request('/acme/leases-status/leases/')).status).toBe(404);
  });

  it('the page: a CSP with a fresh nonce for its own style and script, no unsafe-inline, no framing', async () => {
    const app = createLeaseApp({ store: new MemoryStore(), names: ['a'] });
    const nonces = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const response = await app.request('/');
      const csp = response.headers.get('content-security-policy') ?? '';
      const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1] as string;
      expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(csp).toContain(`style-src 'nonce-${nonce}'`);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const html = await response.text();
      expect(html).toContain(`<script nonce="${nonce}">`);
      expect(html).toContain(`<style nonce="${nonce}">`);
      // Every executable script carries it (the config block is JSON, which no CSP runs).
      expect(html.match(/<script(?! type="application\/json")[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
      nonces.add(nonce);
    }
    expect(nonces.size).toBe(2);
  });

  it('ttlMs gives each view its lease length (what the page scales its bar against), for every lease or by name', async () => {
    const store = new MemoryStore();
    await tryLead(store, { name: 'a', holder: 'h', ttlMs: 15_000 });
    const one = createLeaseApp({ store, names: ['a', 'b'], ttlMs: 15_000 });
    expect(await (await one.request('/leases/a')).json()).toMatchObject({ holder: 'h', ttlMs: 15_000 });
    expect(await (await one.request('/leases/b')).json()).toMatchObject({ holder: null, ttlMs: 15_000 });
    const byName = createLeaseApp({ store, names: ['a', 'b'], ttlMs: { a: 15_000 } });
    expect(await (await byName.request('/leases/a')).json()).toMatchObject({ ttlMs: 15_000 });
    expect(await (await byName.request('/leases/b')).json()).not.toHaveProperty('ttlMs');
    expect(await (await createLeaseApp({ store, names: ['a'] }).request('/leases/a')).json()).not.toHaveProperty('ttlMs');
  });

  describe('GET /health on a silent store answers within its bound (it waited for the store’s own timeout)', () => {
    // Reads never answer; the store's own bound is 10 minutes.
    const silentStore = (inner: MemoryStore, silent: () => boolean): Store => ({
      kind: 'silent',
      clockSource: 'store',
      timeoutMs: 600_000,
      read: (name) => (silent() ? new Promise(() => {}) : inner.read(name)),
      create: (w) => inner.create(w),
      replace: (v, w) => inner.replace(v, w),
    });
    // The answer, or 'no answer' after 4 s: four times the default bound, a small share of the store's timeout.
    const within = async (app: Hono, ms = 4_000) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<'no answer'>((resolve) => {
        timer = setTimeout(() => resolve('no answer'), ms);
      });
      const answer = await Promise.race([Promise.resolve(app.request('/health')).then(async (r) => ({ status: r.status, body: await r.json() })), late]);
      clearTimeout(timer);
      return answer;
    };

    it('without an elector: 503 store-unreachable, saying the bound, in about healthTimeoutMs (default 1 s)', async () => {
      const app = createLeaseApp({ store: silentStore(new MemoryStore(), () => true), names: ['a'] });
      const started = performance.now();
      expect(await within(app)).toEqual({
        status: 503,
        body: {
          status: 'store-unreachable',
          lastError: 'STORE_UNAVAILABLE',
          message: "the store did not answer a read within 1000 ms (the health check's bound)",
        },
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
      const quick = createLeaseApp({ store: silentStore(new MemoryStore(), () => true), names: ['a'], healthTimeoutMs: 50 });
      expect(await within(quick)).toMatchObject({ status: 503, body: { message: expect.stringContaining('within 50 ms') } });
    });

    it('with an elector whose last attempt failed: 503 store-unreachable within the bound', async () => {
      let silent = false;
      const inner = new MemoryStore();
      const store: Store = {
        ...silentStore(inner, () => silent),
        create: async () => {
          throw new LeaseholdError('STORE_CORRUPT', 'injected: the claim fails');
        },
      };
      const elector = new Elector(store, { name: 'singleton', holder: 'this-node', ttlMs: 10_000, keepAlive: false });
      const app = createLeaseApp({ store, names: ['singleton'], health: { elector, name: 'singleton' } });
      const failed = new Promise<void>((resolve) => {
        const off = elector.on((e) => {
          if (e.type === 'error') {
            off();
            resolve();
          }
        });
      });
      elector.start();
      try {
        await failed;
        silent = true;
        expect(await within(app)).toEqual({
          status: 503,
          body: {
            status: 'store-unreachable',
            leader: false,
            lastError: 'STORE_UNAVAILABLE',
            message: "the store did not answer a read within 1000 ms (the health check's bound)",
          },
        });
      } finally {
        await elector.stop({ release: false });
      }
    });
  });
});
