/**
 * OpenTelemetry is an optional peer dependency used by `leasehold/otel` alone: importing `leasehold` or any other
 * entry point loads no OpenTelemetry package. Checked twice on the built JavaScript (each source file compiled on its
 * own by esbuild with the build's tsconfig, as tsc emits it): its static import graph from every export, and Node
 * importing every entry point with `@opentelemetry/*` hidden (a resolve hook that answers "not found").
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, '.tmp', `otel-absent-${process.pid}`);
const DIST = join(WORK, 'dist');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };

/** Export subpath → its built file. */
const entries = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target !== 'string')
  .map(([subpath, target]) => [subpath, join(WORK, (target as { default: string }).default)] as const);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every module specifier a built file imports at run time (static, re-exports, side-effect and dynamic imports). */
function specifiers(file: string): string[] {
  const code = readFileSync(file, 'utf8');
  const found = [
    ...code.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm),
    ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((m) => m[1] ?? '');
}

/** The packages (bare specifiers) reachable from `entry` through relative imports. */
function packagesReachedFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(entry);
  return packages;
}

beforeAll(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  await build({
    entryPoints: files(join(ROOT, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    outdir: DIST,
    outbase: join(ROOT, 'src'),
    bundle: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    tsconfig: join(ROOT, 'tsconfig.build.json'),
    logLevel: 'error',
  });
  // Node's resolve hook: every @opentelemetry/* package is "not installed".
  writeFileSync(
    join(WORK, 'hide-otel.mjs'),
    [
      'export async function resolve(specifier, context, next) {',
      "  if (specifier.startsWith('@opentelemetry/')) {",
      '    throw Object.assign(new Error("Cannot find package \'" + specifier + "\' (hidden by the test)"), { code: \'ERR_MODULE_NOT_FOUND\' });',
      '  }',
      '  return next(specifier, context);',
      '}',
    ].join('\n'),
  );
  writeFileSync(
    join(WORK, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(WORK, 'hide-otel.mjs')).href)});\n`,
  );
}, 60_000);
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe('OpenTelemetry is loaded by leasehold/otel only', () => {
  it('the built import graph: no entry point but ./otel reaches an @opentelemetry package', () => {
    expect(entries.map(([subpath]) => subpath)).toEqual(expect.arrayContaining(['.', './otel', './logger', './memory', './postgres']));
    for (const [subpath, file] of entries) {
      const reached = [...packagesReachedFrom(file)];
      const otel = reached.filter((p) => p.startsWith('@opentelemetry/'));
      if (subpath === './otel') expect(otel, subpath).toEqual(['@opentelemetry/api']);
      else expect(otel, `${subpath} (${relative(WORK, file)}) reaches ${otel.join(', ')}`).toEqual([]);
    }
    // The core (leasehold) reaches no package but croner (cron expressions of schedules; pure JS, no dependencies of its
    // own, runs in Workers), and no node: module.
    expect([...packagesReachedFrom(join(DIST, 'index.js'))]).toEqual(['croner']);
  });

  it('Node imports every entry point with @opentelemetry/* hidden; leasehold/otel alone fails, and loads once it is there', async () => {
    const script = [
      'const results = {};',
      ...entries.map(
        ([subpath, file]) =>
          `try { await import(${JSON.stringify(pathToFileURL(file).href)}); results[${JSON.stringify(subpath)}] = 'loaded'; } catch (e) { results[${JSON.stringify(subpath)}] = String(e.message).slice(0, 200); }`,
      ),
      'console.log(JSON.stringify(results));',
    ].join('\n');
    const importAll = async (hidden: boolean) => {
      const args = [...(hidden ? ['--import', pathToFileURL(join(WORK, 'register.mjs')).href] : []), '--input-type=module', '-e', script];
      const { stdout } = await run(process.execPath, args, { cwd: WORK, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string>;
    };
    const hidden = await importAll(true);
    expect(Object.keys(hidden).sort()).toEqual(entries.map(([subpath]) => subpath).sort());
    for (const subpath of Object.keys(hidden)) {
      if (subpath === './otel') expect(hidden[subpath], subpath).toMatch(/Cannot find package '@opentelemetry\/api' \(hidden by the test\)/);
      else expect(hidden[subpath], subpath).toBe('loaded');
    }
    const present = await importAll(false);
    expect(present['./otel']).toBe('loaded');
  }, 60_000);
});
