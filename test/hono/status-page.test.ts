/**
 * The live status page of `leasehold/hono` in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * loading the page from workerd (Miniflare serving test/support/lease-worker.ts on 127.0.0.1). While the page stays
 * open, a lease is taken over (its lease aged in its Durable Object, then claimed by another holder) and another
 * released and claimed: the holder, the token and the log change on screen without a reload, and the page never
 * asks for anything but its own origin. A screenshot goes to .tmp/status-page.png (and to docs/status-page.png with
 * UPDATE_SCREENSHOT=1). Scheduled jobs on the page: the app served from Node over the memory store on a manual clock,
 * so a job's run, a gap and its overdue mark show on screen as the clock moves.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Miniflare } from 'miniflare';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLeaseApp } from '../../src/hono/index.js';
import { runExclusive } from '../../src/jobs.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { startLeaseWorker } from '../support/lease-miniflare.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_TOKEN = `admin-${crypto.randomUUID()}`;
const NAMES = ['nightly-report', 'search-indexer', 'cache-warmer', 'billing-sync', 'ledger-compactor'];
let mf: Miniflare | undefined;
let browser: Browser | undefined;
let base = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  mf = await startLeaseWorker({ LEASE_NAMES: NAMES.join(','), ADMIN_TOKEN }, 0);
  base = (await mf.ready).toString();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await mf?.dispose();
});

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(`live${path}`, base), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}
const lead = (name: string, holder: string, ttlMs: number) => admin(`/leases/${name}/lead`, { holder, ttlMs });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const launchOptions = { viewport: { width: 1180, height: 640 }, deviceScaleFactor: 1, colorScheme: 'light' as const };

describe('the status page in headless Chromium', () => {
  it('shows a takeover live: holder and token change on screen, without a reload', async (ctx) => {
    if (!browser || !mf) return ctx.skip(`no browser at ${CHROMIUM} (Debian: apt-get install -y chromium; .ci/run installs it)`);
    // Leases at different points of their terms, so the bars differ.
    expect(await lead('cache-warmer', 'warmer-us-east-2', 12_000)).toMatchObject({ isLeader: true });
    expect(await lead('nightly-report', 'report-runner-7f3a', 60_000)).toMatchObject({ isLeader: true, token: 1 });
    expect(await lead('search-indexer', 'indexer-eu-1', 30_000)).toMatchObject({ isLeader: true });

    const page = await browser.newPage({ viewport: { width: 1180, height: 640 }, deviceScaleFactor: 1, colorScheme: 'light' });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(new URL('live', base).toString());
    const card = (name: string) => page.locator(`[data-lease="${name}"]`);
    await expect.poll(() => card('nightly-report').locator('.holder').textContent()).toBe('report-runner-7f3a');
    await expect.poll(() => card('nightly-report').locator('.token').textContent()).toBe('token 1');
    expect(await card('billing-sync').locator('.holder').textContent()).toBe('nobody');
    await page.evaluate(() => {
      (window as unknown as { marker: string }).marker = 'same document';
    });

    // A takeover: the lease runs out on its object's clock, and another runner claims it.
    const expired = await fetch(new URL('expire?name=nightly-report', base), { method: 'POST' });
    expect(await expired.json()).toEqual({ expired: true });
    expect(await lead('nightly-report', 'report-runner-9c21', 60_000)).toMatchObject({ isLeader: true, token: 2 });
    await expect.poll(() => card('nightly-report').locator('.holder').textContent(), { timeout: 5_000 }).toBe('report-runner-9c21');
    await expect.poll(() => card('nightly-report').locator('.token').textContent()).toBe('token 2');
    expect(await card('nightly-report').locator('.note').textContent()).toBe('taken over from report-runner-7f3a');
    await expect.poll(() => page.locator('#log li').first().textContent()).toContain('report-runner-7f3a → report-runner-9c21  (token 1 → 2)');

    // A release, then a claim by another indexer.
    await admin('/leases/search-indexer/release', {});
    await expect.poll(() => card('search-indexer').locator('.holder').textContent()).toBe('nobody');
    await lead('search-indexer', 'indexer-eu-2', 30_000);
    await expect.poll(() => card('search-indexer').locator('.holder').textContent()).toBe('indexer-eu-2');

    // The same document all along, never reloaded.
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same document');
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
    expect(
      requests.every((url) => url.startsWith(base)),
      requests.join('\n'),
    ).toBe(true);
    expect(errors).toEqual([]);

    // Screenshot, taken a moment after the takeover while its highlight still shows.
    await lead('nightly-report', 'report-runner-9c21', 60_000);
    await sleep(600);
    mkdirSync('.tmp', { recursive: true });
    await page.screenshot({ path: '.tmp/status-page.png', fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync('.tmp/status-page.png', 'docs/status-page.png');
    await page.close();
  }, 60_000);
});

describe('the status page in headless Chromium: edges', () => {
  it('mounted, it renders and updates at the mount path with a trailing slash too (it was a 404)', async (ctx) => {
    if (!browser || !mf) return ctx.skip(`no browser at ${CHROMIUM}`);
    const page = await browser.newPage(launchOptions);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const response = await page.goto(new URL('live/', base).toString());
    expect(response?.status()).toBe(200);
    const card = page.locator('[data-lease="billing-sync"]');
    await expect.poll(() => card.locator('.holder').textContent()).toBe('nobody');
    await lead('billing-sync', 'billing-eu-1', 30_000);
    await expect.poll(() => card.locator('.holder').textContent(), { timeout: 5_000 }).toBe('billing-eu-1');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('on first load, a long-held renewed lease’s bar is its time left against its length (not against the term so far)', async (ctx) => {
    if (!browser || !mf) return ctx.skip(`no browser at ${CHROMIUM}`);
    // A 15 s lease held for 35 s and just renewed: 12 s left of 15 (80 %). The term so far is 47 s, and the bar
    // showed 12 / 47 ≈ 25 % and "renewal due".
    expect(await lead('ledger-compactor', 'compactor-1', 15_000)).toMatchObject({ isLeader: true });
    const aged = await fetch(new URL('age?name=ledger-compactor&heldMs=35000&leftMs=12000', base), { method: 'POST' });
    expect(await aged.json()).toEqual({ aged: true });
    const page = await browser.newPage(launchOptions);
    await page.goto(new URL('live', base).toString());
    const card = page.locator('[data-lease="ledger-compactor"]');
    await expect.poll(() => card.locator('.holder').textContent()).toBe('compactor-1');
    await expect.poll(() => card.locator('.fill').evaluate((e) => (e as HTMLElement).style.width)).not.toBe('');
    // Read at once, on the first answers: the time left is 12 s minus the page's load (well under 4 s here).
    const share = Number.parseFloat(await card.locator('.fill').evaluate((e) => (e as HTMLElement).style.width)) / 100;
    expect(share).toBeGreaterThan(0.5);
    expect(share).toBeLessThanOrEqual(0.81);
    expect(await card.locator('.pill').textContent()).toBe('held');
    await page.close();
  }, 60_000);

  it('the CSP is enforced: the page renders, styles and updates, and an injected inline script does not run', async (ctx) => {
    if (!browser || !mf) return ctx.skip(`no browser at ${CHROMIUM}`);
    const page = await browser.newPage(launchOptions);
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const response = await page.goto(new URL('live', base).toString());
    const card = page.locator('[data-lease="search-indexer"]');
    await expect.poll(() => card.locator('.holder').textContent()).not.toBe('…');
    // The style ran (its nonce matched), and the script did: it drew the cards and keeps polling.
    expect(await card.evaluate((e) => getComputedStyle(e).borderTopLeftRadius)).toBe('12px');
    await expect.poll(() => page.locator('#conn').getAttribute('class')).toBe('conn live');
    expect(violations).toEqual([]);
    // Updates arrive under it: a release and a claim show without a reload.
    await admin('/leases/cache-warmer/release', {});
    await lead('cache-warmer', 'warmer-us-west-1', 20_000);
    await expect.poll(() => page.locator('[data-lease="cache-warmer"] .holder').textContent(), { timeout: 5_000 }).toBe('warmer-us-west-1');
    expect(violations).toEqual([]);
    // An inline script injected into the document (what an XSS would do) is refused by the CSP.
    const ran = await page.evaluate(async () => {
      const w = window as unknown as { injected?: boolean };
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.body.append(script);
      await new Promise((r) => setTimeout(r, 50));
      return w.injected === true;
    });
    expect(ran).toBe(false);
    await expect.poll(() => violations.length).toBeGreaterThan(0);
    // That is what the header says: nonces only, no 'unsafe-inline', and no framing (checked below in the browser).
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    // And it cannot be framed.
    const framing = await browser.newPage(launchOptions);
    // The parent's load event waits for its frame's (refused) load.
    await framing.setContent(`<iframe src="${new URL('live', base).toString()}"></iframe>`, { waitUntil: 'load' });
    const frame = framing.frames()[1];
    expect(frame).toBeDefined();
    expect(await frame?.locator('#grid').count()).toBe(0);
    await framing.close();
    await page.close();
  }, 60_000);
});

describe('the status page in headless Chromium: scheduled jobs', () => {
  it('shows each job’s last run, next due time and an overdue mark, and follows a run, a gap and the next run live', async (ctx) => {
    if (!browser) return ctx.skip(`no browser at ${CHROMIUM}`);
    // On a whole hour, so both schedules have a slot due right now.
    const clock = new ManualClock(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const store = new MemoryStore({ clock });
    const schedule = { everyMs: 60_000 };
    const app = createLeaseApp({
      store,
      names: ['nightly-report'],
      clock,
      page: { pollMs: 200 },
      jobs: { 'nightly-report': { schedule, overdueAfterMs: 20_000 }, 'hourly-rollup': { schedule: { cron: '0 * * * *' } } },
    });
    // Hono's fetch behind node:http (the app is the same one a Worker or Lambda serves).
    const server = createServer(async (req, res) => {
      const response = await app.fetch(new Request(`http://127.0.0.1${req.url}`, { method: req.method }));
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        headers[key] = value;
      });
      res.writeHead(response.status, headers);
      res.end(Buffer.from(await response.arrayBuffer()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const page = await browser.newPage(launchOptions);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
    });
    try {
      await page.goto(origin);
      const job = (name: string) => page.locator(`[data-lease="${name}"] .job`);
      await expect.poll(() => job('nightly-report').locator('.last').textContent()).toBe('never run');
      expect(await job('nightly-report').locator('.mark').textContent()).toBe('on time');
      expect(await job('nightly-report').locator('.next').textContent()).toMatch(/^next due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      // A job whose lease the app does not list gets a card of its own.
      expect(await page.locator('[data-lease="hourly-rollup"] .pill').textContent()).toBe('job');
      expect(await page.locator('[data-lease="hourly-rollup"] .holder').textContent()).toBe('not running');

      expect(await runExclusive(store, { name: 'nightly-report', schedule, clock, ttlMs: 10_000 }, () => 'ok')).toMatchObject({ ran: true });
      await expect.poll(() => job('nightly-report').locator('.last').textContent()).toMatch(/^last run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      const markColor = () =>
        job('nightly-report')
          .locator('.mark')
          .evaluate((e) => getComputedStyle(e).color);
      const onTime = await markColor();
      // A gap: five slots fall due unrun, the latest more than overdueAfterMs (20 s) ago.
      clock.advance(5 * 60_000 + 20_001);
      await expect.poll(() => job('nightly-report').locator('.mark').textContent()).toBe('overdue');
      expect(await job('nightly-report').locator('.missed').textContent()).toBe('5 missed');
      expect(await page.locator('[data-lease="nightly-report"]').getAttribute('data-overdue')).toBe('true');
      expect(await markColor()).not.toBe(onTime);
      mkdirSync('.tmp', { recursive: true });
      await page.screenshot({ path: '.tmp/status-page-jobs.png', fullPage: true });
      // The next run clears it.
      await runExclusive(store, { name: 'nightly-report', schedule, clock, ttlMs: 10_000 }, () => 'ok');
      await expect.poll(() => job('nightly-report').locator('.mark').textContent()).toBe('on time');
      expect(await job('nightly-report').locator('.missed').textContent()).toBe('');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
