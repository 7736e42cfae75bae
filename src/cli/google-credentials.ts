/**
 * Google credentials, looked for before the Firestore client's first call. Without them the client fails only after
 * its retries (about 9 s) and leaves unhandled rejections behind, which ended the process with exit 1, the code
 * `release` gives a holder that did not hold the lease. Looked for the way the client itself does (Application
 * Default Credentials, through the google-auth-library its google-gax depends on), within a bound; skipped for the
 * emulator (`FIRESTORE_EMULATOR_HOST`), which needs none.
 * @module
 */
import { createRequire } from 'node:module';
import { LeaseholdError } from '../errors.js';

interface GoogleAuthLike {
  getClient(): Promise<unknown>;
}
type GoogleAuthClass = new (options: { scopes: string[] }) => GoogleAuthLike;

/** How to give credentials, for the message when there are none. */
export const HOW_TO_GIVE_CREDENTIALS =
  'give Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS=<service account key file>, or gcloud auth application-default login, or run where the metadata server provides them: Cloud Run, GCE, GKE), or point FIRESTORE_EMULATOR_HOST at an emulator (e.g. FIRESTORE_EMULATOR_HOST=127.0.0.1:8080)';

/** google-auth-library's GoogleAuth, resolved from the Firestore client's own dependencies; `undefined` if not found. */
function googleAuthClass(): GoogleAuthClass | undefined {
  try {
    const fromHere = createRequire(import.meta.url);
    const firestore = fromHere.resolve('@google-cloud/firestore');
    const gax = createRequire(firestore).resolve('google-gax');
    const library = createRequire(gax)('google-auth-library') as { GoogleAuth?: GoogleAuthClass };
    return library.GoogleAuth;
  } catch {
    return undefined;
  }
}

/**
 * Resolves when Google credentials are found (or the emulator is used, or the library that finds them cannot be
 * loaded: the client's own first call then says what is wrong); throws `STORE_UNAVAILABLE` with how to give them
 * when there are none, or when looking for them takes longer than `timeoutMs` (a metadata server that does not answer).
 */
export async function checkGoogleCredentials(timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.FIRESTORE_EMULATOR_HOST) return;
  const GoogleAuth = googleAuthClass();
  if (GoogleAuth === undefined) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const found = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/datastore'] }).getClient().then(
    () => 'found' as const,
    (error: unknown) => error,
  );
  const outcome = await Promise.race([found, timeout]).finally(() => clearTimeout(timer));
  if (outcome === 'found') return;
  if (outcome === 'timeout') {
    throw new LeaseholdError(
      'STORE_UNAVAILABLE',
      `firestore store: no Google credentials found within ${timeoutMs} ms (the metadata server did not answer); ${HOW_TO_GIVE_CREDENTIALS}`,
    );
  }
  const detail = outcome instanceof Error ? outcome.message : String(outcome);
  // google-auth-library gives this error no code, and does not export its message: its words are all there is.
  const none = /could not load the default credentials/i.test(detail);
  throw new LeaseholdError(
    'STORE_UNAVAILABLE',
    none
      ? `firestore store: no Google credentials found (Application Default Credentials); ${HOW_TO_GIVE_CREDENTIALS}`
      : `firestore store: cannot load the Google credentials (${detail}); ${HOW_TO_GIVE_CREDENTIALS}`,
    { cause: outcome },
  );
}
