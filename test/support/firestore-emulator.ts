/**
 * Clients and helpers for Google's Firestore emulator, which test/setup/firestore.ts starts for the whole run and
 * provides as `firestoreEmulatorHost` (`''` when it is not installed; `firestoreEmulatorSkip` then says why).
 *
 * The emulator is faithful where the safety argument needs it (ENGINES.md): `exists: false` and `updateTime`
 * preconditions, whole-batch rollback, isolated transactions, rising write times. Under heavy contention its
 * transaction locks can time out (~30 s), so the tests keep concurrency modest: the stores use no transactions,
 * but races still run with a handful of contenders rather than dozens.
 */
import { Firestore } from '@google-cloud/firestore';
import { FirestoreRestStore } from '../../src/stores/firestore-rest.js';

/** Project id of every emulator test: `demo-` projects never reach Google. */
export const EMULATOR_PROJECT = 'demo-leasehold';

/** Contenders per round in races against the emulator: enough for real races, few enough for its lock timeouts. */
export const EMULATOR_CONTENDERS = 8;

/** A gRPC client for the emulator at `host` (`host:port`): no TLS, the emulator's admin token, no metadata server. */
export function emulatorFirestore(host: string): Firestore {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  // ssl: false makes the client send `Authorization: Bearer owner`, the emulator's admin; the credentials are never used.
  return new Firestore({ projectId: EMULATOR_PROJECT, host, ssl: false, credentials: { client_email: 'emulator@demo-leasehold', private_key: 'unused' } });
}

/** A REST store over the emulator's REST endpoint (same port), authenticated as the emulator's admin. */
export function emulatorRestStore(host: string, options: { collection: string; fetch?: typeof fetch }): FirestoreRestStore {
  return new FirestoreRestStore({
    projectId: EMULATOR_PROJECT,
    baseUrl: `http://${host}`,
    getAccessToken: () => 'owner',
    collection: options.collection,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/**
 * Ends a lease at once, as another writer would: a commit with no precondition that sets `ttlMs` to 0, so the lease
 * ran out at that commit's time on the emulator's clock (and its update time changed).
 */
export async function expireOnEmulator(host: string, collection: string, name: string): Promise<void> {
  const base = `projects/${EMULATOR_PROJECT}/databases/(default)/documents`;
  const response = await fetch(`http://${host}/v1/${base}:commit`, {
    method: 'POST',
    headers: { authorization: 'Bearer owner', 'content-type': 'application/json' },
    body: JSON.stringify({
      writes: [{ update: { name: `${base}/${collection}/${name}`, fields: { ttlMs: { integerValue: '0' } } }, updateMask: { fieldPaths: ['ttlMs'] } }],
    }),
  });
  if (!response.ok) throw new Error(`expire ${collection}/${name} on the emulator: ${response.status} ${await response.text()}`);
}
