/**
 * The package as users get it: `npm pack` (which builds first, `prepack`), the tarball installed (from npm's cache where it can) into a fresh
 * project, and then, against that installed copy only, the examples and every TypeScript snippet of the README
 * type-checked (strict, NodeNext; the Worker ones with `@cloudflare/workers-types`), the examples bundled by esbuild
 * through the package's `exports`, and the package imported and run by Node. Also: the tarball ships a LICENSE, no
 * sources, and source maps that carry their sources (so they work without `src/`).
 *
 * The project lives under `.tmp/` in this repository, so the SDKs the examples import (optional peer dependencies)
 * resolve from the repository's `node_modules`, as npm would install them next to leasehold; `leasehold` itself
 * resolves only to the installed tarball (the project has its own package.json, no tsconfig paths).
 * @module
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, '.tmp', `pack-${process.pid}`);
const PROJECT = join(WORK, 'consumer');
const INSTALLED = join(PROJECT, 'node_modules', 'leasehold');
const NODE_DIR = join(PROJECT, 'node');
const WORKER_DIR = join(PROJECT, 'worker');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
let tarball = '';
let packedFiles: string[] = [];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The ```ts blocks of a markdown file, with the line each starts on. */
function tsBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1] !== '```') i++;
    blocks.push({ line: start + 1, code: lines.slice(start, i + 1).join('\n') });
  }
  return blocks;
}

const compilerOptions = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  skipLibCheck: true,
  noEmit: true,
};

beforeAll(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(PROJECT, { recursive: true });
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', WORK], { cwd: ROOT, env, maxBuffer: 32 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error(`npm pack printed no result: ${stdout}`);
  tarball = join(WORK, packed.filename);
  packedFiles = packed.files.map((f) => f.path).sort();
  writeFileSync(join(PROJECT, 'package.json'), JSON.stringify({ name: 'leasehold-consumer', private: true, type: 'module' }, null, 2));
  // From the cache where it can: the tarball's one dependency (croner) is in it after the project's own `npm ci`, but
  // its registry metadata may not be (npm ci reads the lock file, not the registry), so a fresh machine asks for that
  // once; the SDK peers are optional and not installed.
  await run('npm', ['install', '--prefer-offline', '--no-package-lock', '--ignore-scripts', tarball], { cwd: PROJECT, env });
  // The examples and the README's snippets, as a user would copy them: Node files, and Worker files.
  mkdirSync(NODE_DIR);
  mkdirSync(WORKER_DIR);
  copyFileSync(join(ROOT, 'examples/lambda-scheduled/handler.ts'), join(NODE_DIR, 'lambda-handler.ts'));
  copyFileSync(join(ROOT, 'examples/demo/demo.ts'), join(NODE_DIR, 'demo.ts'));
  copyFileSync(join(ROOT, 'examples/cloudflare-worker/worker.ts'), join(WORKER_DIR, 'worker.ts'));
  for (const { line, code } of tsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'))) {
    // A snippet that uses Cloudflare's globals is a Worker file; the rest are Node files.
    const dir = /\bScheduledController\b|\bExecutionContext\b/.test(code) ? WORKER_DIR : NODE_DIR;
    writeFileSync(join(dir, `readme-line-${line}.ts`), code);
  }
  writeFileSync(
    join(NODE_DIR, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['ES2022', 'DOM'], types: ['node'] }, include: ['*.ts'] }),
  );
  writeFileSync(
    join(WORKER_DIR, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['ES2022'], types: ['@cloudflare/workers-types'] }, include: ['*.ts'] }),
  );
}, 180_000);
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe('the packed package (npm pack, installed into a fresh project)', () => {
  it('ships the build, the SQL schema, README, CHANGELOG and an MIT LICENSE, and what the README links to; no sources or tests', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'sql/postgres.sql', 'dist/index.js', 'dist/index.d.ts']),
    );
    const shipped =
      /^(dist\/|sql\/|docs\/|examples\/|infra\/|bench\/latency\.svg$|wrangler\.toml$|LICENSE$|(README|CHANGELOG|SAFETY|BENCHMARKS)\.md$|package\.json$)/;
    expect(packedFiles.filter((f) => !shipped.test(f))).toEqual([]);
    // Code outside dist/ is only the examples and the infrastructure the README links to, never the library's sources.
    expect(packedFiles.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !/^(examples|infra)\//.test(f))).toEqual([]);
    expect(packedFiles.some((f) => /^(src|test)\//.test(f) || /(^|\/)(node_modules|dist)\//.test(f.replace(/^dist\//, '')))).toBe(false);
    expect(readFileSync(join(INSTALLED, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(JSON.parse(readFileSync(join(INSTALLED, 'package.json'), 'utf8')).license).toBe('MIT');
    // Every export target is in the tarball.
    const pkg = JSON.parse(readFileSync(join(INSTALLED, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> };
    for (const target of Object.values(pkg.exports)) {
      for (const file of typeof target === 'string' ? [target] : [target.types, target.default]) expect(packedFiles, file).toContain(file.replace(/^\.\//, ''));
    }
  });

  it('every relative link of every Markdown file in the package resolves to a file in the package', () => {
    const broken: string[] = [];
    for (const doc of packedFiles.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(INSTALLED, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (target === undefined || /^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const path = join(dirname(doc), target.replace(/#.*$/, '')).replace(/\/$/, '');
        if (!packedFiles.some((f) => f === path || f.startsWith(`${path}/`))) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('source maps carry their sources: each one names only sources it embeds (no src/ is shipped)', () => {
    const maps = packedFiles.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(5);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(INSTALLED, map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(sources.length, map).toBeGreaterThan(0);
      expect(sourcesContent?.length, map).toBe(sources.length);
      for (const content of sourcesContent ?? []) expect(content?.length ?? 0, map).toBeGreaterThan(0);
    }
  });

  it('Node imports it by name from the installed copy (ESM) and it runs', async () => {
    const script = [
      "import { tryLead, isLeaseholdError } from 'leasehold';",
      "import { MemoryStore } from 'leasehold/memory';",
      "const lead = await tryLead(new MemoryStore(), { name: 'packed', holder: 'a', ttlMs: 5000 });",
      "const bad = await tryLead(new MemoryStore(), { name: '', holder: 'a' }).catch((e) => isLeaseholdError(e, 'INVALID_NAME'));",
      "console.log(JSON.stringify({ isLeader: lead.isLeader, token: lead.token, bad, from: import.meta.resolve('leasehold') }));",
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: PROJECT });
    const out = JSON.parse(stdout) as { isLeader: boolean; token: number; bad: boolean; from: string };
    expect(out).toMatchObject({ isLeader: true, token: 1, bad: true });
    expect(fileURLToPath(out.from)).toBe(join(INSTALLED, 'dist', 'index.js'));
  });

  it('its bin runs from the installed copy with npx (no build step for the user): --help, and a run on memory:', async () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['dist/cli/bin.js', 'dist/cli/main.js', 'dist/cli/commands/run/index.js']));
    const env = {
      ...process.env,
      npm_config_update_notifier: 'false',
      npm_config_offline: 'true',
      PATH: `${join(PROJECT, 'node_modules', '.bin')}:${process.env.PATH}`,
    };
    const help = await run('npx', ['--no-install', 'leasehold', '--help'], { cwd: PROJECT, env });
    expect(help.stdout).toMatch(/^Usage: leasehold <command> \[options\]/);
    expect((await run('npx', ['--no-install', 'leasehold', 'run', '--help'], { cwd: PROJECT, env })).stdout).toContain('--conflict-exit-code');
    const ran = await run(
      'npx',
      ['--no-install', 'leasehold', 'run', '--store', 'memory:', '--name', 'packed', '--ttl', '5s', '--', 'sh', '-c', 'echo "token $LEASEHOLD_FENCING_TOKEN"'],
      {
        cwd: PROJECT,
        env,
      },
    );
    expect(ran.stdout).toBe('token 1\n');
    // The installed bin is the packed build, never the repository's sources.
    const bin = execFileSync('readlink', ['-f', join(PROJECT, 'node_modules', '.bin', 'leasehold')], { encoding: 'utf8' }).trim();
    expect(bin).toBe(join(INSTALLED, 'dist', 'cli', 'bin.js'));
  }, 60_000);

  it('the examples and every README snippet type-check against it (Node files, and Worker files with @cloudflare/workers-types)', async () => {
    const snippets = readdirSync(NODE_DIR)
      .concat(readdirSync(WORKER_DIR))
      .filter((f) => f.startsWith('readme-line-'));
    expect(snippets.length).toBeGreaterThanOrEqual(6);
    const [node, worker] = [NODE_DIR, WORKER_DIR];
    for (const dir of [node, worker]) {
      const result = await run(process.execPath, [TSC, '-p', dir, '--pretty', 'false', '--traceResolution'], { cwd: dir, maxBuffer: 256 * 1024 * 1024 }).catch(
        (error: { stdout?: string; stderr?: string }) => {
          const errors = (error.stdout ?? '')
            .split('\n')
            .filter((l) => /error TS/.test(l))
            .join('\n');
          throw new Error(`tsc -p ${relative(ROOT, dir)} failed:\n${errors}${error.stderr ?? ''}`);
        },
      );
      // `leasehold` resolved to the installed tarball's declarations, never to the repository's sources.
      const resolved = [...result.stdout.matchAll(/Module name '(leasehold[^']*)' was successfully resolved to '([^']+)'/g)].map((m) => [m[1], m[2]]);
      expect(resolved.length, dir).toBeGreaterThan(0);
      for (const [name, file] of resolved) expect(file, name).toMatch(new RegExp(`^${INSTALLED.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/dist/.+\\.d\\.ts$`));
    }
  }, 120_000);

  it('esbuild bundles the Lambda handler (Node) and the Worker (workerd conditions) through the package’s exports', async () => {
    const bundle = async (entry: string, options: Parameters<typeof build>[0]) => {
      const result = await build({
        entryPoints: [entry],
        absWorkingDir: PROJECT,
        bundle: true,
        format: 'esm',
        metafile: true,
        write: false,
        logLevel: 'error',
        ...options,
      });
      return Object.keys(result.metafile?.inputs ?? {});
    };
    const lambdaInputs = await bundle('node/lambda-handler.ts', { platform: 'node', target: 'node22' });
    const workerInputs = await bundle('worker/worker.ts', { platform: 'browser', conditions: ['workerd', 'worker', 'browser'], target: 'es2022' });
    for (const inputs of [lambdaInputs, workerInputs]) {
      const leasehold = inputs.filter((i) => i.includes('leasehold/'));
      expect(leasehold.length).toBeGreaterThan(0);
      for (const input of leasehold) expect(input).toMatch(/^node_modules\/leasehold\/dist\/.+\.js$/);
      expect(inputs.some((i) => i.includes('/src/'))).toBe(false);
    }
    // The Worker bundle carries no SDK and no node: module.
    expect(workerInputs.filter((i) => /@aws-sdk|@google-cloud|node_modules\/pg\//.test(i))).toEqual([]);
  }, 60_000);
});

it('the repository resolves its own name to its sources (tsconfig paths = package.json exports)', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };
  const tsconfig = readFileSync(join(ROOT, 'tsconfig.json'), 'utf8');
  const paths = JSON.parse(/"paths":\s*(\{[^}]*\})/.exec(tsconfig)?.[1] ?? '{}') as Record<string, string[]>;
  const fromExports = Object.fromEntries(
    Object.entries(pkg.exports)
      .filter(([subpath]) => subpath !== './package.json')
      .map(([subpath, target]) => [
        subpath === '.' ? 'leasehold' : `leasehold/${subpath.slice(2)}`,
        [`./${(typeof target === 'string' ? target : target.default).replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`],
      ]),
  );
  expect(paths).toEqual(fromExports);
  expect(files(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts') && /from '\.\.\/\.\.\/src\//.test(readFileSync(f, 'utf8')))).toEqual([]);
});
