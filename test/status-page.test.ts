/**
 * The live status page of `leasehold/hono` in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * loading the page from workerd (Miniflare serving test/support/lease-worker.ts on 127.0.0.1). While the page stays
 * open, a lease is taken over (its lease aged in its Durable Object, then claimed by another holder) and another
 * released and claimed: the holder, the token and the log change on screen without a reload, and the page never
 * asks for anything but its own origin. A screenshot goes to .tmp/status-page.png (and to docs/status-page.png with
 * UPDATE_SCREENSHOT=1).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import type { Miniflare } from 'miniflare';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLeaseWorker } from './support/lease-miniflare.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_TOKEN = `admin-${crypto.randomUUID()}`;
const NAMES = ['nightly-report', 'search-indexer', 'cache-warmer', 'billing-sync'];
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
