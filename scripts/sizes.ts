/**
 * `npm run sizes`: measures what a Worker bundles and writes the figures into README.md and the Worker example's
 * README (between `<!-- sizes:NAME -->` and `<!-- /sizes -->`), so they are generated, never copied by hand:
 * - `worker`: the example Worker as `wrangler deploy --dry-run` bundles it from wrangler.toml (wrangler's own
 *   "Total Upload … / gzip …" line);
 * - `core-do`: what a cron Worker on the Durable Object store imports (`tryLead`, `runExclusive`, `release`,
 *   `getLeader`, `DurableObjectStore`, `LeaseDurableObject`), bundled and minified by esbuild for the browser
 *   platform, and gzipped (level 9).
 * `test/system/cloudflare-worker.test.ts` checks the README's worker figure against its own bundle.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MARKED = ['README.md', 'examples/cloudflare-worker/README.md'];

/** A bundle's size: KiB as printed, and gzipped. */
export interface Size {
  kib: number;
  gzipKib: number;
}

/** Reads wrangler's "Total Upload: 133.16 KiB / gzip: 36.09 KiB" line. */
export function parseWranglerSize(output: string): Size {
  const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
  if (!m) throw new Error(`no "Total Upload" line in wrangler's output:\n${output}`);
  return { kib: Number(m[1]), gzipKib: Number(m[2]) };
}

/** The figures as the READMEs show them. */
export function formatSize(size: Size, precision = 2): string {
  return `${size.kib.toFixed(precision)} KiB, ${size.gzipKib.toFixed(precision)} KiB gzipped`;
}

/** The figure between `<!-- sizes:NAME -->` and `<!-- /sizes -->` in `markdown`, read back as a {@link Size}. */
export function readMarkedSize(markdown: string, name: string): Size | undefined {
  const m = new RegExp(`<!-- sizes:${name} -->([\\d.]+) KiB, ([\\d.]+) KiB gzipped<!-- /sizes -->`).exec(markdown);
  return m ? { kib: Number(m[1]), gzipKib: Number(m[2]) } : undefined;
}

async function measureWorker(): Promise<Size> {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-sizes-'));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
        'deploy',
        '--dry-run',
        '--outdir',
        join(dir, 'out'),
        '--config',
        join(ROOT, 'wrangler.toml'),
      ],
      {
        cwd: ROOT,
        timeout: 120_000,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          WRANGLER_SEND_ERROR_REPORTS: 'false',
          WRANGLER_HIDE_BANNER: 'true',
          WRANGLER_LOG_PATH: join(dir, 'logs'),
          XDG_CONFIG_HOME: join(dir, 'config'),
          NO_COLOR: '1',
        },
      },
    );
    return parseWranglerSize(`${stdout}\n${stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureCoreWithDurableObject(): Promise<Size> {
  const result = await build({
    stdin: {
      // What a cron Worker on the Durable Object store imports: the calls it makes, the store and the object class.
      contents:
        "export { getLeader, release, runExclusive, tryLead } from './src/index.ts';\nexport { DurableObjectStore, LeaseDurableObject } from './src/stores/durable-object.ts';\n",
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { kib: code.byteLength / 1024, gzipKib: gzipSync(code, { level: 9 }).byteLength / 1024 };
}

async function main(): Promise<void> {
  process.stdout.write('bundling the example Worker with wrangler (dry run)…\n');
  const worker = await measureWorker();
  process.stdout.write(`  worker: ${formatSize(worker)}\n`);
  process.stdout.write('bundling the core with DurableObjectStore with esbuild (minified)…\n');
  const coreDo = await measureCoreWithDurableObject();
  process.stdout.write(`  core + DurableObjectStore: ${formatSize(coreDo, 1)}\n`);
  const figures: Record<string, string> = { worker: formatSize(worker), 'core-do': formatSize(coreDo, 1) };
  for (const file of MARKED) {
    const path = join(ROOT, file);
    let text = readFileSync(path, 'utf8');
    for (const [name, figure] of Object.entries(figures)) {
      text = text.replace(new RegExp(`(<!-- sizes:${name} -->)[^<]*(<!-- /sizes -->)`, 'g'), `$1${figure}$2`);
    }
    writeFileSync(path, text);
    process.stdout.write(`updated ${file}\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
