/**
 * What the CLI may show of an input that can hold a credential (DESIGN.md, "Secrets are never echoed"). Cron mails
 * whatever the CLI prints, so a store value is shown only as far as it was parsed with certainty: its password and
 * every parameter not known to be harmless become `****`, and a value whose shape leaves a secret's end unclear
 * shows its scheme alone, or {@link UNPARSABLE}. Text that comes from elsewhere is scrubbed by ./scrub.ts.
 * @module
 */
import { nameParam, OTHER_SCHEMES, PARAM_NOT_NAMED, STORE_SCHEMES, showsParam } from './params.js';

/** What a secret is replaced with. */
export const MASK = '****';

/** How a store value that is not a URL is shown. */
export const UNPARSABLE = '<unparsable store value>';

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
const decode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};
const decodeQuery = (text: string) => decode(text.replace(/\+/g, ' '));
/** The host and port of a URL read with certainty (no `@`, no `:` but the port's). */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]*\]|[A-Za-z0-9._~%!$&'()*+,;=-]*)(?::\d{0,5})?$/;
/** The values of a libpq `key=value` string that may be secrets (raw, and unquoted). */
export function keyValueSecrets(value: string): string[] {
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
