/**
 * The house's arrows run one way. The core (`src/*.ts`, `src/tracker/`) imports no other room; each room above it
 * (stores, observe, otel, logger, hono, testing, cli) imports only the rooms below it; and no file imports itself back
 * through a chain of others (type imports included). A move that breaks either fails here, with the path.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** What each room may import besides itself: the rooms below it. */
const BELOW: Record<string, readonly string[]> = {
  core: [],
  stores: ['core'],
  observe: ['core'],
  otel: ['core', 'observe'],
  logger: ['core', 'observe'],
  hono: ['core'],
  testing: ['core'],
  cli: ['core', 'stores'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sources(path) : entry.endsWith('.ts') ? [path] : [];
  });
}

function roomOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 || parts[0] === 'tracker' ? 'core' : (parts[0] as string);
}

/** Relative imports and re-exports of `file` (static and `import()`), as source paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...[...text.matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gm)].map((m) => m[1] as string),
    ...[...text.matchAll(/import\('(\.[^']+)'\)/g)].map((m) => m[1] as string),
  ];
  return specs.map((spec) => normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
}

describe('the layers of src/', () => {
  const files = sources(SRC);
  const graph = new Map(files.map((file) => [file, importsOf(file)]));

  it('every relative import names a file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !existsSync(t)).map((t) => `${relative(SRC, file)} → ${relative(SRC, t)}`));
    expect(missing).toEqual([]);
  });

  it('each room imports only itself and the rooms below it; the core imports no other room', () => {
    expect(new Set(files.map(roomOf))).toEqual(new Set(Object.keys(BELOW)));
    const upward = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((t) => roomOf(t) !== roomOf(file) && !(BELOW[roomOf(file)] ?? []).includes(roomOf(t)))
        .map((t) => `${relative(SRC, file)} (${roomOf(file)}) → ${relative(SRC, t)} (${roomOf(t)})`),
    );
    expect(upward).toEqual([]);
  });

  it('no file imports itself back through others (no cycle, type imports included)', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(SRC, f)).join(' → '));
        else if (!state.has(next)) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
