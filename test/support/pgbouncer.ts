/**
 * PgBouncer in transaction-pooling mode in front of a Postgres URL, on a free loopback port: what many managed
 * and self-hosted deployments put between serverless workers and the database. Debian ships 1.18, which does not
 * keep named prepared statements per client (1.21 added that), so a client's statements land on whichever server
 * connection serves each transaction. Runs as the `postgres` user when started as root; stopped by its pid.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './engines.js';

/** The pgbouncer binary, or `undefined` when it is not installed (Debian: `apt-get install -y pgbouncer`). */
export function findPgBouncer(): string | undefined {
  for (const path of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) if (existsSync(path)) return path;
  return undefined;
}

/** Starts PgBouncer (`pool_mode = transaction`, `poolSize` server connections) in front of `databaseUrl`. */
export async function startPgBouncer(databaseUrl: string, poolSize = 4): Promise<{ url: string; version: string; stop: () => Promise<void> }> {
  const bin = findPgBouncer();
  if (!bin) throw new Error('pgbouncer is not installed (Debian: apt-get install -y pgbouncer)');
  const target = new URL(databaseUrl);
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-pgbouncer-'));
  const port = await freePort();
  const user = decodeURIComponent(target.username || 'postgres');
  const database = target.pathname.slice(1) || 'postgres';
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database} user=${user}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let ids: { uid: number; gid: number } | undefined;
  if (asRoot) {
    // PgBouncer refuses to run as root.
    ids = {
      uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    };
    for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), ids.uid, ids.gid);
  }
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? 'PgBouncer';
  const child: ChildProcess = spawn(bin, [join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(child.pid, 'SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when it accepts a connection.
  const { Socket } = await import('node:net');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with code ${child.exitCode}: ${output}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not listen within 10 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`, version, stop };
}
