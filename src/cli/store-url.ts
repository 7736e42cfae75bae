/**
 * Store URLs: `postgres://…` (or `postgresql://`), `dynamodb://<table>?region=…&endpoint=…`,
 * `firestore://<project>/<collection>` and `memory:`. Each SDK is imported only when its scheme is used, so a
 * Postgres user needs no AWS SDK; credentials come from each SDK's usual environment and are never printed
 * (a password in a URL is masked wherever the URL is shown).
 * @module
 */
import type { Store } from '../store.js';
import { CliError, EXIT, usage } from './exit-codes.js';

/** What a store URL names, parsed and checked before any SDK is loaded. */
export type StoreSpec =
  | { scheme: 'postgres'; connectionString: string; table?: string; schema?: string; shown: string }
  | { scheme: 'dynamodb'; table: string; region?: string; endpoint?: string; shown: string }
  | { scheme: 'firestore'; project: string; collection?: string; shown: string }
  | { scheme: 'memory'; shown: string };

/** A store opened from a URL; `close()` ends its pool or client so the process can exit. */
export interface OpenedStore {
  store: Store;
  spec: StoreSpec;
  /** Creates the table (Postgres, DynamoDB); returns what it did. */
  init(): Promise<string>;
  close(): Promise<void>;
}

const SCHEMES = 'postgres://user@host:5432/db, dynamodb://<table>?region=<region>, firestore://<project>/<collection> or memory:';

/** Replaces a URL's password (and any `password=` parameter) with `****`. */
export function maskUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1****@').replace(/([?&]password=)[^&#]*/gi, '$1****');
}

function params(query: string, allowed: string[], scheme: string): URLSearchParams {
  const search = new URLSearchParams(query);
  for (const key of search.keys()) {
    if (!allowed.includes(key)) {
      throw usage(`${scheme} store URL: unknown parameter ${JSON.stringify(key)} (known: ${allowed.join(', ') || 'none'})`);
    }
  }
  return search;
}

/** Parses a store URL; throws a usage error (exit 64) naming the schemes it knows. */
export function parseStoreUrl(url: string): StoreSpec {
  const shown = maskUrl(url);
  if (url === 'memory:' || url === 'memory://') return { scheme: 'memory', shown: 'memory:' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    // table and schema are leasehold's own; everything else (sslmode, …) is left to pg.
    const queryAt = url.indexOf('?');
    if (queryAt < 0) return { scheme: 'postgres', connectionString: url, shown };
    const search = new URLSearchParams(url.slice(queryAt + 1));
    const table = search.get('table') ?? undefined;
    const schema = search.get('schema') ?? undefined;
    search.delete('table');
    search.delete('schema');
    const rest = search.toString();
    return {
      scheme: 'postgres',
      connectionString: url.slice(0, queryAt) + (rest ? `?${rest}` : ''),
      ...(table !== undefined ? { table } : {}),
      ...(schema !== undefined ? { schema } : {}),
      shown,
    };
  }
  if (scheme === 'dynamodb') {
    const m = /^dynamodb:\/\/([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(url);
    if (!m?.[1])
      throw usage(`dynamodb store URL must look like dynamodb://<table>?region=us-east-1 (optionally &endpoint=http://127.0.0.1:8000); got ${shown}`);
    const search = params(m[2] ?? '', ['region', 'endpoint'], 'dynamodb');
    const region = search.get('region') ?? undefined;
    const endpoint = search.get('endpoint') ?? undefined;
    if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
      throw usage(`dynamodb store URL: endpoint must be an http(s) URL; got ${JSON.stringify(endpoint)}`);
    return { scheme: 'dynamodb', table: decodeURIComponent(m[1]), ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}), shown };
  }
  if (scheme === 'firestore') {
    const m = /^firestore:\/\/([^/?#]+)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(url);
    if (!m?.[1]) throw usage(`firestore store URL must look like firestore://<project>/<collection>; got ${shown}`);
    params(m[3] ?? '', [], 'firestore');
    const collection = m[2]?.replace(/\/+$/, '');
    return { scheme: 'firestore', project: m[1], ...(collection ? { collection } : {}), shown };
  }
  throw usage(
    scheme === undefined
      ? `--store must be a store URL (${SCHEMES}); got ${JSON.stringify(shown)}`
      : `unknown store scheme ${JSON.stringify(`${scheme}:`)}; use ${SCHEMES}`,
  );
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
export async function openStore(spec: StoreSpec, timeoutMs = 5_000): Promise<OpenedStore> {
  switch (spec.scheme) {
    case 'memory': {
      const { MemoryStore } = await import('../stores/memory.js');
      return { store: new MemoryStore(), spec, init: async () => 'memory: nothing to create (the store lives in this process only)', close: async () => {} };
    }
    case 'postgres': {
      const pg = await load('pg', 'postgres', () => import('pg'));
      const { PostgresStore } = await import('../stores/postgres.js');
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
    case 'dynamodb': {
      const sdk = await load('@aws-sdk/client-dynamodb', 'dynamodb', () => import('@aws-sdk/client-dynamodb'));
      const { DynamoDBStore } = await import('../stores/dynamodb.js');
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
