/**
 * `leasehold init`: creates what a store needs (the Postgres table, the DynamoDB table), if missing.
 * @module
 */
import { parseCommandArgs } from '../../args.js';
import { EXIT, usage } from '../../exit-codes.js';
import type { Write } from '../../output.js';
import { storeUrl, withStore } from '../../store-flag.js';
import { parseStoreUrl } from '../../store-url.js';

/** `leasehold init …`: returns the exit code. */
export async function initCommand(args: string[], env: NodeJS.ProcessEnv, stdout: Write, stderr: Write): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'init',
    args,
    { store: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (positionals.length > 0) throw usage(`leasehold init takes no names (got ${positionals.join(' ')}); see leasehold init --help`);
  const url = storeUrl(values.store, env, 'init');
  const message = await withStore(url, 'nothing was created', (opened) => opened.init(), stderr);
  stdout(values.json ? JSON.stringify({ store: parseStoreUrl(url).shown, message }) : message);
  return EXIT.OK;
}
