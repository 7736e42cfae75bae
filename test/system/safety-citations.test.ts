/**
 * Code and docs cite the README's safety rules by name (`README safety: "Whose clock"`, or a link to
 * `README.md#safety-whose-clock`), never by number: a renumbered list would leave every numbered citation pointing at
 * the wrong rule. This checks that each citation in the tree names a rule the README has, and that no numbered one is left.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FOLDERS = ['src', 'test', 'docs', 'examples', 'infra', 'scripts', 'bench'];
const TOP = ['README.md', 'SAFETY.md', 'BENCHMARKS.md', 'CHANGELOG.md'];
const TEXT = /\.(ts|mjs|md|tf)$/;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...files(path));
    else if (TEXT.test(entry)) out.push(path);
  }
  return out;
}

/** The README's safety rules: anchor id → bold title (without its closing period). */
function safetyRules(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Safety, in plain words'), readme.indexOf('## Configuration'));
  const rules = new Map<string, string>();
  for (const m of section.matchAll(/^\d+\. <a id="(safety-[a-z-]+)"><\/a>\*\*([^*]+?)\.\*\*/gm)) rules.set(m[1] as string, m[2] as string);
  return rules;
}

describe('citations of the README safety rules', () => {
  const rules = safetyRules();
  const titles = new Set(rules.values());
  const all = [...FOLDERS.flatMap((folder) => files(join(ROOT, folder))), ...TOP.map((file) => join(ROOT, file))];
  // This file names the forms it looks for; it is not a citation.
  const self = fileURLToPath(import.meta.url);
  const texts = all.filter((file) => file !== self).map((file) => ({ file: relative(ROOT, file), text: readFileSync(file, 'utf8') }));

  it('the README gives each safety rule an anchor and a title', () => {
    expect(rules.size).toBeGreaterThanOrEqual(7);
    expect(rules.get('safety-whose-clock')).toBe('Whose clock');
  });

  it('no citation by number is left', () => {
    const numbered = texts.flatMap(({ file, text }) => [...text.matchAll(/safety,? points? \d+/g)].map((m) => `${file}: ${m[0]}`));
    expect(numbered).toEqual([]);
  });

  it('every citation by name names a rule the README has', () => {
    const cited = texts.flatMap(({ file, text }) => [...text.matchAll(/README safety: "([^"]+)"/g)].map((m) => ({ file, title: m[1] as string })));
    expect(cited.length).toBeGreaterThan(10);
    expect(cited.filter(({ title }) => !titles.has(title))).toEqual([]);
  });

  it('every link to a safety anchor points at one the README has', () => {
    const links = texts.flatMap(({ file, text }) =>
      [...text.matchAll(/README\.md#(safety-[a-z-]+)|\]\(#(safety-[a-z-]+)\)/g)].map((m) => ({ file, id: (m[1] ?? m[2]) as string })),
    );
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter(({ id }) => id !== 'safety-in-plain-words' && !rules.has(id))).toEqual([]);
  });
});
