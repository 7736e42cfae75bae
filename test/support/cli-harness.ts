/**
 * The `leasehold` CLI as cron runs it, for the supervision tests (test/cli/cli-supervision.test.ts): separate processes against a real PostgreSQL, each in
 * its own process group. The CLI is bundled once per test file from src/cli with esbuild (SDKs left external, so each
 * is still imported lazily from node_modules; the watchdog of `run` is an entry of its own, beside bin.js), which
 * starts in a fraction of tsx's time: processes fired together really contend.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { groupAlive, jsonLines, sleep, until } from './cli-process.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const databaseUrl = inject('databaseUrl');
export const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
export const store = new PostgresStore({ pool });

export interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}
export interface Running {
  child: ChildProcess;
  pid: number;
  done: Promise<Done>;
  stderr(): string;
}

/** One test file's CLI: its bundle in `.tmp/<label>-<pid>`, its processes, and their cleanup. */
export interface CliHarness {
  /** The scratch folder of this file (the bundle is in `bin/`). */
  work: string;
  /** The bundled `leasehold` executable. */
  bin: string;
  /** Starts `leasehold …` in its own process group (as cron would: its own session), against Postgres by default. */
  start(args: string[], env?: Record<string, string>): Running;
  /** Runs `leasehold …` to its end. */
  cli(args: string[], env?: Record<string, string>): Promise<Done>;
  /** A fresh lease name and a scratch directory for one test. */
  fresh(label: string): { name: string; dir: string; file: (f: string) => string };
  /** Processes (by process group) to kill when the file ends, if still alive. */
  started: Running[];
  /** Other process groups (a command's) to kill when the file ends, if still alive. */
  groups: number[];
}

/** Bundles the CLI before the file's tests (and migrates the table); kills what they left and cleans up after. */
export function cliHarness(label: string): CliHarness {
  const work = join(ROOT, '.tmp', `${label}-${process.pid}`);
  const bin = join(work, 'bin', 'bin.js');
  let seq = 0;
  const harness: CliHarness = {
    work,
    bin,
    started: [],
    groups: [],
    start(args, env = {}) {
      const begin = Date.now();
      const child = spawn(process.execPath, [bin, ...args], {
        cwd: work,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LEASEHOLD_STORE: databaseUrl, NODE_NO_WARNINGS: '1', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const done = new Promise<Done>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - begin })));
      return { child, pid: child.pid as number, done, stderr: () => stderr };
    },
    cli: (args, env = {}) => harness.start(args, env).done,
    fresh(name) {
      const lease = `cli-${name}-${process.pid}-${++seq}`;
      const dir = join(work, lease);
      mkdirSync(dir, { recursive: true });
      return { name: lease, dir, file: (f) => join(dir, f) };
    },
  };
  beforeAll(async () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    await build({
      entryPoints: [join(ROOT, 'src/cli/bin.ts'), join(ROOT, 'src/cli/watchdog.ts')],
      outdir: join(work, 'bin'),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
    });
    // The bundle reads the package's version two folders up, as dist/cli/ does.
    writeFileSync(join(work, 'package.json'), JSON.stringify({ version: 'test', type: 'module' }));
    await store.migrate();
  }, 60_000);
  afterAll(async () => {
    for (const r of harness.started) if (groupAlive(r.pid)) process.kill(-r.pid, 'SIGKILL');
    for (const g of harness.groups) if (groupAlive(g)) process.kill(-g, 'SIGKILL');
    await pool.end();
    rmSync(work, { recursive: true, force: true });
  });
  return harness;
}

export const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
export const lines = (file: string) => read(file).split('\n').filter(Boolean);
export { groupAlive, jsonLines as json, sleep, until };

/** A TCP proxy to Postgres that can be cut: from then on every connection is refused, as a store that is down. */
export async function startProxy(upstream: URL): Promise<{ url: string; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(up);
    client.pipe(up).pipe(client);
    for (const s of [client, up]) {
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        up.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = new URL(upstream.href);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.href,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
