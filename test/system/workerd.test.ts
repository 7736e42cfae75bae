/**
 * `leasehold` with `FirestoreRestStore` inside Cloudflare's real runtime: test/support/workerd-worker.ts, bundled
 * with esbuild and run in workerd through Miniflare, claims leases from the REST shape server
 * (test/support/firestore-rest-server.ts) on 127.0.0.1 with workerd's own `fetch`, authenticated both with a
 * static token and with a service-account key (RS256 JWT signed by workerd's WebCrypto, exchanged at the fake
 * token endpoint, which verifies the signature with the public half of a key pair generated here, per run).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateServiceAccountKeyPair, startFirestoreRestServer } from '../support/firestore-rest-server.js';
import type { CronRun } from '../support/workerd-worker.js';

process.env.WRANGLER_SEND_METRICS = 'false';

const PROJECT = 'demo-leasehold';
const COLLECTION = 'workerd_leases';
const TOKEN = 'static-workerd-token';
const CRON_LEASE = `cron-${Date.now().toString(36)}`;

interface Lead {
  isLeader: boolean;
  leader: string | null;
  token: number;
}

/** The part of Miniflare's worker Fetcher this test uses. */
interface ScheduledFetcher {
  scheduled(options: { cron: string }): Promise<{ outcome: string; noRetry: boolean }>;
}

const SA_EMAIL = 'leases@demo-leasehold.iam.gserviceaccount.com';

// A fresh RSA key pair per run: the Worker gets the private half in a key file, the token endpoint the public half.
const keys = await generateServiceAccountKeyPair();
const { privateKeyPem } = keys;

const fake = await startFirestoreRestServer({
  projectId: PROJECT,
  staticTokens: [TOKEN],
  serviceAccount: { clientEmail: SA_EMAIL, publicKey: keys.publicKey },
});
let mf: Miniflare | undefined;

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../support/workerd-worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}

beforeAll(async () => {
  mf = new Miniflare({
    modules: true,
    script: await bundle(),
    compatibilityDate: '2024-09-23',
    bindings: {
      FIRESTORE_URL: fake.url,
      FIRESTORE_TOKEN: TOKEN,
      PROJECT,
      COLLECTION,
      CRON_LEASE,
      // What `wrangler secret put GCP_SERVICE_ACCOUNT` would hold: the key file's JSON.
      GCP_SERVICE_ACCOUNT: JSON.stringify({
        type: 'service_account',
        project_id: PROJECT,
        private_key_id: 'kid-workerd',
        private_key: privateKeyPem,
        client_email: SA_EMAIL,
        token_uri: fake.tokenUrl,
      }),
    },
    cf: false,
  });
  await mf.ready;
});

afterAll(async () => {
  await mf?.dispose();
  await fake.close();
});

function worker(): Miniflare {
  if (!mf) throw new Error('Miniflare did not start');
  return mf;
}

async function call<T>(method: 'GET' | 'POST', path: string, params: Record<string, string>): Promise<{ status: number; body: T }> {
  const response = await worker().dispatchFetch(`http://worker.test${path}?${new URLSearchParams(params)}`, { method });
  return { status: response.status, body: (await response.json()) as T };
}

const lead = (name: string, holder: string) => call<Lead>('POST', '/lead', { name, holder, ttlMs: '30000' });

let n = 0;
const fresh = (label: string) => `${label}-${Date.now().toString(36)}-${n++}`;

describe('FirestoreRestStore inside workerd (Miniflare)', () => {
  it('runs in workerd, not Node', async () => {
    expect((await call<{ userAgent: string }>('GET', '/runtime', {})).body.userAgent).toBe('Cloudflare-Workers');
  });

  it('claims from nothing, refuses a second holder and names the leader', async () => {
    const name = fresh('job');
    const before = fake.requests.length;
    const first = await lead(name, 'worker-a');
    expect(first).toEqual({ status: 200, body: { isLeader: true, leader: 'worker-a', token: 1 } });
    // The claim went through workerd's fetch to the shape server with the worker's token.
    const seen = fake.requests.slice(before);
    expect(seen.map((r) => r.status)).toEqual(seen.map(() => 200));
    expect(seen.some((r) => r.path.endsWith('documents:commit'))).toBe(true);
    expect(seen.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(fake.documents.has(fake.documentName(COLLECTION, name))).toBe(true);

    const second = await lead(name, 'worker-b');
    expect(second).toEqual({ status: 200, body: { isLeader: false, leader: 'worker-a', token: 1 } });
    expect((await call<{ leader: string | null }>('GET', '/leader', { name })).body.leader).toBe('worker-a');
  });

  it('after a release, exactly one of 10 concurrent claims by distinct holders leads', async () => {
    const name = fresh('race');
    expect((await lead(name, 'first')).body.isLeader).toBe(true);
    expect((await call<{ released: boolean }>('POST', '/release', { name, holder: 'first' })).body).toEqual({ released: true });
    expect((await call<{ leader: string | null }>('GET', '/leader', { name })).body.leader).toBeNull();

    const holders = Array.from({ length: 10 }, (_, i) => `contender-${i}`);
    const results = await Promise.all(holders.map((holder) => lead(name, holder)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const winners = results.filter((r) => r.body.isLeader);
    expect(winners).toHaveLength(1);
    const winner = winners[0]?.body.leader;
    expect(holders).toContain(winner);
    expect(winners[0]?.body.token).toBe(2);
    // Every loser was told who won.
    expect(results.map((r) => r.body.leader)).toEqual(holders.map(() => winner));
    expect((await call<{ leader: string | null }>('GET', '/leader', { name })).body.leader).toBe(winner);
  });

  it('answers bad input with the typed error code', async () => {
    expect(await lead(fresh('bad'), 'has space')).toMatchObject({ status: 400, body: { code: 'INVALID_HOLDER' } });
    expect(await lead('bad name!', 'worker-a')).toMatchObject({ status: 400, body: { code: 'INVALID_NAME' } });
    expect(await call('POST', '/lead', { name: fresh('bad'), holder: 'worker-a', ttlMs: '1000' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_TTL' },
    });
  });

  it('runs the scheduled job once, and not while another holder has the lease', async () => {
    const runs = async () => (await call<CronRun[]>('GET', '/runs', {})).body;
    const scheduled = async () => {
      // Miniflare types its Fetcher with @cloudflare/workers-types, which this project does not install.
      const fetcher = (await worker().getWorker()) as unknown as ScheduledFetcher;
      const result = await fetcher.scheduled({ cron: '* * * * *' });
      expect(result.outcome).toBe('ok');
    };
    expect(await runs()).toEqual([]);

    // Another host holds the cron lease: the invocation skips the job.
    expect((await lead(CRON_LEASE, 'other-host')).body.isLeader).toBe(true);
    await scheduled();
    expect(await runs()).toMatchObject([{ isLeader: false, leader: 'other-host', work: 0, released: false }]);

    // Once it lets go, one invocation leads, does the job once and releases.
    expect((await call<{ released: boolean }>('POST', '/release', { name: CRON_LEASE, holder: 'other-host' })).body.released).toBe(true);
    await scheduled();
    const all = await runs();
    expect(all).toHaveLength(2);
    const ran = all[1];
    expect(ran).toMatchObject({ isLeader: true, token: 2, work: 3, released: true });
    expect(ran?.leader).toBe(ran?.holder);
    expect(all.filter((r) => r.work > 0)).toHaveLength(1);
    expect((await call<{ leader: string | null }>('GET', '/leader', { name: CRON_LEASE })).body.leader).toBeNull();
  });

  it('authenticates with a service-account key: JWT signed with workerd’s WebCrypto, one token exchange, token reused', async () => {
    const name = fresh('sa');
    const before = fake.requests.length;
    const first = await call<Lead>('POST', '/sa/lead', { name, holder: 'worker-sa', ttlMs: '30000' });
    expect(first).toEqual({ status: 200, body: { isLeader: true, leader: 'worker-sa', token: 1 } });
    expect(await call<Lead>('POST', '/sa/lead', { name, holder: 'worker-other', ttlMs: '30000' })).toEqual({
      status: 200,
      body: { isLeader: false, leader: 'worker-sa', token: 1 },
    });
    expect((await call<{ released: boolean }>('POST', '/sa/release', { name, holder: 'worker-sa' })).body).toEqual({ released: true });

    const seen = fake.requests.slice(before);
    // Exactly one exchange, accepted by the token endpoint after verifying the RS256 signature and the claims.
    const exchanges = seen.filter((r) => r.path === '/token');
    expect(exchanges.map((r) => r.status)).toEqual([200]);
    expect(fake.issuedTokens).toEqual(['ya29.fake-1']);
    const assertion = new URLSearchParams(String(exchanges[0]?.body)).get('assertion') ?? '';
    const [header, claims] = assertion
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-workerd' });
    expect(claims).toMatchObject({ iss: SA_EMAIL, aud: fake.tokenUrl, scope: 'https://www.googleapis.com/auth/datastore' });
    // Every Firestore request that followed carried the exchanged token, and all succeeded.
    const firestore = seen.filter((r) => r.path !== '/token');
    expect(firestore.length).toBeGreaterThanOrEqual(4);
    expect(firestore.every((r) => r.headers.authorization === 'Bearer ya29.fake-1' && r.status === 200)).toBe(true);
  });
});
