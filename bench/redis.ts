/**
 * `npm run bench:redis` (and the end of `npm run bench`): what the Redis store costs beside a raw Lua script doing the
 * same server work on the same connection (read the record's hash, `TIME`, write it, return it), per client (ioredis,
 * node-redis), for a renewal and a refused claim, each a two-case A/B (interleaved, rotating order, after warm-up);
 * then beside the bare `GET == holder → PEXPIRE` script most Redis locks renew with, and beside node-redlock and
 * redis-semaphore (acquire + release), in the same run. Starts a private redis-server on loopback (no persistence);
 * waits (up to 10 minutes) for the 1-minute load average to fall below 1.5 first, so neighbours do not skew the
 * ratios. Writes its section of BENCHMARKS.md (between the `redis-bench` markers; appended when absent).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { Mutex } from 'redis-semaphore';
import type { RedisClient } from '../src/stores/redis.js';
import { startPrivateRedis } from '../test/support/engines.js';
import { type Case, compare, type Measured, ratios, requests } from './measure.js';

// The built package (dist/), as users import it; typed by the sources.
const dist = (path: string) => import(new URL(`../dist/${path}`, import.meta.url).href);
const { release, tryLead } = (await dist('index.js')) as typeof import('../src/index.js');
const { RedisStore } = (await dist('stores/redis.js')) as typeof import('../src/stores/redis.js');

/** node-redlock 4 (CommonJS, untyped): the part the bench uses. */
interface RedlockLike {
  lock(resource: string, ttlMs: number): Promise<{ unlock(): Promise<unknown> }>;
  on(event: 'clientError', listener: (error: unknown) => void): void;
}
const Redlock = createRequire(import.meta.url)('redlock') as new (clients: unknown[], options: { retryCount: number; driftFactor: number }) => RedlockLike;

const SCALE = Number(process.env.BENCH_ROUNDS ?? 1);
const say = (line: string) => process.stdout.write(`${line}\n`);
/** The A/B target: leasehold's p50 ÷ the raw script's, for a renewal and a refused claim. */
const TARGET = 1.3;
const START = '<!-- redis-bench:start -->';
const END = '<!-- redis-bench:end -->';

/** The raw renewal: the same server work as the store's claim of a live lease of its own (read, TIME, write, return). */
const RAW_RENEW = `local r = redis.call('HGETALL', KEYS[1])
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
redis.call('HSET', KEYS[1], 'h', ARGV[1], 't', r[4], 'a', r[6], 'e', now + ARGV[2] * 1000, 'v', ARGV[3])
return {1, ARGV[1], r[4], r[6], now + ARGV[2] * 1000, ARGV[3], false, now}`;
/** The raw refusal: read, TIME, return (no write), as the store's claim of another holder's live lease. */
const RAW_REFUSED = `local r = redis.call('HGETALL', KEYS[1])
local t = redis.call('TIME')
return {0, r[2], r[4], r[6], r[8], r[10], false, t[1] * 1000000 + t[2]}`;
/** What most Redis locks renew with: GET == holder → PEXPIRE (no fencing token, no record, no server clock read). */
const BARE_RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

async function waitForQuietMachine(): Promise<string> {
  // BENCH_WAIT_MS: how long to wait for a quiet machine (default 10 minutes; 0 measures at once, for a rough look).
  const deadline = Date.now() + Number(process.env.BENCH_WAIT_MS ?? 10 * 60_000);
  for (;;) {
    const [one = 0] = loadavg();
    if (one < 1.5) return `load average ${one.toFixed(2)} at the start`;
    if (Date.now() >= deadline) return `load average ${one.toFixed(2)}, above 1.5 (figures may be skewed)`;
    say(`  load average ${one.toFixed(2)} ≥ 1.5: waiting…`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

/** Counts every command an ioredis client sends (each its own request on the one connection). */
function countIoredis(client: Redis): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    requests.n++;
    return send(...args);
  }) as Redis['sendCommand'];
}

function table(rows: Measured[]): string {
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
  return [
    '| case | vs | p50 ÷ floor p50 | p99 ÷ floor p99 | requests / call | CPU / call ÷ floor |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...ratios(rows).map(
      (r) => `| ${r.label} | ${r.floor === r.label ? '(floor)' : r.floor} | ${fmt(r.r50)} | ${fmt(r.r99)} | ${r.requests.toFixed(2)} | ${fmt(r.rcpu)} |`,
    ),
  ].join('\n');
}

/** Runs the Redis bench; returns its Markdown section (also written into BENCHMARKS.md). */
export async function benchRedis(): Promise<string> {
  const began = performance.now();
  say('\nRedis: waiting for a quiet machine, then starting a private redis-server (loopback, no persistence)…');
  const quiet = await waitForQuietMachine();
  const measuring = performance.now();
  const server = await startPrivateRedis();
  const io = new Redis(server.url);
  const nodeRedis = await createClient({ url: server.url }).connect();
  countIoredis(io);
  const countedNode = {
    sendCommand: (args: string[]) => {
      requests.n++;
      return nodeRedis.sendCommand(args);
    },
  };
  const serverVersion = /redis_version:(\S+)/.exec(await io.info('server'))?.[1] ?? '?';
  const sections: { title: string; intro: string; rows: Measured[] }[] = [];
  const verdicts: { what: string; ratio: number }[] = [];
  const memory: number[] = [];
  try {
    const [renewSha, refusedSha, bareSha] = (await Promise.all([RAW_RENEW, RAW_REFUSED, BARE_RENEW].map((s) => io.script('LOAD', s) as Promise<string>))) as [
      string,
      string,
      string,
    ];
    const rounds = Math.round(20_000 * SCALE);
    const warmup = 2_000;
    for (const [clientName, client, raw] of [
      ['ioredis', io, (sha: string, key: string, ...args: string[]) => io.evalsha(sha, 1, key, ...args)],
      ['node-redis', countedNode, (sha: string, key: string, ...args: string[]) => countedNode.sendCommand(['EVALSHA', sha, '1', key, ...args])],
    ] as const) {
      const store = new RedisStore({ client: client as RedisClient, keyPrefix: 'bench:' });
      const mine = `renew-${clientName}`;
      const theirs = `refused-${clientName}`;
      const leader = await tryLead(store, { name: mine, holder: 'me', ttlMs: 600_000 });
      const held = await tryLead(store, { name: theirs, holder: 'other', ttlMs: 600_000 });
      if (!leader.isLeader || !held.isLeader) throw new Error('bench: the setup claims did not lead');
      if ((await tryLead(store, { name: theirs, holder: 'me', ttlMs: 600_000 })).isLeader) throw new Error('bench: the refused case leads');
      memory.push(Number(await io.call('MEMORY', 'USAGE', store.keyOf(mine))));
      // The raw scripts' own keys, shaped as the store's hashes (the raw script reads and writes the same fields).
      const rawMine = `{bench-raw:${mine}}`;
      const rawTheirs = `{bench-raw:${theirs}}`;
      await io.hset(rawMine, { h: 'me', t: '1', a: '1', e: '1', v: 'x' });
      await io.hset(rawTheirs, { h: 'other', t: '1', a: '1', e: '1', v: 'x' });
      const renew: Case[] = [
        { label: `raw Lua renewal (${clientName})`, kind: 'floor', run: (i) => raw(renewSha, rawMine, 'me', '600000', `v${i}`) },
        { label: `leasehold renew (${clientName})`, kind: 'leasehold', run: () => tryLead(store, { name: mine, holder: 'me', ttlMs: 600_000 }) },
      ];
      const refused: Case[] = [
        { label: `raw Lua refusal (${clientName})`, kind: 'floor', run: () => raw(refusedSha, rawTheirs, 'me', '600000', 'v') },
        { label: `leasehold refused (${clientName})`, kind: 'leasehold', run: () => tryLead(store, { name: theirs, holder: 'me', ttlMs: 600_000 }) },
      ];
      for (const [title, cases] of [
        [`Redis renewal, ${clientName}`, renew],
        [`Redis refused claim, ${clientName}`, refused],
      ] as const) {
        const rows = await compare(title, rounds, warmup, cases);
        const [floor, ours] = ratios(rows);
        if (floor && ours) verdicts.push({ what: `${title} (p50 ÷ raw Lua p50)`, ratio: ours.r50 });
        sections.push({ title, intro: '', rows });
      }
    }

    // References: the bare renewal script, and the peers' acquire + release, beside leasehold's.
    const store = new RedisStore({ client: io, keyPrefix: 'bench:' });
    await io.set('bench-bare', 'me');
    const redlock = new Redlock([io], { retryCount: 0, driftFactor: 0.01 });
    redlock.on('clientError', () => {});
    const refRounds = Math.round(5_000 * SCALE);
    const references: Case[] = [
      { label: 'bare GET == holder → PEXPIRE script', kind: 'floor', run: () => io.evalsha(bareSha, 1, 'bench-bare', 'me', '600000') },
      { label: 'leasehold renew (ioredis)', kind: 'leasehold', run: () => tryLead(store, { name: 'renew-ioredis', holder: 'me', ttlMs: 600_000 }) },
      {
        label: 'leasehold acquire + release (ioredis)',
        kind: 'leasehold',
        run: async () => {
          await tryLead(store, { name: 'ref-acquire', holder: 'me', ttlMs: 10_000 });
          await release(store, { name: 'ref-acquire', holder: 'me' });
        },
      },
      {
        label: 'node-redlock 4 lock + unlock (one server)',
        kind: 'peer',
        run: async () => {
          const lock = await redlock.lock('bench-redlock', 10_000);
          await lock.unlock();
        },
      },
      {
        label: 'redis-semaphore Mutex acquire + release',
        kind: 'peer',
        run: async () => {
          const mutex = new Mutex(io, 'bench-semaphore', { lockTimeout: 10_000, acquireAttemptsLimit: 1, refreshInterval: 0 });
          if (!(await mutex.tryAcquire())) throw new Error('bench: redis-semaphore did not acquire');
          await mutex.release();
        },
      },
    ];
    sections.push({
      title: 'Redis: beside the bare renewal script and the peers',
      intro: '',
      rows: await compare('Redis references (ioredis, one connection)', refRounds, 500, references),
    });
  } finally {
    io.disconnect();
    await nodeRedis.quit();
    await server.stop();
  }

  const pkg = (name: string) => {
    try {
      return `${name} ${(JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version}`;
    } catch {
      return name;
    }
  };
  const missed = verdicts.filter((v) => !(v.ratio <= TARGET));
  const section = `${START}
## Redis

Generated by \`npm run bench:redis\` (also run at the end of \`npm run bench\`), ${new Date().toISOString().slice(0, 10)}: redis-server ${serverVersion}
(private, loopback, no persistence), ${['ioredis', 'redis', 'redlock', 'redis-semaphore'].map(pkg).join(', ')}; ${quiet} (after
waiting ${((measuring - began) / 1000).toFixed(0)} s for it to fall); measured in ${((performance.now() - measuring) / 1000).toFixed(0)} s. Each A/B is two cases on one connection, interleaved (one call of each per round,
rotating order) after warm-up rounds; the floor is a raw Lua script (\`EVALSHA\`, loaded beforehand) doing the same
server work as the store's script: read the record's hash, \`TIME\`, write it (a renewal) or not (a refusal), return it.
CPU is this process's (the client's); the server's is not counted.

| target | ratio | target | |
| --- | ---: | ---: | --- |
${verdicts.map((v) => `| ${v.what} | ${v.ratio.toFixed(2)} | ≤ ${TARGET} | ${v.ratio <= TARGET ? 'met' : '**missed**'} |`).join('\n')}

${missed.length ? `Missed in this run: ${missed.map((m) => m.what).join('; ')}.` : 'Every Redis target was met in this run.'}

${sections.map((s) => `### ${s.title}\n\n${table(s.rows)}\n`).join('\n')}
The last table's floor is the bare renewal most Redis locks use: one \`GET\` and one \`PEXPIRE\`, no record, no fencing
token, no server clock read. What leasehold adds beside it is its fixed cost per call (the write version, the call's
bound, the result and its validity) and the store's record (a hash of six fields, stamped by \`TIME\`). The peers'
rows are an acquire and a release (two round trips each), as is leasehold's acquire + release row: it costs more than
the peers' (each of its two calls runs the script that reads and writes the record and returns all of it, and the
core's bookkeeping of validity, versions and results), for what theirs lack: a fencing token, the holder's record,
expiry on the server's clock and a validity the caller can re-check.

Memory per lease name: ${memory.map((m) => `${m} bytes`).join(' / ')} (\`MEMORY USAGE\` of a held lease's hash with a
short name and the default-length version, ioredis / node-redis runs), plus the \`data\` stored; the hash is kept for good
(its fencing token must outlive the lease), so this is per name ever used.
${END}`;
  const file = 'BENCHMARKS.md';
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next = start >= 0 && end > start ? `${text.slice(0, start)}${section}${text.slice(end + END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
  say('\nRedis summary');
  for (const v of verdicts) say(`  ${v.what.padEnd(62)} ×${v.ratio.toFixed(2)}  (target ≤ ${TARGET}: ${v.ratio <= TARGET ? 'met' : 'MISSED'})`);
  say('wrote the Redis section of BENCHMARKS.md');
  return section;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  benchRedis().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`bench:redis failed: ${(error as Error).stack ?? error}\n`);
      process.exit(1);
    },
  );
}
