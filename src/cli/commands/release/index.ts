/**
 * `leasehold release`: an operator's release of a lease from a given holder (conditional on that holder, so it never
 * takes a lease from anyone else).
 * @module
 */
import { release } from '../../../lead.js';
import { holderArg, leaseNameArg, parseCommandArgs } from '../../args.js';
import { EXIT, usage } from '../../exit-codes.js';
import type { Write } from '../../output.js';
import { storeUrl, withStore } from '../../store-flag.js';

/** `leasehold release …`: returns the exit code. */
export async function releaseCommand(args: string[], env: NodeJS.ProcessEnv, stdout: Write, stderr: Write): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'release',
    args,
    { store: { type: 'string' }, holder: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (positionals.length !== 1) throw usage('leasehold release needs one lease name, e.g. leasehold release nightly-report --holder web-2:4711');
  const name = leaseNameArg(positionals[0]);
  if (values.holder === undefined) throw usage(`leasehold release needs --holder <id> (leasehold status ${name} shows the holder)`);
  const holder = holderArg(values.holder);
  const url = storeUrl(values.store, env, 'release');
  const released = await withStore(url, 'nothing was released', ({ store }) => release(store, { name, holder }), stderr);
  if (values.json) stdout(JSON.stringify({ name, holder, released }));
  else stdout(released ? `released ${name} (holder ${holder})` : `${name} was not held by ${holder}; nothing changed`);
  return released ? EXIT.OK : EXIT.NOT_HOLDER;
}
