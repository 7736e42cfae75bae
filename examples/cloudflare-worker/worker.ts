/**
 * A Cloudflare Worker with two faces, both over one Firestore lease collection (`FirestoreRestStore`: fetch and
 * WebCrypto only, no SDK):
 *
 * - `scheduled`: a cron job that runs in at most one invocation at a time, even when Cloudflare runs the trigger
 *   twice or a slow run overlaps the next. Each invocation tries to lead with a fresh holder id; only the leader
 *   runs the job (a POST to `JOB_URL` carrying the fencing token), then releases.
 * - `fetch`: a small HTTP API (Hono) so hosts without a JavaScript runtime (a crontab with curl) and dashboards
 *   can lead, release and look up leases too. Every route needs `Authorization: Bearer <API_TOKEN>`.
 *
 * Deployed with the top-level `wrangler.toml`; see README.md beside this file.
 * It imports `leasehold` by its package name, as your project will; it also needs `hono` (`npm install leasehold hono`).
 * @module
 */
import { type Context, Hono } from 'hono';
import { getLeader, isLeaseholdError, type LeadResult, type LeaseholdErrorCode, release, tryLead } from 'leasehold';
import { FirestoreRestStore, type ServiceAccountKey } from 'leasehold/firestore-rest';

/** The Worker's bindings: the secrets and the `[vars]` of `wrangler.toml`. Vars arrive as strings. */
export interface Env {
  /** Secret: the service-account key file's JSON (`wrangler secret put GCP_SERVICE_ACCOUNT < key.json`); needs `roles/datastore.user`. */
  GCP_SERVICE_ACCOUNT?: string;
  /** Secret: the bearer token every HTTP route requires (`wrangler secret put API_TOKEN`). Unset: every request gets 500. */
  API_TOKEN?: string;
  /** Google Cloud project of the Firestore database (default: the key's `project_id`). */
  FIRESTORE_PROJECT_ID?: string;
  /** Firestore endpoint (default Google's); e.g. an emulator's `http://127.0.0.1:8080`. */
  FIRESTORE_BASE_URL?: string;
  /** Collection holding the leases (default `leasehold_leases`). */
  LEASE_COLLECTION?: string;
  /** Election name of the cron job: one per job. */
  JOB_NAME?: string;
  /** Lease length of the cron job in ms (default 300 000): about twice the job's usual length, shorter than the cron period. */
  JOB_TTL_MS?: string;
  /** The job: the leader POSTs here with header `x-fencing-token`. */
  JOB_URL?: string;
}

/** The part of Cloudflare's `ScheduledController` this Worker reads (typed here: no `@cloudflare/workers-types` needed). */
export interface ScheduledController {
  /** The cron expression that fired, e.g. `*\/15 * * * *`. */
  readonly cron: string;
  /** When the trigger was scheduled to fire (epoch ms). */
  readonly scheduledTime: number;
}

/** The part of Cloudflare's `ExecutionContext` this Worker uses. */
export interface ExecutionContext {
  /** Keeps the invocation alive until `promise` settles, after the handler has returned. */
  waitUntil(promise: Promise<unknown>): void;
}

/** What the leader POSTs to `JOB_URL` (JSON), besides the `x-fencing-token` header. */
export interface JobRequest {
  /** The election name (`JOB_NAME`). */
  name: string;
  /** Fencing token of this leadership; the downstream refuses anything older than the newest it has seen. */
  token: number;
  /** The cron expression that fired. */
  cron: string;
  /** When the trigger was scheduled to fire (epoch ms): a key to make the job idempotent per run. */
  scheduledTime: number;
}

const DEFAULT_JOB_TTL_MS = 300_000;

/** A missing or unusable binding: the deployment's fault, not the caller's. */
class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// One store per isolate: it caches the access token it exchanged for the service-account key, so warm requests
// skip the token endpoint. Bindings do not change within an isolate.
let store: FirestoreRestStore | undefined;

function storeFor(env: Env): FirestoreRestStore {
  if (store) return store;
  if (!env.GCP_SERVICE_ACCOUNT) throw new ConfigError('GCP_SERVICE_ACCOUNT is not set: run `wrangler secret put GCP_SERVICE_ACCOUNT < key.json`');
  let key: ServiceAccountKey;
  try {
    key = JSON.parse(env.GCP_SERVICE_ACCOUNT) as ServiceAccountKey;
  } catch {
    // The parser's message quotes the text, which is a secret: keep it out of the answer and the logs.
    throw new ConfigError('GCP_SERVICE_ACCOUNT is not JSON: put the whole service-account key file in the secret');
  }
  store = new FirestoreRestStore({
    serviceAccount: key,
    ...(env.FIRESTORE_PROJECT_ID ? { projectId: env.FIRESTORE_PROJECT_ID } : {}),
    ...(env.LEASE_COLLECTION ? { collection: env.LEASE_COLLECTION } : {}),
    ...(env.FIRESTORE_BASE_URL ? { baseUrl: env.FIRESTORE_BASE_URL } : {}),
  });
  return store;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP API
// ---------------------------------------------------------------------------------------------------------------

type HttpStatus = 400 | 401 | 404 | 500 | 503;
type AppContext = Context<{ Bindings: Env }>;

/** Every error answer: `{ code, message }`, `code` stable (a leasehold code, or one of this API's own). */
function problem(c: AppContext, status: HttpStatus, code: string, message: string): Response {
  return c.json({ code, message }, status);
}

// Bad input is the caller's (400); an unreachable store is transient (503); the rest is the deployment's (500).
function statusOf(code: LeaseholdErrorCode): HttpStatus {
  if (code === 'INVALID_NAME' || code === 'INVALID_HOLDER' || code === 'INVALID_TTL' || code === 'INVALID_OPTION') return 400;
  if (code === 'STORE_UNAVAILABLE') return 503;
  return 500; // INVALID_STORE (a bad binding), STORE_CORRUPT, anything else
}

/** Compares two secrets in time that does not depend on where they differ (both are hashed first). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const digest = (text: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  const [a, b] = (await Promise.all([digest(given), digest(expected)])).map((d) => new Uint8Array(d)) as [Uint8Array, Uint8Array];
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/**
 * The request body as a JSON object with only `allowed` keys, or an `INVALID_OPTION` error saying what to send.
 * Unknown keys are refused so that a typo (`ttl` for `ttlMs`) does not silently fall back to a default.
 */
async function bodyObject(request: Request, allowed: readonly string[], example: string): Promise<Record<string, unknown>> {
  const refuse = (what: string) => new InvalidBody(`${what}; send a JSON object like ${example}`);
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch {
    throw refuse('the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw refuse(`the body is ${Array.isArray(body) ? 'an array' : JSON.stringify(body).slice(0, 40)}, not an object`);
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw refuse(`unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  return body as Record<string, unknown>;
}

class InvalidBody extends Error {}

const app = new Hono<{ Bindings: Env }>();

// Fail closed: with no API_TOKEN configured nobody gets in, rather than everybody.
app.use('*', async (c, next) => {
  const expected = c.env.API_TOKEN;
  if (!expected) return problem(c, 500, 'API_TOKEN_UNSET', 'this Worker has no API_TOKEN, so it refuses every request: run `wrangler secret put API_TOKEN`');
  const given = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
  if (given === undefined || !(await sameSecret(given, expected))) {
    c.header('www-authenticate', 'Bearer');
    return problem(c, 401, 'UNAUTHORIZED', 'send the header Authorization: Bearer <API_TOKEN>');
  }
  await next();
});

/** `GET /leases/:name` → `{ leader }`: `{ holder, token, acquiredAt, expiresAt, data }`, or `null` when nobody holds it. */
app.get('/leases/:name', async (c) => c.json({ leader: await getLeader(storeFor(c.env), c.req.param('name')) }));

/**
 * `POST /leases/:name/lead` with `{ holder, ttlMs?, data? }` → `{ isLeader, leader, token, expiresAt, remainingMs }`.
 * `remainingMs` counts from when this Worker sent its write; the caller should count it from when it sent its own
 * request (earlier still), so it never acts past the lease.
 */
app.post('/leases/:name/lead', async (c) => {
  const body = await bodyObject(c.req.raw, ['holder', 'ttlMs', 'data'], '{"holder":"host-1:nightly","ttlMs":60000}');
  // Passed on as sent: the library checks every value (types included) before any request, so nothing is written.
  const lead: LeadResult = await tryLead(storeFor(c.env), {
    name: c.req.param('name'),
    holder: body.holder as string,
    ...('ttlMs' in body ? { ttlMs: body.ttlMs as number } : {}),
    ...('data' in body ? { data: body.data as string } : {}),
  });
  return c.json({ isLeader: lead.isLeader, leader: lead.leader, token: lead.token, expiresAt: lead.expiresAt, remainingMs: lead.remainingMs() });
});

/** `POST /leases/:name/release` with `{ holder }` → `{ released }` (false when `holder` did not hold it). */
app.post('/leases/:name/release', async (c) => {
  const body = await bodyObject(c.req.raw, ['holder'], '{"holder":"host-1:nightly"}');
  return c.json({ released: await release(storeFor(c.env), { name: c.req.param('name'), holder: body.holder as string }) });
});

app.notFound((c) => problem(c, 404, 'NOT_FOUND', 'routes: GET /leases/:name, POST /leases/:name/lead, POST /leases/:name/release'));

app.onError((error, c) => {
  if (error instanceof InvalidBody) return problem(c, 400, 'INVALID_OPTION', error.message);
  if (error instanceof ConfigError) return problem(c, 500, 'NOT_CONFIGURED', error.message);
  if (isLeaseholdError(error)) {
    const status = statusOf(error.code);
    if (status >= 500) console.error(`${c.req.method} ${c.req.path}: ${error.code}: ${error.message}`);
    return problem(c, status, error.code, error.message);
  }
  console.error(`${c.req.method} ${c.req.path}:`, error);
  return problem(c, 500, 'INTERNAL', 'unexpected error; see the Worker logs');
});

// ---------------------------------------------------------------------------------------------------------------
// Cron job
// ---------------------------------------------------------------------------------------------------------------

/** The job, run only by the leader: a POST to `JOB_URL`. The downstream uses the token to refuse stale leaders. */
async function runJob(jobUrl: string, lead: LeadResult, job: JobRequest): Promise<void> {
  // The lease may have run out while we waited (a slow store, a paused isolate): check just before the side effect.
  if (!lead.stillLeader()) throw new Error(`${job.name}: validity ran out before the job started; the next trigger will run it`);
  const response = await fetch(jobUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-fencing-token': String(lead.token) },
    body: JSON.stringify(job),
    // Aborts the request when this leadership's validity runs out.
    signal: lead.signal,
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${job.name}: the job at JOB_URL answered HTTP ${response.status}`);
}

/**
 * The cron trigger: runs the job in at most one invocation at a time. A store failure fails closed: the job does
 * not run, the error is logged and rethrown (the invocation shows as failed in the dashboard).
 */
async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const { JOB_NAME: name, JOB_URL: jobUrl } = env;
  // Checked before leading, so a misconfigured Worker never holds the lease for nothing.
  if (!name || !jobUrl) throw new ConfigError('JOB_NAME and JOB_URL must be set: add them to [vars] in wrangler.toml');
  const ttlMs = env.JOB_TTL_MS === undefined ? DEFAULT_JOB_TTL_MS : Number(env.JOB_TTL_MS);
  // Fresh per invocation: two overlapping runs are two contenders, and an old run's id never matches a new lease.
  const holder = crypto.randomUUID();
  let lead: LeadResult;
  let leases: FirestoreRestStore;
  try {
    leases = storeFor(env);
    lead = await tryLead(leases, { name, holder, ttlMs });
  } catch (error) {
    console.error(`${name} (${controller.cron}): no lease, so the job does not run:`, isLeaseholdError(error) ? `${error.code}: ${error.message}` : error);
    throw error;
  }
  if (!lead.isLeader) {
    console.log(`${name}: ${lead.leader ?? 'nobody'} leads (token ${lead.token}); this run skips the job`);
    return;
  }
  try {
    await runJob(jobUrl, lead, { name, token: lead.token, cron: controller.cron, scheduledTime: controller.scheduledTime });
  } finally {
    // Conditional on this holder: a no-op if someone took over meanwhile. If it fails, the lease runs out by itself.
    ctx.waitUntil(
      release(leases, { name, holder }).catch((error: unknown) => console.error(`${name}: release failed; the lease runs out in ${ttlMs} ms:`, error)),
    );
  }
}

/** The Worker: the HTTP API (`fetch`) and the cron job (`scheduled`). */
export default { fetch: app.fetch, scheduled };
