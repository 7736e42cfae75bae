import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  peerDependenciesMeta: Record<string, { optional: boolean }>;
  peerDependencies: Record<string, string>;
  sideEffects: boolean;
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('package layout', () => {
  it('every subpath export points at a source entry point with a module header', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      const source = target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(existsSync(source), `${subpath} → ${source}`).toBe(true);
      expect(readFileSync(source, 'utf8'), `${source} starts with a /** … @module */ header`).toMatch(/^\/\*\*[\s\S]*?@module[\s\S]*?\*\//);
    }
  });

  it('the core imports no SDK and no node: module, so it runs in Lambda, Workers and browsers', () => {
    const core = files('src').filter(
      (f) =>
        !f.includes(`${join('src', 'stores')}`) &&
        !f.includes(join('src', 'testing')) &&
        !f.includes(join('src', 'hono')) &&
        !f.includes(join('src', 'otel')) &&
        !f.includes(join('src', 'cli')),
    );
    expect(core.length).toBeGreaterThan(4);
    for (const file of core) {
      // Statements only (a line that starts with import/export), not the `@example` lines of JSDoc.
      const imports = [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gm)].map((m) => m[1] ?? '');
      // One dependency is allowed: croner (schedules' cron expressions), pure JS with no dependencies of its own, which
      // runs in Node, Workers and browsers alike. No SDK, no node: module.
      for (const spec of imports) expect(spec.startsWith('.') || spec === 'croner', `${file} imports ${spec}`).toBe(true);
    }
    expect(Object.keys((pkg as { dependencies?: object }).dependencies ?? {})).toEqual(['croner']);
  });

  it('stores import no SDK at run time (users pass their own clients) and SDKs are optional peers', () => {
    for (const file of files(join('src', 'stores'))) {
      const runtime = [...readFileSync(file, 'utf8').matchAll(/^import (?!type)[^;]*from '([^']+)'/gm)].map((m) => m[1] ?? '');
      for (const spec of runtime) expect(spec.startsWith('.') || spec.startsWith('@aws-sdk/'), `${file} imports ${spec}`).toBe(true);
    }
    for (const peer of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[peer]?.optional, peer).toBe(true);
    expect(pkg.sideEffects).toBe(false);
  });

  it('leasehold/hono imports only hono (an optional peer) and the core', () => {
    for (const file of files(join('src', 'hono'))) {
      const runtime = [...readFileSync(file, 'utf8').matchAll(/^import (?!type)[^;]*from '([^']+)'/gm)].map((m) => m[1] ?? '');
      for (const spec of runtime) expect(spec.startsWith('.') || spec === 'hono' || spec.startsWith('hono/'), `${file} imports ${spec}`).toBe(true);
    }
    expect(pkg.peerDependenciesMeta.hono?.optional).toBe(true);
  });

  it('leasehold/otel imports only @opentelemetry/api (an optional peer) and the core; leasehold/logger only the core', () => {
    for (const file of files(join('src', 'otel'))) {
      const runtime = [...readFileSync(file, 'utf8').matchAll(/^import (?!type)[^;]*from '([^']+)'/gm)].map((m) => m[1] ?? '');
      for (const spec of runtime) expect(spec.startsWith('.') || spec === '@opentelemetry/api', `${file} imports ${spec}`).toBe(true);
    }
    expect(pkg.peerDependenciesMeta['@opentelemetry/api']?.optional).toBe(true);
    // test/otel/otel-absent.test.ts checks the built import graph and Node's loading, with OpenTelemetry hidden.
  });

  it('the CLI (src/cli) imports only node: modules and leasehold itself at load; each SDK only by import() when its scheme is used', () => {
    for (const file of files(join('src', 'cli'))) {
      const text = readFileSync(file, 'utf8');
      const runtime = [...text.matchAll(/^import (?!type)[^;]*from '([^']+)'/gm)].map((m) => m[1] ?? '');
      for (const spec of runtime) expect(spec.startsWith('.') || spec.startsWith('node:'), `${file} imports ${spec}`).toBe(true);
      for (const [, spec] of text.matchAll(/import\('([^']+)'\)/g)) {
        expect(
          spec?.startsWith('../stores/') || ['pg', 'ioredis', 'redis', '@aws-sdk/client-dynamodb', '@google-cloud/firestore'].includes(spec ?? ''),
          `${file} imports ${spec}`,
        ).toBe(true);
      }
    }
    const bin = (pkg as unknown as { bin: Record<string, string> }).bin;
    expect(bin).toEqual({ leasehold: './dist/cli/bin.js' });
    expect(readFileSync(join('src', 'cli', 'bin.ts'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });
});
