/**
 * A small local stand-in for the Firestore REST API v1 and Google's OAuth token endpoint, for testing
 * `leasehold/firestore-rest`.
 *
 * Why it exists: Google's emulator (which the tests also run, where installed) is a separate process whose requests
 * cannot be logged, whose answers cannot be faulted and whose clock cannot be moved. This endpoint can, and does two
 * jobs and nothing more:
 *
 * 1. **Checks every request against Firestore's documented REST shapes** and refuses anything else with
 *    400 `INVALID_ARGUMENT`, as Firestore would: the paths (`/v1/projects/{p}/databases/{d}/documents:batchGet`
 *    and `:commit`), the `Authorization: Bearer` header (401 `UNAUTHENTICATED` otherwise), document names, the
 *    `Value` encodings (`stringValue`, `integerValue` as a decimal string, `timestampValue` as RFC 3339,
 *    `nullValue`, …), `updateMask.fieldPaths`, and `currentDocument` preconditions (`exists` or `updateTime`).
 * 2. **Answers as Firestore does**, implementing the preconditions faithfully so the store's compare-and-swap is
 *    really checked: `exists: false` on an existing document gives 409 `ALREADY_EXISTS`, an `updateTime` that is
 *    not the document's gives 400 `FAILED_PRECONDITION` (Google's mapping of that status), update times have
 *    microsecond precision and rise strictly with each commit, and `batchGet` answers with a JSON array carrying
 *    `readTime`. Requests are handled one at a time, each atomically, like a single Firestore document.
 *
 * The token endpoint checks the JWT-bearer grant: form encoding, an RS256 signature verified against the
 * service account's public key, and the claims (`iss`, `aud`, `scope`, `iat`/`exp`).
 * It is not a database: no queries, transactions, transforms or listeners.
 *
 * Its own clock (commit, update and read times) is the host's plus a configurable offset, which a test may
 * set (`clockOffsetMs`: an hour behind or ahead) and move on (`advanceClock`): the store must judge expiry by
 * these times, never by the host's. Times stay strictly rising, as Firestore's do, so move the clock only
 * forward once documents exist; start a separate fake for a clock that is behind.
 * For lost and late answers it can apply a request and then answer with an unreadable body (`garbleNext`) or
 * only after a delay (`delayNext`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A document as the fake keeps it. */
export interface FakeDocument {
  fields: Record<string, Record<string, unknown>>;
  createTime: bigint;
  updateTime: bigint;
}

/** One request the fake received (after its shape was checked or refused). */
export interface LoggedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  status: number;
}

/** Options of {@link startFirestoreRestServer}. */
export interface FakeFirestoreOptions {
  projectId: string;
  database?: string;
  /** Bearer tokens accepted without the token endpoint (e.g. what `getAccessToken` returns in a test). */
  staticTokens?: string[];
  /** The service account whose JWTs the token endpoint accepts. */
  serviceAccount?: { clientEmail: string; publicKey: CryptoKey };
  /** Clock for checking JWT `iat`/`exp` (default `Date.now`). */
  now?: () => number;
  /** The database's clock minus the host's, in ms (default 0): e.g. -3_600_000 for a server an hour behind. */
  clockOffsetMs?: number;
}

/** A running fake. */
export interface FakeFirestore {
  /** Base URL to pass as `baseUrl`. */
  readonly url: string;
  /** Token endpoint URL to put in the key's `token_uri`. */
  readonly tokenUrl: string;
  /** Every request, in order. */
  readonly requests: LoggedRequest[];
  /** Access tokens issued by the token endpoint. */
  readonly issuedTokens: string[];
  /** The documents, by full name. */
  readonly documents: Map<string, FakeDocument>;
  /** Full document name of `collection/id`. */
  documentName(collection: string, id: string): string;
  /** Writes fields straight into a document (a commit by someone else): bumps its update time. */
  patch(name: string, fields: Record<string, Record<string, unknown>>): void;
  /** Answers the next batchGet or commit with this error, without applying anything. */
  failNext(httpStatus: number, status: string): void;
  /** Applies the next `method` request, then answers HTTP 200 with `body` (raw text) instead of its result. */
  garbleNext(method: 'batchGet' | 'commit', body: string): void;
  /** Applies the next `method` request at once, then holds its answer back for `ms`. */
  delayNext(method: 'batchGet' | 'commit', ms: number): void;
  /** The database's clock minus the host's, in ms. */
  readonly clockOffsetMs: number;
  /** Moves the database's clock on by `ms` (leases stamped on it run out that much sooner); the host's stays. */
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** RFC 3339 UTC to epoch microseconds (Firestore's precision). */
function parseMicros(text: unknown, where: string): bigint {
  const m = typeof text === 'string' ? RFC3339.exec(text) : null;
  const seconds = m ? Date.parse(`${m[1]}Z`) : Number.NaN;
  if (!m || !Number.isFinite(seconds)) throw new HttpError(400, 'INVALID_ARGUMENT', `${where}: invalid timestamp ${JSON.stringify(text)}`);
  return BigInt(seconds) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

function formatMicros(us: bigint): string {
  const ms = Number(us / 1000n);
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', '');
  return `${iso}.${(us % 1_000_000n).toString().padStart(6, '0')}Z`;
}

function onlyKeys(value: unknown, allowed: string[], where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'INVALID_ARGUMENT', `${where} must be an object`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new HttpError(400, 'INVALID_ARGUMENT', `Invalid JSON payload received. Unknown name "${key}" at '${where}'`);
  }
  return value as Record<string, unknown>;
}

/** Checks one REST `Value` (exactly one kind, with the JSON type Firestore documents for it). */
function checkValue(value: unknown, where: string): void {
  const v = onlyKeys(
    value,
    ['nullValue', 'booleanValue', 'integerValue', 'doubleValue', 'timestampValue', 'stringValue', 'bytesValue', 'referenceValue', 'mapValue', 'arrayValue'],
    where,
  );
  const keys = Object.keys(v);
  if (keys.length !== 1) throw new HttpError(400, 'INVALID_ARGUMENT', `${where}: a Value has exactly one kind, got ${keys.join(', ') || 'none'}`);
  const [kind] = keys as [string];
  const x = v[kind];
  const ok =
    kind === 'nullValue'
      ? x === null || x === 'NULL_VALUE'
      : kind === 'booleanValue'
        ? typeof x === 'boolean'
        : kind === 'integerValue'
          ? (typeof x === 'string' && /^-?\d{1,19}$/.test(x)) || (typeof x === 'number' && Number.isSafeInteger(x))
          : kind === 'doubleValue'
            ? typeof x === 'number'
            : kind === 'timestampValue'
              ? typeof x === 'string' && RFC3339.test(x)
              : kind === 'stringValue'
                ? typeof x === 'string'
                : false; // bytes, references, maps, arrays: the lease store never writes them
  if (!ok) throw new HttpError(400, 'INVALID_ARGUMENT', `${where}.${kind}: invalid value ${JSON.stringify(x)}`);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function b64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

/** Starts the fake on 127.0.0.1 on a free port. */
export async function startFirestoreRestServer(options: FakeFirestoreOptions): Promise<FakeFirestore> {
  const database = options.database ?? '(default)';
  const dbPath = `projects/${options.projectId}/databases/${database}`;
  const documents = new Map<string, FakeDocument>();
  const requests: LoggedRequest[] = [];
  const issuedTokens: string[] = [];
  const staticTokens = new Set(options.staticTokens ?? []);
  const now = options.now ?? Date.now;
  let lastTime = 0n;
  let injected: { httpStatus: number; status: string } | undefined;
  const interference: { garble?: { method: string; body: string }; delay?: { method: string; ms: number } } = {};
  let offsetMs = options.clockOffsetMs ?? 0;
  let url = '';

  // Strictly rising, microsecond-precision times on the database's clock (the host's + offset): Firestore's
  // commit and read times.
  const serverNowMicros = (): bigint => BigInt(Date.now() + offsetMs) * 1000n;
  const tick = (): bigint => {
    const t = serverNowMicros();
    lastTime = t > lastTime ? t : lastTime + 1n;
    return lastTime;
  };
  const readTime = (): bigint => {
    const t = serverNowMicros();
    return t > lastTime ? t : lastTime;
  };

  const checkDocumentName = (name: unknown, where: string): string => {
    const prefix = `${dbPath}/documents/`;
    if (typeof name !== 'string' || !name.startsWith(prefix)) throw new HttpError(400, 'INVALID_ARGUMENT', `${where}: document name must start with ${prefix}`);
    const segments = name.slice(prefix.length).split('/');
    if (segments.length % 2 !== 0 || segments.some((s) => s === '' || s === '.' || s === '..' || /^__.*__$/.test(s))) {
      throw new HttpError(400, 'INVALID_ARGUMENT', `${where}: ${JSON.stringify(name)} is not a document name`);
    }
    return name;
  };

  const toRest = (name: string, doc: FakeDocument) => ({
    name,
    fields: doc.fields,
    createTime: formatMicros(doc.createTime),
    updateTime: formatMicros(doc.updateTime),
  });

  const batchGet = (body: unknown) => {
    const b = onlyKeys(body, ['documents'], 'body');
    if (!Array.isArray(b.documents) || b.documents.length === 0) throw new HttpError(400, 'INVALID_ARGUMENT', 'documents must be a non-empty array');
    const at = formatMicros(readTime());
    return b.documents.map((n, i) => {
      const name = checkDocumentName(n, `documents[${i}]`);
      const doc = documents.get(name);
      return doc ? { found: toRest(name, doc), readTime: at } : { missing: name, readTime: at };
    });
  };

  const commit = (body: unknown) => {
    const b = onlyKeys(body, ['writes'], 'body');
    if (!Array.isArray(b.writes) || b.writes.length === 0) throw new HttpError(400, 'INVALID_ARGUMENT', 'writes must be a non-empty array');
    const planned = b.writes.map((w, i) => {
      const where = `writes[${i}]`;
      const write = onlyKeys(w, ['update', 'updateMask', 'currentDocument'], where);
      const update = onlyKeys(write.update, ['name', 'fields'], `${where}.update`);
      const name = checkDocumentName(update.name, `${where}.update.name`);
      const fields = onlyKeys(update.fields ?? {}, Object.keys(update.fields ?? {}), `${where}.update.fields`);
      for (const [key, value] of Object.entries(fields)) checkValue(value, `${where}.update.fields.${key}`);
      let mask: string[] | undefined;
      if (write.updateMask !== undefined) {
        const m = onlyKeys(write.updateMask, ['fieldPaths'], `${where}.updateMask`);
        if (!Array.isArray(m.fieldPaths) || !m.fieldPaths.every((p) => typeof p === 'string' && p.length > 0)) {
          throw new HttpError(400, 'INVALID_ARGUMENT', `${where}.updateMask.fieldPaths must be an array of field paths`);
        }
        mask = m.fieldPaths as string[];
        for (const key of Object.keys(fields)) {
          if (!mask.includes(key)) throw new HttpError(400, 'INVALID_ARGUMENT', `${where}: field ${key} is not in the update mask`);
        }
      }
      let precondition: { exists: boolean } | { updateTime: bigint } | undefined;
      if (write.currentDocument !== undefined) {
        const c = onlyKeys(write.currentDocument, ['exists', 'updateTime'], `${where}.currentDocument`);
        if (Object.keys(c).length !== 1) throw new HttpError(400, 'INVALID_ARGUMENT', `${where}.currentDocument: set exactly one of exists, updateTime`);
        if ('exists' in c) {
          if (typeof c.exists !== 'boolean') throw new HttpError(400, 'INVALID_ARGUMENT', `${where}.currentDocument.exists must be a boolean`);
          precondition = { exists: c.exists };
        } else precondition = { updateTime: parseMicros(c.updateTime, `${where}.currentDocument.updateTime`) };
      }
      return { name, fields: fields as Record<string, Record<string, unknown>>, mask, precondition };
    });
    // All preconditions first, then all writes: a commit applies atomically or not at all.
    for (const p of planned) {
      const doc = documents.get(p.name);
      if (!p.precondition) continue;
      if ('exists' in p.precondition) {
        if (!p.precondition.exists && doc) throw new HttpError(409, 'ALREADY_EXISTS', `Document already exists: ${p.name}`);
        if (p.precondition.exists && !doc) throw new HttpError(404, 'NOT_FOUND', `No document to update: ${p.name}`);
      } else if (!doc || doc.updateTime !== p.precondition.updateTime) {
        throw new HttpError(
          400,
          'FAILED_PRECONDITION',
          `the stored version (${doc ? formatMicros(doc.updateTime) : 'none'}) does not match the required base version`,
        );
      }
    }
    const at = tick();
    for (const p of planned) {
      const doc = documents.get(p.name);
      let fields: Record<string, Record<string, unknown>>;
      if (p.mask && doc) {
        fields = { ...doc.fields };
        for (const path of p.mask) {
          const value = p.fields[path];
          if (value === undefined) delete fields[path];
          else fields[path] = value;
        }
      } else fields = { ...p.fields };
      documents.set(p.name, { fields, createTime: doc?.createTime ?? at, updateTime: at });
    }
    return { writeResults: planned.map(() => ({ updateTime: formatMicros(at) })), commitTime: formatMicros(at) };
  };

  const token = async (request: IncomingMessage, text: string) => {
    if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'form encoding expected' } };
    }
    const form = new URLSearchParams(text);
    const refuse = (description: string) => ({ status: 400, body: { error: 'invalid_grant', error_description: description } });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('unsupported grant_type');
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3 || !options.serviceAccount) return refuse('malformed assertion');
    const [h, c, s] = parts as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== 'RS256' || header.typ !== 'JWT') return refuse('header must be {"alg":"RS256","typ":"JWT"}');
    const valid = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', options.serviceAccount.publicKey, b64urlDecode(s), new TextEncoder().encode(`${h}.${c}`));
    if (!valid) return refuse('Invalid JWT Signature.');
    const nowS = Math.floor(now() / 1000);
    if (claims.iss !== options.serviceAccount.clientEmail) return refuse('iss is not the service account');
    if (claims.aud !== `${url}/token`) return refuse('aud is not the token endpoint');
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes('https://www.googleapis.com/auth/datastore'))
      return refuse('scope lacks datastore');
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return refuse('iat and exp must be numbers');
    if (claims.exp <= claims.iat || claims.exp - claims.iat > 3_600) return refuse('exp must be within an hour after iat');
    if (Math.abs(claims.iat - nowS) > 300 || claims.exp <= nowS) return refuse('Invalid JWT: Token must be a short-lived token and in a reasonable timeframe');
    const accessToken = `ya29.fake-${issuedTokens.length + 1}`;
    issuedTokens.push(accessToken);
    return { status: 200, body: { access_token: accessToken, expires_in: 3_599, token_type: 'Bearer' } };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const text = await readBody(request);
    const path = request.url ?? '';
    let status = 200;
    let answer: unknown;
    let raw: string | undefined;
    let delayMs = 0;
    let logged: unknown = text;
    try {
      if (request.method !== 'POST') throw new HttpError(405, 'INVALID_ARGUMENT', 'only POST is served here');
      if (path === '/token') {
        const t = await token(request, text);
        status = t.status;
        answer = t.body;
      } else {
        const m = /^\/v1\/(.+)\/documents:(batchGet|commit)$/.exec(path);
        if (!m || m[1] !== dbPath) throw new HttpError(404, 'NOT_FOUND', `no such method or database: ${path}`);
        const auth = request.headers.authorization ?? '';
        const bearer = /^Bearer (\S+)$/.exec(auth)?.[1];
        if (!bearer || !(staticTokens.has(bearer) || issuedTokens.includes(bearer))) {
          throw new HttpError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
        }
        if (!String(request.headers['content-type']).startsWith('application/json')) throw new HttpError(400, 'INVALID_ARGUMENT', 'JSON body expected');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new HttpError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
        }
        logged = body;
        if (injected) {
          const fault = injected;
          injected = undefined;
          throw new HttpError(fault.httpStatus, fault.status, 'injected by the test');
        }
        answer = m[2] === 'batchGet' ? batchGet(body) : commit(body);
        // Applied above; only the answer is interfered with.
        const { garble, delay } = interference;
        if (garble && garble.method === m[2]) {
          raw = garble.body;
          interference.garble = undefined;
        }
        if (delay && delay.method === m[2]) {
          delayMs = delay.ms;
          interference.delay = undefined;
        }
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      status = error.httpStatus;
      answer = { error: { code: error.httpStatus, message: error.message, status: error.status } };
    }
    requests.push({ path, headers: request.headers, body: logged, status });
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    // The client may have given up meanwhile (its request timeout): nothing to answer then.
    if (response.destroyed || request.socket.destroyed) return;
    response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    response.end(raw ?? JSON.stringify(answer));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 500, message: String(error), status: 'INTERNAL' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    tokenUrl: `${url}/token`,
    requests,
    issuedTokens,
    documents,
    documentName: (collection, id) => `${dbPath}/documents/${collection}/${id}`,
    patch(name, fields) {
      const doc = documents.get(name);
      if (!doc) throw new Error(`no document ${name}`);
      const at = tick();
      documents.set(name, { fields: { ...doc.fields, ...fields }, createTime: doc.createTime, updateTime: at });
    },
    failNext(httpStatus, status) {
      injected = { httpStatus, status };
    },
    garbleNext(method, body) {
      interference.garble = { method, body };
    },
    delayNext(method, ms) {
      interference.delay = { method, ms };
    },
    get clockOffsetMs() {
      return offsetMs;
    },
    advanceClock(ms) {
      if (!(ms >= 0)) throw new Error('the fake database clock only moves forward');
      offsetMs += ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A fresh RSA key pair for a test's service account: the private half as a key file holds it (PEM, PKCS #8),
 * the public half for the fake token endpoint (`serviceAccount.publicKey`) to verify JWTs with.
 */
export async function generateServiceAccountKeyPair(): Promise<{ publicKey: CryptoKey; privateKeyPem: string }> {
  const keys = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { publicKey: keys.publicKey, privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n` };
}
