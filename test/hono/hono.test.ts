/**
 * `leasehold/hono` inside workerd (Miniflare): test/support/lease-worker.ts mounts `createLeaseApp` over the Durable
 * Object store (`/app`, admin token set; `/closed`, none; `/data`, `exposeData`) and over an instance's `Elector`
 * on a manual clock whose store can be taken down (`/node`). Checked: the JSON routes, the page's shape, the admin
 * routes' auth (absent without a token, 401 without a bearer token, 403 with a wrong one, nothing written either way),
 * bad input (400 with a stable code, no stack), and every health code. In-process (`app.request`, no workerd):
 * test/hono/app.unit.test.ts.
 */
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
