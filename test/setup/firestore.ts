/**
 * Vitest global setup: Google's own Firestore emulator (the Cloud SDK's `cloud_firestore_emulator`, Java 11+) for
 * the tests. Uses FIRESTORE_EMULATOR_HOST when set; otherwise finds the emulator in the Cloud SDK
 * (`gcloud info --format='value(installation.sdk_root)'`, or FIRESTORE_EMULATOR_BIN), starts it on a free port of
 * 127.0.0.1 in its own process group, and stops that group (by its id) afterwards. Where the emulator is not
 * installed, the tests that need it are reported as skipped with the reason this setup prints; nothing else skips.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of Google's Firestore emulator, or `''` when it is not installed (then see {@link firestoreEmulatorSkip}). */
    firestoreEmulatorHost: string;
    /** Why the emulator is not available, for the skipped tests to report; `''` when it is. */
    firestoreEmulatorSkip: string;
  }
}

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
async function waitUntilReady(host: string, child: ChildProcess, log: () => string): Promise<void> {
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
  const group = child.pid;
  const stop = async () => {
    if (group === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-group, 'SIGTERM');
    } catch {
      return; // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilReady(host, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, stop };
}

/** Provides the emulator's host to the tests: FIRESTORE_EMULATOR_HOST, or one started here and stopped on teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.METADATA_SERVER_DETECTION ??= EMULATOR_ENV.METADATA_SERVER_DETECTION;
  if (process.env.FIRESTORE_EMULATOR_HOST) {
    project.provide('firestoreEmulatorHost', process.env.FIRESTORE_EMULATOR_HOST);
    project.provide('firestoreEmulatorSkip', '');
    return async () => {};
  }
  const found = findFirestoreEmulator();
  if ('missing' in found) {
    process.stderr.write(`[leasehold] Firestore emulator: SKIPPED (${found.missing}); the tests that need it are reported as skipped\n`);
    project.provide('firestoreEmulatorHost', '');
    project.provide('firestoreEmulatorSkip', found.missing);
    return async () => {};
  }
  const started = Date.now();
  const emulator = await startFirestoreEmulator(found.bin);
  process.stderr.write(`[leasehold] Firestore emulator (Google's) at ${emulator.host} (started in ${Date.now() - started} ms)\n`);
  project.provide('firestoreEmulatorHost', emulator.host);
  project.provide('firestoreEmulatorSkip', '');
  return emulator.stop;
}
