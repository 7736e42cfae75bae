/**
 * The example Worker (examples/cloudflare-worker/worker.ts) as users deploy it: bundled by wrangler from the
 * top-level wrangler.toml (`wrangler deploy --dry-run --outdir`, which also proves that config valid), then run
 * in workerd through Miniflare. Its `FirestoreRestStore` talks to the REST shape server
 * (test/support/firestore-rest-server.ts) on 127.0.0.1 with a service-account key generated here, whose
 * `token_uri` points at that server; its cron job POSTs to a local HTTP server that records each request.
 *
 * Checked: the HTTP API, `leasehold/hono` mounted whole (claim, refusal, release, the lease view, a 10-way race),
 * its admin auth (401 without a bearer token, 403 with a wrong one; the routes absent when the Worker has no
 * API_TOKEN: closed by default), bad input (400 with a stable code and no request at all to Firestore), and the cron job (two concurrent invocations run the job once, with the leader's fencing token,
 * then release; a refusal or a store outage runs nothing).
 */

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseWranglerSize, readMarkedSize } from '../../scripts/sizes.js';
import { type FakeFirestore, generateServiceAccountKeyPair, startFirestoreRestServer } from '../support/firestore-rest-server.js';

process.env.WRANGLER_SEND_METRICS = 'false';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROJECT = 'demo-leasehold-cf';
const COLLECTION = 'cf_leases';
const API_TOKEN = `api-${crypto.randomUUID()}`;
const JOB_NAME = 'quarter-hourly-sync';
// The leases the Worker's app serves (LEASE_NAMES): the job's, 'job' for the bad-input cases, and a pool that
// `fresh()` hands out one by one, so every test works on a lease of its own.
const POOL = Array.from({ length: 40 }, (_, i) => `lease-${i}`);
const LEASE_NAMES = [JOB_NAME, 'job', ...POOL].join(',');
const SA_EMAIL = 'leases@demo-leasehold-cf.iam.gserviceaccount.com';
// The same date the Worker is deployed with.
const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'))?.[1];

/** The part of Miniflare's worker Fetcher this test uses (Miniflare types it with @cloudflare/workers-types, not installed here). */
interface WorkerFetcher {
  fetch(url: string, init?: RequestInit): Promise<Response>;
  scheduled(options: { cron: string; scheduledTime?: Date }): Promise<{ outcome: string; noRetry: boolean }>;
}

/** One request the job endpoint received. */
interface JobHit {
  headers: IncomingHttpHeaders;
  body: { name: string; token: number; cron: string; scheduledTime: number };
}

// A fresh RSA key pair per run: the Worker's GCP_SERVICE_ACCOUNT secret holds the private half, the fake token
// endpoint verifies JWTs with the public half.
const keys = await generateServiceAccountKeyPair();
const { privateKeyPem } = keys;

let fake: FakeFirestore;
let gone: FakeFirestore; // started and stopped: where the "outage" Worker looks for Firestore
let mf: Miniflare | undefined;
let outdir = '';
let bundleMs = 0;
let bundleOutput = '';

// The job endpoint: records every request and answers after a pause, so two concurrent cron runs overlap.
const jobHits: JobHit[] = [];
const jobServer = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (c: Buffer) => chunks.push(c));
  request.on('end', () => {
    jobHits.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    setTimeout(() => response.writeHead(204).end(), 300);
  });
});

/** `wrangler deploy --dry-run`: bundles exactly as a deploy would, writes `worker.js` to `dir`, uploads nothing. */
async function bundleWithWrangler(dir: string): Promise<string> {
  const started = performance.now();
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
      'deploy',
      '--dry-run',
      '--outdir',
      join(dir, 'out'),
      '--config',
      join(ROOT, 'wrangler.toml'),
    ],
    {
      cwd: ROOT,
      timeout: 60_000,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        // No banner, so no update check against the registry.
        WRANGLER_HIDE_BANNER: 'true',
        WRANGLER_LOG_PATH: join(dir, 'logs'),
        // wrangler keeps a device id under the config home: a throwaway one, not the user's.
        XDG_CONFIG_HOME: join(dir, 'config'),
        NO_COLOR: '1',
      },
    },
  );
  bundleMs = performance.now() - started;
  bundleOutput = `${stdout}\n${stderr}`;
  return join(dir, 'out', 'worker.js');
}

function serviceAccount(): string {
  // What `wrangler secret put GCP_SERVICE_ACCOUNT < key.json` would hold.
  return JSON.stringify({
    type: 'service_account',
    project_id: PROJECT,
    private_key_id: 'kid-cf',
    private_key: privateKeyPem,
    client_email: SA_EMAIL,
    token_uri: fake.tokenUrl,
  });
}

beforeAll(async () => {
  if (!COMPATIBILITY_DATE) throw new Error('wrangler.toml has no compatibility_date');
  outdir = await mkdtemp(join(tmpdir(), 'leasehold-cf-worker-'));
  const scriptPath = await bundleWithWrangler(outdir);
  fake = await startFirestoreRestServer({ projectId: PROJECT, serviceAccount: { clientEmail: SA_EMAIL, publicKey: keys.publicKey } });
  gone = await startFirestoreRestServer({ projectId: PROJECT });
  await gone.close();
  await new Promise<void>((resolve) => jobServer.listen(0, '127.0.0.1', resolve));
  const jobUrl = `http://127.0.0.1:${(jobServer.address() as AddressInfo).port}/run`;
  // Everything a deployment has: the vars of wrangler.toml overridden for the test, and the two secrets.
  const bindings = {
    GCP_SERVICE_ACCOUNT: serviceAccount(),
    API_TOKEN,
    FIRESTORE_BASE_URL: fake.url,
    LEASE_COLLECTION: COLLECTION,
    JOB_NAME,
    JOB_TTL_MS: '30000',
    JOB_URL: jobUrl,
    LEASE_NAMES,
  };
  const worker = (name: string, overrides: Record<string, string | undefined>) => {
    const merged: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...bindings, ...overrides })) if (value !== undefined) merged[key] = value;
    // Module names are paths relative to modulesRoot (default: the working directory); the bundle lives elsewhere.
    return { name, modules: true, scriptPath, modulesRoot: dirname(scriptPath), compatibilityDate: COMPATIBILITY_DATE, bindings: merged };
  };
  mf = new Miniflare({
    cf: false,
    workers: [
      worker('leasehold-example', {}),
      worker('no-api-token', { API_TOKEN: undefined }),
      worker('no-key', { GCP_SERVICE_ACCOUNT: undefined }),
      worker('outage', { FIRESTORE_BASE_URL: gone.url, JOB_NAME: 'outage-job' }),
    ],
  });
  await mf.ready;
});

afterAll(async () => {
  await mf?.dispose();
  await fake?.close();
  await new Promise((resolve) => jobServer.close(resolve));
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

async function workerNamed(name = 'leasehold-example'): Promise<WorkerFetcher> {
  if (!mf) throw new Error('Miniflare did not start');
  return (await mf.getWorker(name)) as unknown as WorkerFetcher;
}

interface Answer<T> {
  status: number;
  body: T;
}

async function call<T = Record<string, unknown>>(
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; worker?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? API_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await (await workerNamed(options.worker)).fetch(`http://worker.test${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: response.status, body: (await response.json()) as T };
}

interface Lead {
  isLeader: boolean;
  leader: string | null;
  token: number;
  expiresAt: number;
  remainingMs: number;
}

const lead = (name: string, body: unknown) => call<Lead>('POST', `/leases/${encodeURIComponent(name)}/lead`, { body });
/** The lease as `GET /leases/:name` shows it, or `null` while nobody holds it. */
const leaderOf = async (name: string) => {
  const view = (await call<{ holder: string | null; token: number | null }>('GET', `/leases/${name}`)).body;
  return view.holder === null ? null : view;
};

let n = 0;
const fresh = (_label: string) => {
  const name = POOL[n++];
  if (!name) throw new Error('the test needs more names in POOL');
  return name;
};
const commits = () => fake.requests.filter((r) => r.path.endsWith('documents:commit'));
const storedToken = (name: string) => Number(fake.documents.get(fake.documentName(COLLECTION, name))?.fields.token?.integerValue);

describe('the example Cloudflare Worker, bundled by wrangler, in workerd', () => {
  it('bundles from the top-level wrangler.toml in seconds', () => {
    expect(bundleMs).toBeLessThan(30_000);
  });

  it("the READMEs' bundle size is this bundle's (generated by npm run sizes, within 2 %)", () => {
    const measured = parseWranglerSize(bundleOutput);
    for (const file of ['README.md', 'examples/cloudflare-worker/README.md']) {
      const shown = readMarkedSize(readFileSync(join(ROOT, file), 'utf8'), 'worker');
      expect(shown, `${file} has no <!-- sizes:worker --> figure`).toBeDefined();
      expect(
        Math.abs((shown?.kib ?? 0) / measured.kib - 1),
        `${file} says ${shown?.kib} KiB, the bundle is ${measured.kib} KiB: run npm run sizes`,
      ).toBeLessThan(0.02);
      expect(Math.abs((shown?.gzipKib ?? 0) / measured.gzipKib - 1)).toBeLessThan(0.02);
    }
  });

  describe('HTTP API', () => {
    it('claims, refuses a second holder, names the leader, releases only for the holder', async () => {
      const name = fresh('api');
      const before = commits().length;
      const first = await lead(name, { holder: 'host-a:cron', ttlMs: 30_000, data: 'build 41' });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ isLeader: true, leader: 'host-a:cron', token: 1 });
      expect(first.body.remainingMs).toBeGreaterThan(0);
      expect(first.body.remainingMs).toBeLessThanOrEqual(29_000); // ttlMs - maxClockSkewMs
      expect(first.body.expiresAt).toBeGreaterThan(Date.now());
      // One create, conditional on absence, authenticated with the token exchanged for the key.
      const written = commits().slice(before);
      expect(written).toHaveLength(1);
      expect(JSON.stringify(written[0]?.body)).toContain('"currentDocument":{"exists":false}');
      expect(written[0]?.headers.authorization).toMatch(/^Bearer ya29\.fake-\d+$/);

      expect((await lead(name, { holder: 'host-b:cron', ttlMs: 30_000 })).body).toMatchObject({
        isLeader: false,
        leader: 'host-a:cron',
        token: 1,
        remainingMs: 0,
      });
      expect(await leaderOf(name)).toMatchObject({ holder: 'host-a:cron', token: 1 });
      // The app keeps `data` to itself unless configured to show it.
      expect(await leaderOf(name)).not.toHaveProperty('data');

      expect(await call('POST', `/leases/${name}/release`, { body: { holder: 'host-b:cron' } })).toEqual({
        status: 200,
        body: { released: false, holder: 'host-b:cron' },
      });
      expect(await call('POST', `/leases/${name}/release`, { body: { holder: 'host-a:cron' } })).toEqual({
        status: 200,
        body: { released: true, holder: 'host-a:cron' },
      });
      expect(await leaderOf(name)).toBeNull();

      // The next holder gets a larger token: release keeps the counter.
      expect((await lead(name, { holder: 'host-b:cron' })).body).toMatchObject({ isLeader: true, leader: 'host-b:cron', token: 2 });
      expect(fake.issuedTokens).toHaveLength(1); // one token exchange per isolate, reused
    });

    it('of 10 concurrent claims by distinct holders, exactly one leads', async () => {
      const name = fresh('race');
      const holders = Array.from({ length: 10 }, (_, i) => `host-${i}:cron`);
      const results = await Promise.all(holders.map((holder) => lead(name, { holder, ttlMs: 30_000 })));
      expect(results.map((r) => r.status)).toEqual(holders.map(() => 200));
      const winners = results.filter((r) => r.body.isLeader);
      expect(winners).toHaveLength(1);
      const winner = winners[0]?.body.leader;
      expect(holders).toContain(winner);
      expect(results.map((r) => r.body.leader)).toEqual(holders.map(() => winner));
      expect(results.map((r) => r.body.token)).toEqual(holders.map(() => 1));
      expect((await leaderOf(name))?.holder).toBe(winner);
    });

    it('answers an unknown route with 404 JSON', async () => {
      expect(await call('GET', '/nope')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    });
  });

  describe('auth', () => {
    const attempts: [string, string | null, number, string][] = [
      ['no Authorization header', null, 401, 'UNAUTHORIZED'],
      ['a wrong token', 'not-the-token', 403, 'FORBIDDEN'],
      ['the token with a suffix', `${API_TOKEN}x`, 403, 'FORBIDDEN'],
      ['an empty token', '', 401, 'UNAUTHORIZED'],
    ];
    it.each(attempts)('refuses %s on the admin routes and writes nothing', async (_label, token, status, code) => {
      const name = fresh('auth');
      const before = fake.requests.length;
      for (const [method, path, body] of [
        ['POST', `/leases/${name}/lead`, { holder: 'intruder' }],
        ['POST', `/leases/${name}/release`, { holder: 'intruder' }],
      ] as const) {
        const answer = await call(method, path, { body, token });
        expect(answer).toMatchObject({ status, body: { code } });
      }
      expect(fake.requests.length).toBe(before);
      expect(fake.documents.has(fake.documentName(COLLECTION, name))).toBe(false);
    });

    it('with a Basic scheme too', async () => {
      const response = await (await workerNamed()).fetch(`http://worker.test/leases/${fresh('auth')}/lead`, {
        method: 'POST',
        headers: { authorization: `Basic ${btoa(`x:${API_TOKEN}`)}` },
        body: '{"holder":"intruder"}',
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('reads and the status page need no token', async () => {
      expect((await call('GET', `/leases/${JOB_NAME}`, { token: null })).status).toBe(200);
      const page = await (await workerNamed()).fetch('http://worker.test/');
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(JOB_NAME);
    });

    it('closed by default: with no API_TOKEN the admin routes do not exist (404) and nothing is written', async () => {
      const before = fake.requests.length;
      for (const action of ['lead', 'release']) {
        const answer = await call<{ code: string }>('POST', `/leases/${fresh('unset')}/${action}`, {
          body: { holder: 'h' },
          worker: 'no-api-token',
          token: 'anything',
        });
        expect(answer).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      }
      expect(fake.requests.length).toBe(before);
      expect((await call('GET', `/leases/${JOB_NAME}`, { worker: 'no-api-token', token: null })).status).toBe(200);
    });

    it('fails closed when the Worker has no GCP_SERVICE_ACCOUNT: 500 NOT_CONFIGURED, the detail left to the Worker log', async () => {
      const answer = await call<{ code: string; message: string }>('POST', `/leases/${fresh('nokey')}/lead`, { body: { holder: 'h' }, worker: 'no-key' });
      expect(answer.status).toBe(500);
      // An option function's words may quote a secret: the client learns only which option failed.
      expect(answer.body).toEqual({ code: 'NOT_CONFIGURED', message: "this lease app's store option failed; the server log has the detail" });
    });
  });

  describe('bad input: 400 with a stable code, and not one request to Firestore', () => {
    const holder = 'host-a:cron';
    // [what, method, path (name already URL-encoded), raw body, expected status, expected code]
    type Case = [string, 'GET' | 'POST', string, string | undefined, number, string];
    const at = (name: string, action = 'lead') => `/leases/${encodeURIComponent(name)}/${action}`;
    const ok = JSON.stringify({ holder, ttlMs: 30_000 });
    const body = (value: unknown) => JSON.stringify(value);
    const badNames: [string, string][] = [
      ['a space', 'has space'],
      ['a control character', 'ctl\u0001x'],
      ['a newline', 'line\nbreak'],
      ['NUL', 'nul\u0000x'],
      ['unicode', 'unicodé'],
      ['an emoji', 'job-🦀'],
      ['200 characters', 'x'.repeat(200)],
      ['SQL metacharacters', "x'; DROP TABLE leases; --"],
      ['a quote and a percent', 'a"b%c'],
      ['a path traversal', '../etc'],
      ['a leading dot', '.hidden'],
      ['a Firestore reserved id', '__name__'],
      ['a slash', 'a/b'],
    ];
    const cases: Case[] = [
      ...badNames.map(([what, name]): Case => [`name with ${what} (lead)`, 'POST', at(name), ok, 400, 'INVALID_NAME']),
      ...badNames.slice(0, 4).map(([what, name]): Case => [`name with ${what} (release)`, 'POST', at(name, 'release'), body({ holder }), 400, 'INVALID_NAME']),
      ...badNames
        .slice(0, 4)
        .map(([what, name]): Case => [`name with ${what} (get)`, 'GET', `/leases/${encodeURIComponent(name)}`, undefined, 400, 'INVALID_NAME']),
      // URL parsing resolves a `..` segment (also as %2E%2E) before the Worker sees it: no route, nothing sent.
      ['name ".." (resolved away by the URL parser)', 'POST', '/leases/../lead', ok, 404, 'NOT_FOUND'],
      ['name "%2E%2E" (resolved away by the URL parser)', 'POST', '/leases/%2E%2E/lead', ok, 404, 'NOT_FOUND'],
      ['holder empty', 'POST', at('job'), body({ holder: '' }), 400, 'INVALID_HOLDER'],
      ['holder with spaces', 'POST', at('job'), body({ holder: 'host a' }), 400, 'INVALID_HOLDER'],
      ['holder with a tab', 'POST', at('job'), body({ holder: 'host\ta' }), 400, 'INVALID_HOLDER'],
      ['holder a number', 'POST', at('job'), body({ holder: 42 }), 400, 'INVALID_HOLDER'],
      ['holder an object', 'POST', at('job'), body({ holder: { id: 'x' } }), 400, 'INVALID_HOLDER'],
      ['holder null', 'POST', at('job'), body({ holder: null }), 400, 'INVALID_HOLDER'],
      ['holder missing', 'POST', at('job'), body({ ttlMs: 30_000 }), 400, 'INVALID_HOLDER'],
      ['holder 257 characters', 'POST', at('job'), body({ holder: 'h'.repeat(257) }), 400, 'INVALID_HOLDER'],
      ['release: holder with spaces', 'POST', at('job', 'release'), body({ holder: 'host a' }), 400, 'INVALID_HOLDER'],
      ['release: holder a number', 'POST', at('job', 'release'), body({ holder: 7 }), 400, 'INVALID_HOLDER'],
      ['ttlMs 0', 'POST', at('job'), body({ holder, ttlMs: 0 }), 400, 'INVALID_TTL'],
      ['ttlMs -1', 'POST', at('job'), body({ holder, ttlMs: -1 }), 400, 'INVALID_TTL'],
      ['ttlMs "1000" (a string)', 'POST', at('job'), body({ holder, ttlMs: '1000' }), 400, 'INVALID_TTL'],
      ['ttlMs 1e12', 'POST', at('job'), body({ holder, ttlMs: 1e12 }), 400, 'INVALID_TTL'],
      ['ttlMs null', 'POST', at('job'), body({ holder, ttlMs: null }), 400, 'INVALID_TTL'],
      ['ttlMs 1000 (under Firestore’s 3 s floor)', 'POST', at('job'), body({ holder, ttlMs: 1000 }), 400, 'INVALID_TTL'],
      ['data a number', 'POST', at('job'), body({ holder, data: 42 }), 400, 'INVALID_OPTION'],
      ['data an object', 'POST', at('job'), body({ holder, data: { a: 1 } }), 400, 'INVALID_OPTION'],
      ['data true', 'POST', at('job'), body({ holder, data: true }), 400, 'INVALID_OPTION'],
      ['data with NUL', 'POST', at('job'), body({ holder, data: 'a\u0000b' }), 400, 'INVALID_OPTION'],
      ['data over 16 384 characters', 'POST', at('job'), body({ holder, data: 'd'.repeat(16_385) }), 400, 'INVALID_OPTION'],
      ['body not JSON', 'POST', at('job'), 'holder=host-a', 400, 'INVALID_OPTION'],
      ['body empty', 'POST', at('job'), '', 400, 'INVALID_OPTION'],
      ['body a JSON array', 'POST', at('job'), body([holder]), 400, 'INVALID_OPTION'],
      ['body JSON null', 'POST', at('job'), 'null', 400, 'INVALID_OPTION'],
      ['body a JSON string', 'POST', at('job'), body(holder), 400, 'INVALID_OPTION'],
      ['body with an unknown field (ttl for ttlMs)', 'POST', at('job'), body({ holder, ttl: 30_000 }), 400, 'INVALID_OPTION'],
      ['release: body not JSON', 'POST', at('job', 'release'), '{holder}', 400, 'INVALID_OPTION'],
      ['release: body a JSON array', 'POST', at('job', 'release'), '[]', 400, 'INVALID_OPTION'],
    ];

    it.each(cases)('%s', async (_what, method, path, raw, status, code) => {
      const before = fake.requests.length;
      const answer = await call<{ code: string; message: string }>(method, path, raw === undefined ? {} : { raw });
      expect(answer.status).toBe(status);
      expect(answer.body.code).toBe(code);
      expect(answer.body.message.length).toBeGreaterThan(10);
      expect(fake.requests.length).toBe(before); // no read, no commit, no token exchange
    });

    it('says what to send when the body is not a JSON object', async () => {
      const answer = await call<{ message: string }>('POST', at('job'), { raw: '[]' });
      expect(answer.body.message).toContain('send a JSON object like {"holder":');
    });
  });

  describe('cron trigger', () => {
    const runCron = async (worker?: string) => (await workerNamed(worker)).scheduled({ cron: '*/15 * * * *', scheduledTime: new Date() });

    it('skips the job while another holder has the lease', async () => {
      expect((await lead(JOB_NAME, { holder: 'other-host', ttlMs: 30_000 })).body.isLeader).toBe(true);
      const before = jobHits.length;
      expect((await runCron()).outcome).toBe('ok');
      expect(jobHits.length).toBe(before);
      expect((await leaderOf(JOB_NAME))?.holder).toBe('other-host');
      expect((await call('POST', `/leases/${JOB_NAME}/release`, { body: { holder: 'other-host' } })).body).toEqual({ released: true, holder: 'other-host' });
    });

    it('two concurrent invocations: the job runs once, with the leader’s fencing token, then the lease is released', async () => {
      for (let round = 0; round < 3; round++) {
        const before = jobHits.length;
        const tokenBefore = storedToken(JOB_NAME);
        const outcomes = await Promise.all([runCron(), runCron()]);
        expect(outcomes.map((o) => o.outcome)).toEqual(['ok', 'ok']);
        const hits = jobHits.slice(before);
        expect(hits).toHaveLength(1);
        const [hit] = hits as [JobHit];
        // A new term each round: one more than the last holder's token, and the one the lease document holds.
        expect(hit.body.token).toBe(tokenBefore + 1);
        expect(hit.headers['x-fencing-token']).toBe(String(hit.body.token));
        expect(storedToken(JOB_NAME)).toBe(hit.body.token);
        expect(hit.body).toMatchObject({ name: JOB_NAME, cron: '*/15 * * * *' });
        // Released in waitUntil: nobody holds the lease afterwards, and the token is kept.
        await vi.waitFor(async () => expect(await leaderOf(JOB_NAME)).toBeNull(), { timeout: 5_000, interval: 50 });
        expect(fake.documents.get(fake.documentName(COLLECTION, JOB_NAME))?.fields.holder).toEqual({ nullValue: null });
        expect(storedToken(JOB_NAME)).toBe(hit.body.token);
      }
    });

    it('a store error (HTTP 503) runs no job and makes nobody leader', async () => {
      const before = jobHits.length;
      const tokenBefore = storedToken(JOB_NAME);
      fake.failNext(503, 'UNAVAILABLE');
      expect((await runCron()).outcome).toBe('exception');
      expect(jobHits.length).toBe(before);
      expect(await leaderOf(JOB_NAME)).toBeNull();
      expect(storedToken(JOB_NAME)).toBe(tokenBefore);

      fake.failNext(503, 'UNAVAILABLE');
      const answer = await lead(fresh('outage'), { holder: 'host-a:cron', ttlMs: 30_000 });
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(answer.body).not.toHaveProperty('isLeader');
    });

    it('a stopped Firestore runs no job, and the API answers 503', async () => {
      const before = jobHits.length;
      expect((await runCron('outage')).outcome).toBe('exception');
      expect(jobHits.length).toBe(before);
      const answer = await call('POST', `/leases/${fresh('down')}/lead`, { body: { holder: 'host-a:cron', ttlMs: 30_000 }, worker: 'outage' });
      expect(answer).toMatchObject({ status: 503, body: { code: 'STORE_UNAVAILABLE' } });
      expect((await call('GET', `/leases/${JOB_NAME}`, { worker: 'outage' })).status).toBe(503);
    });
  });
});
