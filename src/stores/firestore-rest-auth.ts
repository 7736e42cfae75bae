/**
 * Access tokens for `leasehold/firestore-rest` from a Google service-account key: an RS256 JWT signed with WebCrypto
 * and exchanged at the token endpoint (no SDK, no `node:` module).
 * @module
 */
import type { Clock } from '../clock.js';
import type { LeaseholdError } from '../errors.js';
import { FirestoreRestError } from './firestore-rest-wire.js';

/** The fields of a Google service-account key file (JSON) this store needs. */
export interface ServiceAccountKey {
  /** The service account's e-mail address: the JWT's issuer and subject. */
  client_email: string;
  /**
   * PEM, PKCS #8 (`-----BEGIN PRIVATE KEY-----`), as in the key file. Line breaks written as the two characters
   * `\n` (common when the key passes through an environment variable or secret) are accepted too.
   */
  private_key: string;
  /** Id of the key, sent as the JWT header's `kid` when present. */
  private_key_id?: string;
  /** Token endpoint (default `https://oauth2.googleapis.com/token`). */
  token_uri?: string;
  /** The key's project: the default `projectId` of the store. */
  project_id?: string;
}

const SCOPE = 'https://www.googleapis.com/auth/datastore';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const TOKEN_LIFETIME_S = 3_600;
const TOKEN_REFRESH_MARGIN_MS = 60_000;

/**
 * Access tokens for a service account: an RS256 JWT (WebCrypto) exchanged at the token endpoint
 * (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`), reused until a minute before it expires.
 * Concurrent callers share one exchange.
 */
export function serviceAccountTokens(
  key: ServiceAccountKey,
  fetchFn: typeof globalThis.fetch,
  clock: Clock,
  invalid: (message: string) => LeaseholdError,
): () => Promise<string> {
  if (typeof key !== 'object' || key === null || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw invalid('serviceAccount must be a service-account key file (JSON, parsed) with client_email and private_key');
  }
  // A key pasted into an environment variable or secret often keeps its line breaks as the two characters `\n`.
  const privateKey = key.private_key.replace(/\\r\\n|\\n/g, '\n');
  if (!privateKey.includes('-----BEGIN PRIVATE KEY-----')) {
    throw invalid('serviceAccount.private_key must be a PKCS #8 PEM key ("-----BEGIN PRIVATE KEY-----"), as in the key file');
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw invalid('this runtime has no WebCrypto (crypto.subtle); pass getAccessToken instead');
  const tokenUrl = key.token_uri ?? GOOGLE_TOKEN_URL;
  let signingKey: Promise<CryptoKey> | undefined;
  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const exchange = async (): Promise<string> => {
    signingKey ??= subtle.importKey('pkcs8', pemToDer(privateKey), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    const iat = Math.floor(clock.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
    const claims = { iss: key.client_email, scope: SCOPE, aud: tokenUrl, iat, exp: iat + TOKEN_LIFETIME_S };
    const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = await subtle.sign('RSASSA-PKCS1-v1_5', await signingKey, new TextEncoder().encode(unsigned));
    const response = await fetchFn(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${base64url(signature)}` }).toString(),
    });
    const body = (await response.json().catch(() => undefined)) as
      | { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown }
      | undefined;
    if (!response.ok || typeof body?.access_token !== 'string') {
      const reason = [body?.error, body?.error_description].filter((x) => typeof x === 'string').join(': ');
      throw new FirestoreRestError(
        response.status,
        typeof body?.error === 'string' ? body.error : undefined,
        `token exchange for ${key.client_email} at ${tokenUrl} failed: HTTP ${response.status} ${reason}`.trim(),
      );
    }
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : TOKEN_LIFETIME_S) * 1000;
    cached = { token: body.access_token, refreshAt: clock.now() + Math.max(0, lifetimeMs - TOKEN_REFRESH_MARGIN_MS) };
    return body.access_token;
  };

  return async () => {
    if (cached && clock.now() < cached.refreshAt) return cached.token;
    pending ??= exchange().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

function pemToDer(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function base64url(input: string | ArrayBuffer): string {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : new Uint8Array(input);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
