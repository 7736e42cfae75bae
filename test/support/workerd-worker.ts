/**
 * A Cloudflare Worker for test/system/workerd.test.ts: the library and `FirestoreRestStore`, bundled with esbuild and
 * run inside workerd (Miniflare). The store talks to the REST shape server through workerd's own `fetch`.
 *
 * Routes: `POST /lead?name&holder&ttlMs` → `{ isLeader, leader, token }`; `POST /release?name&holder` →
 * `{ released }`; `GET /leader?name` → `{ leader }`; `GET /runs` → the cron runs so far; `GET /runtime` → `{ userAgent }`. A `LeaseholdError`
 * answers 400 `{ code }`. `scheduled` is the cron-job pattern: try to lead, do the work once, release.
 * The same routes under `/sa/` use a store authenticated with the service-account key in `GCP_SERVICE_ACCOUNT`
 * (a secret holding the key file's JSON): an RS256 JWT signed with workerd's WebCrypto, exchanged at the key's
 * `token_uri`. That store is built once per isolate, so its access token is cached across requests.
 */
import { getLeader, LeaseholdError, release, tryLead } from '../../src/index.js';
import { FirestoreRestStore } from '../../src/stores/firestore-rest.js';

/** Bindings Miniflare passes in. */
export interface Env {
  FIRESTORE_URL: string;
  FIRESTORE_TOKEN: string;
  PROJECT: string;
  COLLECTION: string;
  CRON_LEASE: string;
  /** A service-account key file's JSON, as a Worker secret holds it. */
  GCP_SERVICE_ACCOUNT: string;
}

/** One scheduled invocation, as `GET /runs` reports it. */
export interface CronRun {
  holder: string;
  isLeader: boolean;
  leader: string | null;
  token: number;
  /** Work items done (0 when not leader). */
  work: number;
  released: boolean;
}

// Module state lives as long as the isolate: Miniflare keeps one for the whole test file.
const runs: CronRun[] = [];

function storeFor(env: Env): FirestoreRestStore {
  return new FirestoreRestStore({
    projectId: env.PROJECT,
    collection: env.COLLECTION,
    baseUrl: env.FIRESTORE_URL,
    getAccessToken: () => env.FIRESTORE_TOKEN,
  });
}

// One per isolate, as in production: the access token it obtains is reused until shortly before it expires.
let serviceAccountStore: FirestoreRestStore | undefined;

function serviceAccountStoreFor(env: Env): FirestoreRestStore {
  serviceAccountStore ??= new FirestoreRestStore({
    serviceAccount: JSON.parse(env.GCP_SERVICE_ACCOUNT),
    collection: env.COLLECTION,
    baseUrl: env.FIRESTORE_URL,
  });
  return serviceAccountStore;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

async function route(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  const q = url.searchParams;
  const viaKey = url.pathname.startsWith('/sa/');
  const store = viaKey ? serviceAccountStoreFor(env) : storeFor(env);
  const path = viaKey ? url.pathname.slice('/sa'.length) : url.pathname;
  if (request.method === 'POST' && path === '/lead') {
    const ttl = q.get('ttlMs');
    const lead = await tryLead(store, {
      name: q.get('name') ?? '',
      holder: q.get('holder') ?? '',
      ...(ttl === null ? {} : { ttlMs: Number(ttl) }),
    });
    return json({ isLeader: lead.isLeader, leader: lead.leader, token: lead.token });
  }
  if (request.method === 'POST' && path === '/release') {
    return json({ released: await release(store, { name: q.get('name') ?? '', holder: q.get('holder') ?? '' }) });
  }
  if (request.method === 'GET' && path === '/leader') {
    const leader = await getLeader(store, q.get('name') ?? '');
    return json({ leader: leader?.holder ?? null, token: leader?.token ?? null });
  }
  if (request.method === 'GET' && url.pathname === '/runs') return json(runs);
  if (request.method === 'GET' && url.pathname === '/runtime') return json({ userAgent: navigator.userAgent });
  return json({ error: 'not found' }, 404);
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return await route(request, env);
    } catch (error) {
      if (error instanceof LeaseholdError) return json({ code: error.code, message: error.message }, 400);
      return json({ error: String(error) }, 500);
    }
  },

  async scheduled(_controller: unknown, env: Env): Promise<void> {
    const store = storeFor(env);
    const holder = `cron-${crypto.randomUUID()}`;
    const lead = await tryLead(store, { name: env.CRON_LEASE, holder, ttlMs: 30_000 });
    let work = 0;
    let released = false;
    if (lead.isLeader) {
      try {
        // The job: a few items, each only while the lease is still valid.
        for (let i = 0; i < 3 && lead.stillLeader(); i++) work++;
      } finally {
        released = await release(store, { name: env.CRON_LEASE, holder });
      }
    }
    runs.push({ holder, isLeader: lead.isLeader, leader: lead.leader, token: lead.token, work, released });
  },
};
