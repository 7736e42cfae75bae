/**
 * The CLI on Redis: `redis://` and `rediss://` store URLs (parsed, masked and refused as every store URL is), and
 * the real CLI as separate processes against the private redis-server, and against a second private one that
 * requires a password (`--requirepass`), whose password is never printed, right or wrong.
 * @module
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CliError, EXIT } from '../../src/cli/exit-codes.js';
import { storeHint } from '../../src/cli/store-hints.js';
import { parseStoreUrl } from '../../src/cli/store-url.js';
import { getLeader } from '../../src/lead.js';
import { RedisStore } from '../../src/stores/redis.js';
import { buildCli, type Done, groupAlive, jsonLines, ROOT, type Running, startCli } from '../support/cli-process.js';
import { startPrivateRedis } from '../support/engines.js';

const WORK = join(ROOT, '.tmp', `cli-redis-${process.pid}`);
const BIN = join(WORK, 'bin', 'bin.js');
const redisUrl = inject('redisUrl');
const PREFIX = `lh-cli-${process.pid}:`;
const storeUrl = `${redisUrl}?prefix=${PREFIX}`;
const io = new Redis(redisUrl);
const started: Running[] = [];
// @ : / ? # % in one password: only percent-encoded can a URL carry it.
const PASSWORD = `r3d@s:/?#%-${process.pid}Zq`;
let guarded: Awaited<ReturnType<typeof startPrivateRedis>> | undefined;

function start(args: string[], env: Record<string, string | undefined> = {}): Running {
  const running = startCli(BIN, args, { LEASEHOLD_STORE: undefined, ...env }, WORK);
  started.push(running);
  return running;
}
const cli = (args: string[], env: Record<string, string | undefined> = {}) => start(args, env).done;
const printed = (r: Done) => `${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  await buildCli(WORK);
  guarded = await startPrivateRedis(['--requirepass', PASSWORD]);
}, 60_000);
afterAll(async () => {
  for (const r of started) if (groupAlive(r.pid)) process.kill(-r.pid, 'SIGKILL');
  const keys = await io.keys(`{${PREFIX}*`);
  if (keys.length > 0) await io.del(...keys);
  io.disconnect();
  await guarded?.stop();
  rmSync(WORK, { recursive: true, force: true });
});

describe('redis store URLs', () => {
  it('redis:// and rediss:// with a user, a password, a database and ?prefix=: parsed, and shown with the password masked', () => {
    const spec = parseStoreUrl('redis://app:s3cret-pw@cache.internal:6380/2?prefix=jobs:');
    expect(spec).toMatchObject({ scheme: 'redis', url: 'redis://app:s3cret-pw@cache.internal:6380/2', prefix: 'jobs:' });
    expect(spec.shown).toBe('redis://app:****@cache.internal:6380/2?prefix=jobs:');
    expect(spec.scrub('ERR connecting with s3cret-pw')).not.toContain('s3cret-pw');
    const tls = parseStoreUrl(`rediss://:${encodeURIComponent('p@ss/w?rd')}@cache.example.com`);
    expect(tls).toMatchObject({ scheme: 'redis', url: 'rediss://:p%40ss%2Fw%3Frd@cache.example.com' });
    expect(tls.shown).toBe('rediss://:****@cache.example.com');
    expect(parseStoreUrl('redis://127.0.0.1')).toMatchObject({ scheme: 'redis', url: 'redis://127.0.0.1', shown: 'redis://127.0.0.1' });
  });

  it('refused with a usage error that says what to fix, never repeating a secret: a bad path, an unknown parameter, an unencoded password', () => {
    const refused = (value: string): CliError => {
      try {
        parseStoreUrl(value);
      } catch (error) {
        if (error instanceof CliError) return error;
        throw error;
      }
      throw new Error(`accepted ${value}`);
    };
    for (const [value, message] of [
      ['redis://u:topsecret1@host/keys', /the path is the database number/],
      ['redis://u:topsecret1@host?password=topsecret2', /unknown parameter "password"; known: prefix \(put a password in the URL/],
      ['redis://u:top#secret1@host', /cannot be read with certainty/],
      ['redis://u:top%zzsecret1@host', /malformed % escape/],
      ['redis://', /redis store URL must look like redis:\/\//],
    ] as const) {
      const error = refused(value);
      expect(error.exitCode, value).toBe(EXIT.USAGE);
      expect(error.message, value).toMatch(message);
      expect(error.message, value).not.toMatch(/topsecret|secret1|secret2/);
    }
  });

  it('a wrong password gets the hint that fits it, from the reply code', () => {
    const spec = parseStoreUrl('redis://u:pw@host');
    expect(storeHint(new Error('WRONGPASS invalid username-password pair or user is disabled.'), spec)).toMatch(/check the user and password/);
    expect(storeHint(new Error('NOAUTH Authentication required.'), spec)).toMatch(/check the user and password/);
    expect(storeHint(new Error('connect ECONNREFUSED'), spec)).toBeUndefined();
  });
});

describe('the real CLI on a real redis-server', () => {
  it('init, run (with the fencing token), status, a refused second run, release: text and --json', async () => {
    const env = { LEASEHOLD_STORE: storeUrl };
    const init = await cli(['init'], env);
    expect(init.code, printed(init)).toBe(0);
    expect(init.stdout).toContain('redis: nothing to create');
    const marker = join(WORK, 'ran');
    const ran = await cli(['run', '--name', 'cli-job', '--ttl', '5s', '--holder', 'h-1', '--', 'sh', '-c', `echo $LEASEHOLD_FENCING_TOKEN > ${marker}`], env);
    expect(ran.code, printed(ran)).toBe(0);
    expect(readFileSync(marker, 'utf8').trim()).toBe('1');
    const held = start(['run', '--name', 'cli-job', '--ttl', '10s', '--holder', 'h-2', '--', 'sleep', '30'], env);
    const store = new RedisStore({ client: io, keyPrefix: PREFIX });
    const deadline = Date.now() + 15_000;
    while ((await getLeader(store, 'cli-job'))?.holder !== 'h-2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const status = await cli(['status', 'cli-job', '--json'], env);
    expect(jsonLines(status.stdout)[0]).toMatchObject({ name: 'cli-job', state: 'held', holder: 'h-2', token: 2 });
    const refused = await cli(['run', '--name', 'cli-job', '--ttl', '5s', '--', 'true'], env);
    expect(refused.code, printed(refused)).toBe(EXIT.HELD);
    const released = await cli(['release', 'cli-job', '--holder', 'h-2'], env);
    expect(released.code, printed(released)).toBe(0);
    process.kill(-held.pid, 'SIGKILL');
    await held.done;
    expect(await getLeader(store, 'cli-job')).toBeNull();
    // The token survived the release in the hash: the next term's is larger.
    const again = await cli(['run', '--name', 'cli-job', '--ttl', '5s', '--holder', 'h-3', '--', 'sh', '-c', `echo $LEASEHOLD_FENCING_TOKEN > ${marker}`], env);
    expect(again.code, printed(again)).toBe(0);
    expect(readFileSync(marker, 'utf8').trim()).toBe('3');
  });

  it('a server with a password: the right one (percent-encoded) works; a wrong one is a store outage (69) with the fitting hint; neither is ever printed', async () => {
    const port = guarded?.port;
    const good = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}?prefix=${PREFIX}`;
    const bad = `redis://:wrong-${process.pid}-pw@127.0.0.1:${port}`;
    const outputs: Done[] = [];
    const ok = await cli(['run', '--json', '--name', 'pw-job', '--ttl', '5s', '--', 'true'], { LEASEHOLD_STORE: good });
    outputs.push(ok);
    expect(ok.code, printed(ok)).toBe(0);
    const status = await cli(['status', 'pw-job', '--json'], { LEASEHOLD_STORE: good });
    outputs.push(status);
    expect(jsonLines(status.stdout)[0]).toMatchObject({ name: 'pw-job', state: 'free' });
    const init = await cli(['init', '--json'], { LEASEHOLD_STORE: good });
    outputs.push(init);
    expect(JSON.parse(init.stdout)).toMatchObject({ store: `redis://:****@127.0.0.1:${port}?prefix=${PREFIX}` });
    const wrong = await cli(['run', '--name', 'pw-job', '--ttl', '5s', '--', 'true'], { LEASEHOLD_STORE: bad });
    outputs.push(wrong);
    expect(wrong.code, printed(wrong)).toBe(EXIT.STORE_UNAVAILABLE);
    expect(wrong.stderr).toContain(`cannot use the store redis://:****@127.0.0.1:${port}`);
    expect(wrong.stderr).toMatch(/check the user and password/);
    for (const r of outputs) {
      for (const piece of [PASSWORD, encodeURIComponent(PASSWORD), `${process.pid}Zq`, `wrong-${process.pid}-pw`]) expect(printed(r)).not.toContain(piece);
    }
  });

  it('an unreachable server: exit 69 within the bound, the command not run', async () => {
    const marker = join(WORK, 'down-ran');
    const down = await cli(['run', '--name', 'down-job', '--ttl', '5s', '--', 'sh', '-c', `touch ${marker}`], {
      LEASEHOLD_STORE: 'redis://:hunter2pw@127.0.0.1:1',
    });
    expect(down.code, printed(down)).toBe(EXIT.STORE_UNAVAILABLE);
    expect(down.stderr).toContain('cannot use the store redis://:****@127.0.0.1:1');
    expect(down.stderr).toContain('the command was not run');
    expect(printed(down)).not.toContain('hunter2pw');
    expect(down.ms).toBeLessThan(10_000);
  });
});
