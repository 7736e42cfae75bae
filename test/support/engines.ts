/**
 * The engine launchers the tests, the benchmarks and the scripts share: a throwaway PostgreSQL cluster, DynamoDB Local,
 * Google's Firestore emulator and a private redis-server (or a Redis Cluster), each on a free port of 127.0.0.1 and
 * each with a stop function. The vitest global setups (test/setup/) are thin wrappers over these that provide the
 * engines' addresses to the tests; `bench/` and `scripts/` start their own engines with them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

// --- PostgreSQL: a throwaway cluster from the machine's binaries (initdb into a temp dir, trust auth, fsync off) ---

/** The folder of the machine's PostgreSQL binaries (`pg_config --bindir`, else the newest under /usr/lib/postgresql). */
export function findPostgresBin(): string {
  const fromConfig = (() => {
    try {
      return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (fromConfig && existsSync(join(fromConfig, 'initdb'))) return fromConfig;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error('No PostgreSQL binaries found (initdb). Install them (Debian: apt-get install -y postgresql) or set DATABASE_URL.');
}

/** A TCP port of 127.0.0.1 that was free a moment ago (the OS picked it), for an engine to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts a throwaway cluster; returns its URL, a stop function and a restart (a fast shutdown, as an operator's). */
export async function startThrowawayPostgres(): Promise<{ url: string; stop: () => void; restart: () => void }> {
  const bin = findPostgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-pg-'));
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // PostgreSQL refuses to run as root: run it as the postgres user, in a directory that user owns.
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, cmd), args, { stdio: 'pipe' });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    '-w',
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    // A fast shutdown terminates every session ("terminating connection due to administrator command"), then starts again.
    restart: () => {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      run('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
        '-w',
        'start',
      ]);
    },
    stop: () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

// --- DynamoDB Local: `DynamoDBLocal.jar` from the npm package amplify-dynamodb-simulator, run with Java in memory ---

const PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
const CACHE = fileURLToPath(new URL('../../.tmp/dynamodb-local/', import.meta.url));
const EMULATOR = join(CACHE, 'emulator');

/** Returns the folder holding `DynamoDBLocal.jar`, fetching it from the npm registry the first time. */
export function ensureDynamoDBLocal(): string {
  if (existsSync(join(EMULATOR, 'DynamoDBLocal.jar'))) return EMULATOR;
  mkdirSync(CACHE, { recursive: true });
  // Work in a private folder and rename at the end, so two test runs starting at once do not trip over each other.
  const work = mkdtempSync(join(CACHE, 'fetch-'));
  try {
    const tarball =
      execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', work], { encoding: 'utf8', cwd: work }).trim().split('\n').pop() ?? '';
    execFileSync('tar', ['xzf', join(work, tarball), '-C', work, 'package/emulator'], { stdio: 'pipe' });
    try {
      renameSync(join(work, 'package', 'emulator'), EMULATOR);
    } catch (error) {
      if (!existsSync(join(EMULATOR, 'DynamoDBLocal.jar'))) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return EMULATOR;
}

/** A client for DynamoDB Local (any credentials are accepted). */
export function localClient(endpoint: string, extra: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, ...extra });
}

async function waitUntilDynamoDBReady(endpoint: string, child: ChildProcess, log: () => string): Promise<void> {
  const client = localClient(endpoint, { maxAttempts: 1 });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}:\n${log()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within 60 s: ${String(error)}\n${log()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    client.destroy();
  }
}

/** Starts DynamoDB Local in memory on a free port; returns its endpoint and a stop function. */
export async function startDynamoDBLocal(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  try {
    execFileSync('java', ['-version'], { stdio: 'pipe' });
  } catch {
    throw new Error('DynamoDB Local needs Java (Debian: apt-get install -y default-jre-headless), or set DYNAMODB_ENDPOINT to a running engine.');
  }
  const dir = ensureDynamoDBLocal();
  const port = await freePort();
  const child = spawn('java', ['-Djava.library.path=./DynamoDBLocal_lib', '-jar', 'DynamoDBLocal.jar', '-inMemory', '-sharedDb', '-port', String(port)], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopEngine(child, child.pid);
  try {
    await waitUntilDynamoDBReady(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

// --- Google's Firestore emulator (the Cloud SDK's cloud_firestore_emulator, Java 11+), in its own process group ---

/** The environment the emulator and its clients need: no metadata-server probe (there is none offline). */
export const EMULATOR_ENV = { METADATA_SERVER_DETECTION: 'none' } as const;

/** The emulator's launcher: FIRESTORE_EMULATOR_BIN, or the one in the Cloud SDK; an explanation when neither exists. */
export function findFirestoreEmulator(): { bin: string } | { missing: string } {
  const fromEnv = process.env.FIRESTORE_EMULATOR_BIN;
  if (fromEnv) return existsSync(fromEnv) ? { bin: fromEnv } : { missing: `FIRESTORE_EMULATOR_BIN=${fromEnv} does not exist` };
  let sdkRoot: string;
  try {
    sdkRoot = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return {
      missing:
        "Google's Firestore emulator is not installed: no gcloud on the PATH (Debian: the Cloud SDK's google-cloud-cli-firestore-emulator package), and neither FIRESTORE_EMULATOR_HOST nor FIRESTORE_EMULATOR_BIN is set",
    };
  }
  const bin = join(sdkRoot, 'platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator');
  if (!existsSync(bin)) {
    return {
      missing: `Google's Firestore emulator is not installed: ${bin} is missing (Debian: apt-get install google-cloud-cli-firestore-emulator from Google's Cloud SDK repository), and FIRESTORE_EMULATOR_HOST is not set`,
    };
  }
  try {
    execFileSync('java', ['-version'], { stdio: 'pipe' });
  } catch {
    return { missing: "Google's Firestore emulator needs Java 11 or later (Debian: apt-get install -y default-jre-headless)" };
  }
  return { bin };
}

/** Waits for the emulator's "Dev App Server is now running", then for its HTTP endpoint to answer. */
async function waitUntilFirestoreReady(host: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Firestore emulator exited with code ${child.exitCode}:\n${log()}`);
    if (log().includes('Dev App Server is now running')) {
      try {
        if ((await fetch(`http://${host}/`)).ok) return;
      } catch {
        // not yet
      }
    }
    if (Date.now() > deadline) throw new Error(`the Firestore emulator did not start within 60 s:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts the emulator on a free port of 127.0.0.1; returns its `host:port` and a stop function. */
export async function startFirestoreEmulator(bin: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  // The launcher is a shell script that runs Java as its child: a process group of its own lets the stop reach both.
  const child = spawn(bin, ['start', '--host=127.0.0.1', `--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...EMULATOR_ENV },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  // The emulator's launcher starts a JVM: stop the whole process group.
  const stop = () => stopEngine(child, child.pid === undefined ? undefined : -child.pid);
  try {
    await waitUntilFirestoreReady(host, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, stop };
}

// --- Redis: a private redis-server (no persistence), or a Redis Cluster of three ---

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
async function waitUntilRedisReady(port: number, child: ChildProcess, log: () => string): Promise<void> {
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
  const stop = () => stopEngine(child, child.pid);
  try {
    await waitUntilRedisReady(port, child, () => output);
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

/**
 * Stops an engine this module started, by its pid (or its process group, as a negative pid): SIGTERM, then SIGKILL
 * if it has not exited 5 s later. Resolves once it has exited; an engine already gone is fine.
 */
async function stopEngine(child: ChildProcess, target: number | undefined): Promise<void> {
  if (target === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals): boolean => {
    try {
      process.kill(target, name);
      return true;
    } catch {
      return false; // already gone
    }
  };
  if (!signal('SIGTERM')) return;
  const timer = setTimeout(() => {
    if (child.exitCode === null) signal('SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
