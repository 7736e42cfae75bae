/**
 * Vitest global setup: Google's own Firestore emulator (the Cloud SDK's `cloud_firestore_emulator`, Java 11+) for
 * the tests. Uses FIRESTORE_EMULATOR_HOST when set; otherwise finds the emulator in the Cloud SDK
 * (`gcloud info --format='value(installation.sdk_root)'`, or FIRESTORE_EMULATOR_BIN), starts it on a free port of
 * 127.0.0.1 in its own process group, and stops that group (by its id) afterwards. Where the emulator is not
 * installed, the tests that need it are reported as skipped with the reason this setup prints; nothing else skips.
 */
import type { TestProject } from 'vitest/node';
import { EMULATOR_ENV, findFirestoreEmulator, startFirestoreEmulator } from '../support/engines.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of Google's Firestore emulator, or `''` when it is not installed (then see {@link firestoreEmulatorSkip}). */
    firestoreEmulatorHost: string;
    /** Why the emulator is not available, for the skipped tests to report; `''` when it is. */
    firestoreEmulatorSkip: string;
  }
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
