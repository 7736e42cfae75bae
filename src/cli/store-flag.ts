/**
 * The `--store` flag of `status`, `release`, `init` and `watch`: its line in their help, its value (or
 * `LEASEHOLD_STORE`), and the store it names, opened for one use and closed after it, its failures turned into the
 * CLI's errors (exit 69, the store shown masked).
 * @module
 */
import { usage } from './exit-codes.js';
import { storeFailure } from './lease-status.js';
import type { Write } from './output.js';
import { type OpenedStore, openStore, parseStoreUrl } from './store-url.js';

/** The `--store` line of the help of `status`, `release` and `init`. */
export const STORE_FLAG_HELP = `  --store <url>          The store (default: $LEASEHOLD_STORE): postgres://…, redis://…,
                         dynamodb://<table>?region=…, firestore://<project>/<collection>, memory: (this process only)`;

/** The store URL of a command: `--store`, else `LEASEHOLD_STORE`; a usage error (exit 64) when neither is given. */
export function storeUrl(value: string | undefined, env: NodeJS.ProcessEnv, command: string): string {
  const url = value ?? env.LEASEHOLD_STORE;
  if (url === undefined || url === '') throw usage(`leasehold ${command} needs --store <url> (or LEASEHOLD_STORE); see leasehold ${command} --help`);
  return url;
}

/**
 * Opens the store `url` names, hands it to `use` and closes it; a failure (opening or using it) becomes the CLI's
 * store error, saying `what` was not done. A `memory:` store gets a note on `note` (it holds nothing from other runs).
 */
export async function withStore<T>(url: string, what: string, use: (opened: OpenedStore) => Promise<T>, note: Write): Promise<T> {
  const spec = parseStoreUrl(url);
  if (spec.scheme === 'memory') note('leasehold: memory: is a store inside this one process; it holds nothing from other runs');
  let opened: OpenedStore | undefined;
  try {
    opened = await openStore(spec);
    return await use(opened);
  } catch (error) {
    throw storeFailure(error, spec, what);
  } finally {
    await opened?.close();
  }
}
