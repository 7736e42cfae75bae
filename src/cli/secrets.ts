/**
 * What the CLI may show of an input that can hold a credential (DESIGN.md, "Secrets are never echoed"). Cron mails
 * whatever the CLI prints, so a store value is shown only as far as it was parsed with certainty: its password and
 * every parameter not known to be harmless become `****`, and a value whose shape leaves a secret's end unclear
 * shows its scheme alone, or {@link UNPARSABLE}. Text that comes from elsewhere (a driver's error, an argument
 * echoed back) is scrubbed of the secrets found in the command line and `LEASEHOLD_STORE` before it is printed.
 * @module
 */
import { describeValue } from '../options.js';

/** What a secret is replaced with. */
export const MASK = '****';

/** How a store value that is not a URL is shown. */
export const UNPARSABLE = '<unparsable store value>';

/** How an argument that looks like a connection string is described instead of being echoed. */
export const NOT_SHOWN = 'a value that looks like a connection string (not shown)';

/**
 * Secrets shorter than this are not scrubbed from other text: they would be found inside ordinary words. They are
 * still never shown as part of a store value, which is masked by its shape.
 */
export const MIN_SCRUBBED_LENGTH = 4;

/**
 * Why a store value is not used as it stands: `not-a-url` (no `scheme://`: a libpq `key=value` string, a typo),
 * `unknown-scheme`, `ambiguous` (where the password ends is unclear: an unencoded `@`, `#`, `/` or `?` in it), or
 * `malformed-escape` (a `%` not followed by two hex digits that form UTF-8).
 */
export type StoreValueProblem = 'not-a-url' | 'unknown-scheme' | 'ambiguous' | 'malformed-escape';

/** One query parameter: raw as typed, and decoded. */
export interface QueryParam {
  rawKey: string;
  rawValue: string | undefined;
  key: string;
  value: string | undefined;
}

/** A URL read with certainty: each part raw (as typed) and decoded. */
export interface UrlParts {
  /** Lower case (`postgresql` stays `postgresql`). */
  scheme: string;
  /** The value up to its query (`?`), raw. */
  base: string;
  user: string | undefined;
  password: string | undefined;
  /** The host, decoded, without its port. */
  host: string;
  /** The path, decoded (`''` or starting with `/`). */
  path: string;
  params: QueryParam[];
}

/** A store value as it may be shown, and the secrets to scrub from any other text. */
export interface MaskedStore {
  /** The value with every secret replaced by {@link MASK}; only its scheme when it is not certain; or {@link UNPARSABLE}. */
  shown: string;
  /** The lower-case scheme, when it may be named (a known one); otherwise `undefined`. */
  scheme: string | undefined;
  /** Why the value cannot be used as it stands, or `undefined`. */
  problem: StoreValueProblem | undefined;
  /** The parsed URL, when it was read with certainty and decodes. */
  parts: UrlParts | undefined;
  /** Texts in the value that may be credentials (raw and decoded), to scrub from other text. */
  secrets: string[];
}

const STORE_SCHEMES = new Set(['postgres', 'postgresql', 'redis', 'rediss', 'dynamodb', 'firestore', 'memory']);
/** Other schemes that may be named in a message (a user tried one): naming an arbitrary word could name a secret. */
const OTHER_SCHEMES = new Set([
  'mysql',
  'mariadb',
  'mongodb',
  'mongodb+srv',
  'valkey',
  'sqlite',
  'sqlserver',
  'mssql',
  'cockroachdb',
  'pg',
  'etcd',
  'consul',
  'http',
  'https',
  'file',
  's3',
  'gs',
]);

/** Parameters whose values are shown, per scheme; every other parameter's value is masked. */
const SHOWN_PARAMS: Record<string, ReadonlySet<string>> = {
  postgres: new Set([
    'table',
    'schema',
    'host',
    'port',
    'user',
    'db',
    'sslmode',
    'ssl',
    'sslcert',
    'sslkey',
    'sslrootcert',
    'sslcrl',
    'sslnegotiation',
    'uselibpqcompat',
    'application_name',
    'fallback_application_name',
    'connect_timeout',
    'client_encoding',
    'encoding',
    'options',
    'keepalives',
    'keepalives_idle',
    'target_session_attrs',
    'replication',
    'statement_timeout',
    'query_timeout',
    'lock_timeout',
    'idle_in_transaction_session_timeout',
  ]),
  redis: new Set(['prefix']),
  dynamodb: new Set(['region']),
  firestore: new Set(),
};

/** Credential parameters by their usual names (compared lower case, without `_` and `-`): named in messages, never shown. */
const CREDENTIAL_PARAMS = new Set([
  'password',
  'passwd',
  'pwd',
  'pass',
  'sslpassword',
  'passfile',
  'secret',
  'secretaccesskey',
  'awssecretaccesskey',
  'accesskeyid',
  'awsaccesskeyid',
  'sessiontoken',
  'awssessiontoken',
  'securitytoken',
  'token',
  'accesstoken',
  'authtoken',
  'idtoken',
  'refreshtoken',
  'apikey',
  'key',
  'privatekey',
  'credentials',
  'auth',
  'signature',
  'sig',
]);

const normalise = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** Whether a parameter name is a credential's usual name (`password`, `sslpassword`, `secretAccessKey`, `token`, …). */
export function isCredentialParam(key: string): boolean {
  return CREDENTIAL_PARAMS.has(normalise(key));
}

/**
 * A parameter's name for a message: quoted when it is a name leasehold knows (its own parameters, a store's, a
 * credential's usual name), otherwise not shown, since an unknown name may be a piece of a secret (an unencoded `&`
 * inside a password turns what follows into a "parameter").
 */
export function nameParam(key: string): string {
  return KNOWN_PARAMS.has(normalise(key)) ? JSON.stringify(key) : PARAM_NOT_NAMED;
}

/** What {@link nameParam} says of a parameter it does not name. */
export const PARAM_NOT_NAMED = '(name not shown)';

const KNOWN_PARAMS = new Set([...CREDENTIAL_PARAMS, 'endpoint', ...Object.values(SHOWN_PARAMS).flatMap((names) => [...names].map(normalise))]);

const decode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};
const decodeQuery = (text: string) => decode(text.replace(/\+/g, ' '));

/** A DynamoDB endpoint that holds nothing secret: scheme, host and port only. */
const PLAIN_ENDPOINT = /^https?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?\/?$/;
/** The host and port of a URL read with certainty (no `@`, no `:` but the port's). */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]*\]|[A-Za-z0-9._~%!$&'()*+,;=-]*)(?::\d{0,5})?$/;

function keyValueSecrets(value: string): string[] {
  // libpq's key=value form: every value but those of a few harmless keys may be a secret.
  const harmless = new Set(['host', 'hostaddr', 'port', 'dbname', 'user', 'sslmode', 'connect_timeout', 'application_name']);
  const secrets: string[] = [];
  for (const [, key, raw] of value.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'?|[^\s']*)/g)) {
    if (key === undefined || raw === undefined || harmless.has(key.toLowerCase())) continue;
    secrets.push(raw, raw.replace(/^'|'$/g, '').replace(/\\(.)/g, '$1'));
  }
  return secrets;
}

/** Whether a value that is no URL looks like libpq's `key=value` connection string. */
export function looksLikeKeyValue(value: string): boolean {
  return /(?:^|\s)[A-Za-z_][A-Za-z0-9_]*\s*=/.test(value);
}

/**
 * Reads a store value and says how it may be shown. Fails safe: a value is shown in parts only when where each part
 * ends is certain. A password may hold an unencoded `@` (the last `@` before the host ends it, as in a WHATWG URL and
 * in pg); an `@` after the host, or a `#` or control character anywhere, makes the value ambiguous (it shows its
 * scheme only, and is not used: pg would read part of a password as a host, database or parameter and print it in its
 * errors). In the query only parameters known to be harmless are shown; at the first other one the rest is masked
 * (an unencoded `&` in a secret would otherwise split it into "parameters").
 */
export function maskStoreValue(value: string): MaskedStore {
  if (value === 'memory:' || value === 'memory://') return { shown: 'memory:', scheme: 'memory', problem: undefined, parts: undefined, secrets: [] };
  const head = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (!head?.[1]) return { shown: UNPARSABLE, scheme: undefined, problem: 'not-a-url', parts: undefined, secrets: [value, ...keyValueSecrets(value)] };
  const typedScheme = head[1];
  const scheme = typedScheme.toLowerCase();
  const rest = value.slice(head[0].length);
  const wholeValueSecrets = [value, rest, ...(rest.includes(':') ? [rest.slice(rest.indexOf(':') + 1)] : [])];
  if (!STORE_SCHEMES.has(scheme) || scheme === 'memory') {
    const named = OTHER_SCHEMES.has(scheme) || scheme === 'memory';
    return {
      shown: named ? `${scheme}://${MASK}` : UNPARSABLE,
      scheme: named ? scheme : undefined,
      problem: 'unknown-scheme',
      parts: undefined,
      secrets: wholeValueSecrets,
    };
  }
  const ambiguous: MaskedStore = { shown: `${typedScheme}://${MASK}`, scheme, problem: 'ambiguous', parts: undefined, secrets: wholeValueSecrets };
  // A fragment has no meaning in a store URL: a # is an unencoded character of a secret. Control characters are
  // dropped by URL parsers, so where a secret ends would differ between what is shown and what is used.
  if ([...rest].some((c) => c === '#' || c < ' ' || c === '\u007f')) return ambiguous;
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  // An @ after the host: a password with an unencoded / or ? before its @ (the URL's parts start inside it).
  if (tail.includes('@')) return ambiguous;
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hostPort = authority.slice(at + 1);
  if (!HOST_PORT.test(hostPort)) return ambiguous;
  const colon = userinfo?.indexOf(':') ?? -1;
  const rawUser = userinfo === undefined ? undefined : colon < 0 ? userinfo : userinfo.slice(0, colon);
  const rawPassword = userinfo === undefined || colon < 0 ? undefined : userinfo.slice(colon + 1);
  const queryAt = tail.indexOf('?');
  const rawPath = queryAt < 0 ? tail : tail.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? undefined : tail.slice(queryAt + 1);

  const secrets: string[] = [];
  if (rawPassword) secrets.push(rawPassword, decode(rawPassword) ?? rawPassword, userinfo ?? '');
  let shown = `${typedScheme}://${rawUser === undefined ? '' : rawPassword === undefined ? `${rawUser}@` : `${rawUser}:${MASK}@`}${hostPort}${rawPath}`;
  const params: QueryParam[] = [];
  let malformed = [rawUser, rawPassword, hostPort, rawPath].some((part) => part !== undefined && decode(part) === undefined);
  if (rawQuery !== undefined) {
    const shownParams: string[] = [];
    const pieces = rawQuery.split('&');
    let masking = false;
    for (const [i, piece] of pieces.entries()) {
      if (piece === '') continue;
      const eq = piece.indexOf('=');
      const rawKey = eq < 0 ? piece : piece.slice(0, eq);
      const rawValue = eq < 0 ? undefined : piece.slice(eq + 1);
      const key = decodeQuery(rawKey);
      const decoded = rawValue === undefined ? undefined : decodeQuery(rawValue);
      if (key === undefined || (rawValue !== undefined && decoded === undefined)) malformed = true;
      params.push({ rawKey, rawValue, key: key ?? rawKey, value: decoded ?? rawValue });
      if (masking) {
        secrets.push(piece, rawKey, ...(rawValue === undefined ? [] : [rawValue, decoded ?? rawValue]));
        continue;
      }
      const shownHere = key !== undefined && decoded !== undefined && showsParam(scheme, key, decoded);
      if (shownHere) {
        shownParams.push(piece);
        continue;
      }
      // From here on nothing more is shown: where this value ends is not certain.
      masking = true;
      const restOfQuery = pieces.slice(i).join('&');
      const restOfValue = eq < 0 ? restOfQuery : restOfQuery.slice(eq + 1);
      secrets.push(restOfQuery, restOfValue, decodeQuery(restOfValue) ?? restOfValue);
      if (rawValue !== undefined) secrets.push(rawValue, decoded ?? rawValue);
      else secrets.push(rawKey);
      const named = key !== undefined && nameParam(key) !== PARAM_NOT_NAMED;
      shownParams.push(named && rawValue !== undefined ? `${rawKey}=${MASK}` : MASK);
    }
    shown += `?${shownParams.join('&')}`;
  }
  const uniqueSecrets = [...new Set(secrets.filter((s) => s !== ''))];
  if (uniqueSecrets.length > 0) uniqueSecrets.unshift(value);
  if (malformed) return { shown, scheme, problem: 'malformed-escape', parts: undefined, secrets: uniqueSecrets };
  const port = /:\d*$/.exec(hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : hostPort)?.[0] ?? '';
  return {
    shown,
    scheme,
    problem: undefined,
    parts: {
      scheme,
      base: value.slice(0, head[0].length + authority.length + rawPath.length),
      user: rawUser === undefined ? undefined : decode(rawUser),
      password: rawPassword === undefined ? undefined : decode(rawPassword),
      host: decode(hostPort.slice(0, hostPort.length - port.length)) ?? '',
      path: decode(rawPath) ?? '',
      params,
    },
    secrets: uniqueSecrets,
  };
}

function showsParam(scheme: string, key: string, value: string): boolean {
  const family = scheme === 'postgresql' ? 'postgres' : scheme === 'rediss' ? 'redis' : scheme;
  if (family === 'dynamodb' && key === 'endpoint') return PLAIN_ENDPOINT.test(value);
  return SHOWN_PARAMS[family]?.has(key) === true;
}

/** The secrets an argument carries, when it looks like a connection string (a URL with a credential, `key=value`). */
function secretsInArgument(token: string): string[] {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(token)) {
    const masked = maskStoreValue(token);
    return masked.problem === undefined || masked.problem === 'malformed-escape' ? masked.secrets : [...masked.secrets, token];
  }
  if (/(?:^|[\s;&?])[A-Za-z_]*(?:pass|pwd|secret|token|key|auth)[A-Za-z_]*\s*=/i.test(token)) return [token, ...keyValueSecrets(token)];
  // user:password@host without a scheme.
  const userinfo = /^[^\s:@/]+:([^\s]+)@[^@\s]*$/.exec(token);
  return userinfo?.[1] ? [token, userinfo[1]] : [];
}

/** Replaces secrets in text: a function, so that it can be handed to whatever prints. */
export type Scrub = (text: string) => string;

interface Replacement {
  text: string;
  by: string;
}

const jsonEscaped = (text: string) => JSON.stringify(text).slice(1, -1);

/** The forms a text takes when printed: as is, percent-encoded, inside a JSON string (once or twice). */
function printedForms(text: string): string[] {
  const once = jsonEscaped(text);
  return [text, encodeURIComponent(text), once, jsonEscaped(once)];
}

/** A scrubber replacing each text (in every printed form) with its replacement; `keep` texts are left alone. */
function scrubber(replacements: Replacement[], keep: string[]): Scrub {
  const map = new Map<string, string>();
  for (const shown of keep) for (const form of printedForms(shown)) if (form.length >= MIN_SCRUBBED_LENGTH) map.set(form, form);
  for (const { text, by } of replacements) {
    if (text.length < MIN_SCRUBBED_LENGTH) continue;
    const forms = printedForms(text);
    const bys = printedForms(by);
    for (const [i, form] of forms.entries()) if (!map.has(form)) map.set(form, bys[i] ?? by);
  }
  if (map.size === 0) return (text) => text;
  // One pass, longest first: a replacement is never scanned again, and a shown store value (kept) wins over a
  // secret that happens to be a word in it.
  const pattern = new RegExp(
    [...map.keys()]
      .sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return (text) => text.replace(pattern, (found) => map.get(found) ?? MASK);
}

/** A scrubber for the secrets of one store value (and the value itself, replaced by how it is shown). */
export function storeScrubber(value: string, masked: MaskedStore = maskStoreValue(value)): Scrub {
  return scrubber(replacementsOf(value, masked), [masked.shown]);
}

function replacementsOf(value: string, masked: MaskedStore): Replacement[] {
  if (masked.secrets.length === 0) return [];
  return [
    { text: value, by: masked.shown },
    ...masked.secrets.filter((s) => s !== value).map((text) => ({ text, by: masked.problem === 'not-a-url' ? UNPARSABLE : MASK })),
  ];
}

/**
 * A scrubber for everything a command line may carry: the store value (`--store`, `--store=`, `LEASEHOLD_STORE`)
 * and any other argument that looks like a connection string (a URL given as a lease name, say), in whatever form a
 * message echoes it (whole, as `describeValue` quotes and cuts it, JSON-escaped).
 */
export function argumentScrubber(argv: readonly string[], env: NodeJS.ProcessEnv): Scrub {
  const storeValues = new Set<string>();
  if (env.LEASEHOLD_STORE) storeValues.add(env.LEASEHOLD_STORE);
  for (const [i, token] of argv.entries()) {
    if (token === '--') break;
    if (token === '--store' && argv[i + 1] !== undefined) storeValues.add(argv[i + 1] as string);
    else if (token.startsWith('--store=')) storeValues.add(token.slice('--store='.length));
  }
  const replacements: Replacement[] = [];
  const keep: string[] = [];
  for (const value of storeValues) {
    const masked = maskStoreValue(value);
    keep.push(masked.shown);
    replacements.push(...replacementsOf(value, masked));
    if (masked.secrets.length > 0) replacements.push({ text: describeValue(value), by: NOT_SHOWN });
  }
  for (const token of argv) {
    if (storeValues.has(token)) continue;
    const secrets = secretsInArgument(token);
    if (secrets.length === 0) continue;
    replacements.push({ text: describeValue(token), by: NOT_SHOWN });
    for (const text of secrets) replacements.push({ text, by: text === token ? NOT_SHOWN : MASK });
  }
  return scrubber(replacements, keep);
}
