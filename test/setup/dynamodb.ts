/**
 * Vitest global setup: DynamoDB Local, the real AWS engine, for the tests. Uses DYNAMODB_ENDPOINT when set;
 * otherwise fetches `DynamoDBLocal.jar` from the npm package `amplify-dynamodb-simulator` (`npm pack`, then
 * only its `package/emulator` folder is extracted into `.tmp/dynamodb-local/`, reused afterwards), runs it
 * with Java in memory on a free port of 127.0.0.1, and stops that process (by its pid) afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { TestProject } from 'vitest/node';
import { freePort } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

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

async function waitUntilReady(endpoint: string, child: ChildProcess, log: () => string): Promise<void> {
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
    await waitUntilReady(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

/** Provides `dynamodbEndpoint` to the tests: DYNAMODB_ENDPOINT, or a DynamoDB Local started here and stopped on teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DYNAMODB_ENDPOINT) {
    project.provide('dynamodbEndpoint', process.env.DYNAMODB_ENDPOINT);
    return async () => {};
  }
  const started = Date.now();
  const local = await startDynamoDBLocal();
  process.stderr.write(`[leasehold] DynamoDB Local at ${local.endpoint} (started in ${Date.now() - started} ms)\n`);
  project.provide('dynamodbEndpoint', local.endpoint);
  return local.stop;
}
