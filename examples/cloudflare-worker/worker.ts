/**
 * A Cloudflare Worker with two faces, both over one Firestore lease collection (`FirestoreRestStore`: fetch and
 * WebCrypto only, no SDK):
 *
 * - `scheduled`: a cron job that runs in at most one invocation at a time, even when Cloudflare runs the trigger
 *   twice or a slow run overlaps the next. Each invocation tries to lead with a fresh holder id; only the leader
 *   runs the job (a POST to `JOB_URL` carrying the fencing token), then releases.
 * - `fetch`: `leasehold/hono`, mounted whole: a live status page at `/`, `GET /leases` and `GET /leases/:name`
 *   (open), `GET /health`, and, only when `API_TOKEN` is set, `POST /leases/:name/lead` and `/release` behind
 *   `Authorization: Bearer <API_TOKEN>`, so hosts without a JavaScript runtime (a crontab with curl) can lead too.
 *
 * Deployed with the top-level `wrangler.toml`; see README.md beside this file.
 * It imports `leasehold` by its package name, as your project will; it also needs `hono` (`npm install leasehold hono`).
 * @module
 */
import { isLeaseholdError, type LeadResult, runExclusive, slotOf } from 'leasehold';
import { FirestoreRestStore, type ServiceAccountKey } from 'leasehold/firestore-rest';
import { createLeaseApp } from 'leasehold/hono';

/** The Worker's bindings: the secrets and the `[vars]` of `wrangler.toml`. Vars arrive as strings. */
export interface Env {
  /** Secret: the service-account key file's JSON (`wrangler secret put GCP_SERVICE_ACCOUNT < key.json`); needs `roles/datastore.user`. */
  GCP_SERVICE_ACCOUNT?: string;
  /** Secret: the bearer token of the admin routes, lead and release (`wrangler secret put API_TOKEN`). Unset: those routes do not exist. */
  API_TOKEN?: string;
  /** The leases the HTTP app shows and serves, comma-separated (default: `JOB_NAME`). */
  LEASE_NAMES?: string;
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
// HTTP: leasehold/hono, mounted whole (the status page, the JSON routes, and the admin routes behind API_TOKEN)
// ---------------------------------------------------------------------------------------------------------------

/** The leases the app shows: `LEASE_NAMES` (comma-separated), else just the cron job's. */
function namesOf(env: Env): string[] {
  const names = (env.LEASE_NAMES ?? env.JOB_NAME ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) throw new ConfigError('LEASE_NAMES (or JOB_NAME) must be set: add it to [vars] in wrangler.toml');
  return names;
}

const app = createLeaseApp({
  store: (c) => storeFor(c.env as Env),
  names: (c) => namesOf(c.env as Env),
  // Unset: the admin routes (lead, release) do not exist; reads and the page stay open.
  adminToken: (c) => (c.env as Env).API_TOKEN,
  page: { title: 'Leases' },
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
 * The cron trigger: runs the job at most once per scheduled time (`controller.scheduledTime`, the slot), in one
 * invocation at a time, with `runExclusive`: a trigger Cloudflare delivers twice, or an overlapping run, skips.
 * A store failure fails closed: the job does not run, the error is logged and rethrown (the invocation shows as
 * failed in the dashboard).
 */
async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const { JOB_NAME: name, JOB_URL: jobUrl } = env;
  // Checked before leading, so a misconfigured Worker never holds the lease for nothing.
  if (!name || !jobUrl) throw new ConfigError('JOB_NAME and JOB_URL must be set: add them to [vars] in wrangler.toml');
  const ttlMs = env.JOB_TTL_MS === undefined ? DEFAULT_JOB_TTL_MS : Number(env.JOB_TTL_MS);
  const run = (async () => {
    try {
      const outcome = await runExclusive(storeFor(env), { name, ttlMs, slot: slotOf(controller) }, ({ token, lead }) =>
        runJob(jobUrl, lead, { name, token, cron: controller.cron, scheduledTime: controller.scheduledTime }),
      );
      if (!outcome.ran) {
        console.log(
          outcome.reason === 'held'
            ? `${name}: ${outcome.leader ?? 'nobody'} leads (token ${outcome.token}); this run skips the job`
            : `${name}: the run scheduled at ${controller.scheduledTime} already completed; this delivery skips it`,
        );
      }
    } catch (error) {
      console.error(`${name} (${controller.cron}): the job did not complete:`, isLeaseholdError(error) ? `${error.code}: ${error.message}` : error);
      throw error;
    }
  })();
  // Keeps the invocation alive until the job, its slot and the release are done.
  ctx.waitUntil(run.catch(() => {}));
  await run;
}

/** The Worker: the lease app (`fetch`) and the cron job (`scheduled`). */
export default { fetch: app.fetch, scheduled };
