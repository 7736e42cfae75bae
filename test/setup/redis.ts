/**
 * Vitest global setup: a real Redis for the tests. Uses LEASEHOLD_TEST_REDIS_URL when set (a name of its own, so a REDIS_URL meant for something else is never used); otherwise starts a private
 * `redis-server` from the machine's binary (Debian: apt-get install -y redis-server) on a free port of 127.0.0.1,
 * with no persistence (`--save ''`, `--appendonly no`), and stops that process (by its pid) afterwards. The
 * machine's own Redis (6379) is never used.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** The machine's `redis-server`, or an error that says how to get one. */
export function findRedisServer(): string {
  for (const bin of [process.env.REDIS_SERVER_BIN, 'redis-server', '/usr/bin/redis-server', 'valkey-server']) {
    if (!bin) continue;
    try {
      execFileSync(bin, ['--version'], { stdio: 'pipe' });
      return bin;
    } catch {}
  }
  throw new Error('No redis-server found. Install it (Debian: apt-get install -y redis-server), or set LEASEHOLD_TEST_REDIS_URL to a running server.');
}

/** Resolves once `port` answers PING (PONG, or NOAUTH when a password is required). */
async function waitUntilReady(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(1_000, () => socket.destroy());
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk: Buffer) => {
        // A server started with --requirepass answers NOAUTH: it is up all the same.
        resolve(/^(\+PONG|-NOAUTH)/.test(chunk.toString()));
        socket.destroy();
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer within 20 s:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a private redis-server (no persistence) on a free port; returns its URL and a stop function. */
export async function startPrivateRedis(extraArgs: string[] = []): Promise<{ url: string; port: number; pid: number; stop: () => Promise<void> }> {
  const bin = findRedisServer();
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilReady(port, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid as number, stop };
}

/**
 * A private Redis Cluster of three masters (no replicas, no persistence) on free ports, for the cluster cases: each
 * node a redis-server started here, joined with `redis-cli --cluster create`. Returns the nodes' URLs and a stop.
 */
export async function startPrivateRedisCluster(): Promise<{ urls: string[]; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-redis-cluster-'));
  const nodes: Awaited<ReturnType<typeof startPrivateRedis>>[] = [];
  const stop = async () => {
    for (const node of nodes) await node.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await startPrivateRedis(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--cluster-node-timeout', '5000']),
      );
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      stdio: 'pipe',
      timeout: 30_000,
    });
    // Until every node agrees that all 16 384 slots are served.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = nodes.every((n) => /cluster_state:ok/.test(execFileSync('redis-cli', ['-p', String(n.port), 'CLUSTER', 'INFO'], { encoding: 'utf8' })));
      if (ok) break;
      if (Date.now() > deadline) throw new Error('the private Redis Cluster did not reach cluster_state:ok within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: nodes.map((n) => n.url), stop };
}

/** Provides `redisUrl` to the tests: LEASEHOLD_TEST_REDIS_URL, or a private redis-server started here and stopped on teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.LEASEHOLD_TEST_REDIS_URL) {
    project.provide('redisUrl', process.env.LEASEHOLD_TEST_REDIS_URL);
    return async () => {};
  }
  const started = Date.now();
  const redis = await startPrivateRedis();
  process.stderr.write(`[leasehold] private redis-server at ${redis.url} (started in ${Date.now() - started} ms)\n`);
  project.provide('redisUrl', redis.url);
  return redis.stop;
}
