/**
 * Masks credentials in a line bound for a log (DESIGN.md "Secrets are never echoed"): what an option function of
 * `leasehold/hono` throws is the deployment's own words, which may quote a connection string or a token.
 * @module
 */

const MASK = '****';

/**
 * `text` with the password of every URL (`postgres://user:secret@host`), every `password=`/`token=`/`secret=`/`key=`
 * style value and every bearer token replaced by `****`. Meant for log lines, never to make a text safe to send.
 * @example
 * maskCredentials('connect to postgres://app:hunter2@db:5432/leases failed') // 'connect to postgres://app:****@db:5432/leases failed'
 */
export function maskCredentials(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s@/?#]*@/gi, `$1${MASK}@`)
    .replace(
      /\b((?:password|passwd|pwd|pass|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|auth)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,)'"]+)/gi,
      `$1${MASK}`,
    )
    .replace(/\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${MASK}`);
}
