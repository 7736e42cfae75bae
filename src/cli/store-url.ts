/**
 * Store URLs: `postgres://…` (or `postgresql://`), `redis://…` (or `rediss://`, TLS), `dynamodb://<table>?region=…&endpoint=…`,
 * `firestore://<project>/<collection>` and `memory:`. Each SDK is imported only when its scheme is used, so a
 * Postgres user needs no AWS SDK; credentials come from each SDK's usual environment and are never printed: a URL
 * is shown only as ./secrets/store-value.ts masks it, and one that cannot be read with certainty is refused, not guessed at.
 * @module
 */
import { DEFAULT_STORE_TIMEOUT_MS } from '../options.js';
import type { Store } from '../store.js';
import type { RedisClient } from '../stores/redis.js';
import { CliError, EXIT, usage } from './exit-codes.js';
import { checkGoogleCredentials } from './google-credentials.js';
import { isCredentialParam, nameParam } from './secrets/params.js';
import { type Scrub, storeScrubber } from './secrets/scrub.js';
import { looksLikeKeyValue, type MaskedStore, maskStoreValue, UNPARSABLE, type UrlParts } from './secrets/store-value.js';

/** What a store URL names, parsed and checked before any SDK is loaded. */
export type StoreSpec = (
  | { scheme: 'postgres'; connectionString: string; table?: string; schema?: string; database?: string }
  | { scheme: 'redis'; url: string; prefix?: string }
  | { scheme: 'dynamodb'; table: string; region?: string; endpoint?: string }
  | { scheme: 'firestore'; project: string; collection?: string }
  | { scheme: 'memory' }
) & {
  /** The URL as it may be printed: every secret masked (see ./secrets/store-value.ts). The only form of it any message shows. */
  shown: string;
  /** Removes the URL's secrets from other text (a driver's error message) before it is printed. */
  scrub: Scrub;
};

/** A store opened from a URL; `close()` ends its pool or client so the process can exit. */
export interface OpenedStore {
  store: Store;
  spec: StoreSpec;
  /** Creates the table (Postgres, DynamoDB); returns what it did. */
  init(): Promise<string>;
  close(): Promise<void>;
}

const SCHEMES =
  'postgres://user:password@host:5432/db, redis://user:password@host:6379[/db] (rediss:// for TLS), dynamodb://<table>?region=<region>, firestore://<project>/<collection> or memory:';

/** What to do about a password or user name with reserved characters. */
const ENCODE = 'percent-encode @ : / ? # % and spaces in the user name and password (encodeURIComponent: @ is %40, : %3A, / %2F, ? %3F, # %23, % %25)';

/** The usage error for a value that cannot be used as it stands: it says what to fix and never repeats the value. */
function refusal(masked: MaskedStore): CliError {
  const what = masked.scheme ? `the ${masked.scheme} store URL` : '--store';
  switch (masked.problem) {
    case 'malformed-escape':
      return usage(
        `${what} has a malformed % escape (a % must be followed by two hex digits that form UTF-8): write a literal % as %25${masked.scheme?.startsWith('postgres') || masked.scheme?.startsWith('redis') ? `, and ${ENCODE}` : ''}; got ${masked.shown}`,
      );
    case 'ambiguous':
      return usage(`${what} cannot be read with certainty (where its password ends is unclear), so it is neither shown nor used: ${ENCODE}`);
    case 'unknown-scheme':
      return usage(
        masked.scheme === undefined
          ? `--store has a scheme leasehold does not know (not shown); use ${SCHEMES}`
          : `unknown store scheme ${JSON.stringify(`${masked.scheme}:`)}; use ${SCHEMES}`,
      );
    default:
      return usage(`--store must be a store URL (${SCHEMES}); got ${UNPARSABLE}`);
  }
}

/** Parses a store URL; throws a usage error (exit 64) naming the schemes it knows, and never the value's secrets. */
export function parseStoreUrl(url: string): StoreSpec {
  const masked = maskStoreValue(url);
  const shown = masked.shown;
  const scrub = storeScrubber(url, masked);
  if (masked.scheme === 'memory' && masked.problem === undefined) return { scheme: 'memory', shown, scrub };
  if (masked.problem === 'not-a-url') {
    throw usage(
      looksLikeKeyValue(url)
        ? `--store must be a store URL (${SCHEMES}); got what looks like a key=value connection string (not shown): write it as a URL, e.g. postgres://user:password@host:5432/db, and ${ENCODE}`
        : `--store must be a store URL (${SCHEMES}); got ${UNPARSABLE}`,
    );
  }
  const parts = masked.parts;
  if (masked.problem !== undefined || parts === undefined) throw refusal(masked);
  const param = (key: string) => parts.params.find((p) => p.key === key)?.value;
  if (parts.scheme === 'postgres' || parts.scheme === 'postgresql') {
    // table and schema are leasehold's own; everything else (sslmode, …) is left to pg, as typed.
    const rest = parts.params
      .filter((p) => p.key !== 'table' && p.key !== 'schema')
      .map((p) => (p.rawValue === undefined ? p.rawKey : `${p.rawKey}=${p.rawValue}`));
    const table = param('table');
    const schema = param('schema');
    const database = parts.path.replace(/^\//, '');
    return {
      scheme: 'postgres',
      connectionString: parts.base + (rest.length > 0 ? `?${rest.join('&')}` : ''),
      ...(table !== undefined ? { table } : {}),
      ...(schema !== undefined ? { schema } : {}),
      ...(database ? { database } : {}),
      shown,
      scrub,
    };
  }
  if (parts.scheme === 'redis' || parts.scheme === 'rediss') {
    // The URL goes to the client as typed (user, password, db, TLS for rediss://), without leasehold's own ?prefix=.
    if (!parts.host) throw usage(`redis store URL must look like redis://[user:password@]host[:6379][/db][?prefix=leasehold:]; got ${shown}`);
    if (!/^(\/\d{0,5})?$/.test(parts.path)) throw usage(`redis store URL: the path is the database number (/0 … /15), nothing else; got ${shown}`);
    for (const { key } of parts.params) {
      if (key === 'prefix') continue;
      throw usage(
        `redis store URL: unknown parameter ${nameParam(key)}; known: prefix${isCredentialParam(key) ? ' (put a password in the URL: redis://user:password@host, percent-encoded)' : ''}`,
      );
    }
    const prefix = param('prefix');
    return { scheme: 'redis', url: parts.base, ...(prefix !== undefined ? { prefix } : {}), shown, scrub };
  }
  // Neither SDK takes credentials from a URL: a user or password here would only be printed, or ignored.
  if (parts.user !== undefined) {
    const from =
      parts.scheme === 'dynamodb'
        ? "the AWS SDK's environment (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a role)"
        : 'Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, the metadata server)';
    throw usage(`${parts.scheme} store URL takes no user or password: credentials come from ${from}; got ${shown}`);
  }
  if (parts.scheme === 'dynamodb') {
    if (!parts.host || (parts.path !== '' && parts.path !== '/'))
      throw usage(`dynamodb store URL must look like dynamodb://<table>?region=us-east-1 (optionally &endpoint=http://127.0.0.1:8000); got ${shown}`);
    checkParams(parts, ['region', 'endpoint']);
    const region = param('region');
    const endpoint = param('endpoint');
    if (endpoint !== undefined && !/^https?:\/\/[^/@]+/.test(endpoint))
      throw usage(`dynamodb store URL: endpoint must be an http(s) URL with no user or password, like http://127.0.0.1:8000; got ${shown}`);
    return { scheme: 'dynamodb', table: parts.host, ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}), shown, scrub };
  }
  if (!parts.host) throw usage(`firestore store URL must look like firestore://<project>/<collection>; got ${shown}`);
  checkParams(parts, []);
  const collection = parts.path.replace(/^\/+|\/+$/g, '');
  return { scheme: 'firestore', project: parts.host, ...(collection ? { collection } : {}), shown, scrub };
}

function checkParams(parts: UrlParts, allowed: string[]): void {
  for (const { key } of parts.params) {
    if (allowed.includes(key)) continue;
    const credential = isCredentialParam(key)
      ? parts.scheme === 'dynamodb'
        ? "; credentials come from the AWS SDK's environment (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a role), never from the URL"
        : '; credentials come from Application Default Credentials, never from the URL'
      : '';
    throw usage(`${parts.scheme} store URL: unknown parameter ${nameParam(key)}; known: ${allowed.join(', ') || 'none'}${credential}`);
  }
}

/** Waits for `closing` at most `ms` (a pool ending against a silent server must not hold the process). */
function settleWithin(closing: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    closing.then(
      () => resolve(),
      () => resolve(),
    );
  }).then(() => {});
}

/** `import()` of an optional SDK, with the fix when it is not installed. */
async function load<T>(name: string, scheme: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CliError(
        EXIT.USAGE,
        `the ${scheme} store needs the ${name} package: install it next to leasehold (npm install ${name}), or run npx -p leasehold -p ${name} leasehold …`,
        'usage',
        { cause: error },
      );
    }
    throw error;
  }
}

/** Opens the store a URL names, loading only its SDK. */
export async function openStore(spec: StoreSpec, timeoutMs = DEFAULT_STORE_TIMEOUT_MS): Promise<OpenedStore> {
  switch (spec.scheme) {
    case 'memory': {
      const { MemoryStore } = await import('../stores/memory.js');
      return { store: new MemoryStore(), spec, init: async () => 'memory: nothing to create (the store lives in this process only)', close: async () => {} };
    }
    case 'postgres': {
      const pg = await load('pg', 'postgres', () => import('pg'));
      const { PostgresStore } = await import('../stores/postgres/index.js');
      const Pool = (pg as unknown as { default?: typeof pg }).default?.Pool ?? pg.Pool;
      // Bounded connects and queries, so a silent server does not hold the process (the store bounds each call too).
      const pool = new Pool({ connectionString: spec.connectionString, max: 2, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
      // An idle connection that breaks emits 'error' on the pool; without a listener that would end the process.
      pool.on('error', () => {});
      const store = new PostgresStore({
        pool,
        timeoutMs,
        ...(spec.table !== undefined ? { table: spec.table } : {}),
        ...(spec.schema !== undefined ? { schema: spec.schema } : {}),
      });
      return {
        store,
        spec,
        init: async () => {
          await store.migrate();
          return `postgres: table ${spec.schema ? `${spec.schema}.` : ''}${spec.table ?? 'leasehold_leases'} is ready`;
        },
        close: () => settleWithin(pool.end(), 1_000),
      };
    }
    case 'redis':
      return openRedis(spec, timeoutMs);
    case 'dynamodb': {
      const sdk = await load('@aws-sdk/client-dynamodb', 'dynamodb', () => import('@aws-sdk/client-dynamodb'));
      const { DynamoDBStore } = await import('../stores/dynamodb/index.js');
      const client = new sdk.DynamoDBClient({ ...(spec.region ? { region: spec.region } : {}), ...(spec.endpoint ? { endpoint: spec.endpoint } : {}) });
      const store = new DynamoDBStore({ client, table: spec.table, timeoutMs });
      return {
        store,
        spec,
        init: async () => {
          await store.createTable();
          return `dynamodb: table ${spec.table} is ready (partition key pk, on demand)`;
        },
        close: async () => client.destroy(),
      };
    }
    case 'firestore': {
      const sdk = await load('@google-cloud/firestore', 'firestore', () => import('@google-cloud/firestore'));
      const { FirestoreStore } = await import('../stores/firestore.js');
      // Before the client exists: without credentials its first call fails late and leaves rejections behind.
      await checkGoogleCredentials(timeoutMs);
      const firestore = new sdk.Firestore({ projectId: spec.project });
      const store = new FirestoreStore({ firestore, timeoutMs, ...(spec.collection ? { collection: spec.collection } : {}) });
      return {
        store,
        spec,
        init: async () => 'firestore: nothing to create (collections appear with their first document)',
        close: () => settleWithin(firestore.terminate(), 1_000),
      };
    }
  }
}

/** The Redis client the CLI can load: ioredis where installed, else node-redis (`redis`). */
async function loadRedisClient(
  spec: Extract<StoreSpec, { scheme: 'redis' }>,
  timeoutMs: number,
): Promise<{ client: RedisClient; close: () => Promise<unknown> }> {
  const missing = (error: unknown) => ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes((error as { code?: string }).code ?? '');
  let ioredis: { Redis?: typeof import('ioredis').Redis } | undefined;
  try {
    ioredis = (await import('ioredis')) as { Redis?: typeof import('ioredis').Redis };
  } catch (error) {
    if (!missing(error)) throw error;
  }
  const Redis = ioredis?.Redis;
  if (Redis) {
    // Bounded connects and commands, one reconnect per command: a down or silent server does not hold the process.
    const client = new Redis(spec.url, { connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 1 });
    // A broken connection emits 'error'; without a listener ioredis prints it (the host, never the password) on its own.
    client.on('error', () => {});
    return { client, close: () => client.quit().catch(() => client.disconnect()) };
  }
  const nodeRedis = await load('ioredis or redis', 'redis', () => import('redis'));
  const client = nodeRedis.createClient({
    url: spec.url,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: (retries: number) => (retries > 2 ? false : 100) },
  });
  client.on('error', () => {});
  // Commands wait in the client's queue until it connects; the store's bound ends a call against a server that never answers.
  const connecting = client.connect().catch(() => {});
  return {
    client: client as unknown as RedisClient,
    close: async () => {
      await connecting;
      await (client.isOpen ? client.quit() : Promise.resolve()).catch(() => client.destroy());
    },
  };
}

async function openRedis(spec: Extract<StoreSpec, { scheme: 'redis' }>, timeoutMs: number): Promise<OpenedStore> {
  const { client, close } = await loadRedisClient(spec, timeoutMs);
  const { RedisStore } = await import('../stores/redis.js');
  const store = new RedisStore({ client, timeoutMs, ...(spec.prefix !== undefined ? { keyPrefix: spec.prefix } : {}) });
  return {
    store,
    spec,
    init: async () => 'redis: nothing to create (each lease is a hash, written with its first claim)',
    close: () => settleWithin(close(), 1_000),
  };
}
