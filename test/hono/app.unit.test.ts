/**
 * `leasehold/hono` in-process (`app.request`, the memory store, a manual clock; no workerd): `createLeaseApp` refuses
 * bad options with a typed error, and its routes, pages and health codes answer as they do inside workerd
 * (test/hono/hono.test.ts).
 */
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector } from '../../src/elector.js';
import { LeaseholdError } from '../../src/errors.js';
import { createLeaseApp } from '../../src/hono/index.js';
import { release, tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { genericOnly } from '../../src/testing/faults.js';

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
