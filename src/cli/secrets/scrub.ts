/**
 * Finding the secrets a command line carries and scrubbing them from any text the CLI prints (DESIGN.md, "Secrets
 * are never echoed"): the store value (`--store`, `LEASEHOLD_STORE`), masked as ./store-value.ts shows it, and any
 * other argument that looks like a connection string, in every form a message may echo it.
 * @module
 */
import { describeValue } from '../../options.js';
import { keyValueSecrets, MASK, type MaskedStore, maskStoreValue, UNPARSABLE } from './store-value.js';

/** How an argument that looks like a connection string is described instead of being echoed. */
export const NOT_SHOWN = 'a value that looks like a connection string (not shown)';

/**
 * Secrets shorter than this are not scrubbed from other text: they would be found inside ordinary words. They are
 * still never shown as part of a store value, which is masked by its shape.
 */
export const MIN_SCRUBBED_LENGTH = 4;

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
