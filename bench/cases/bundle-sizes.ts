/**
 * Worker bundle sizes: esbuild, minified ESM with Worker conditions, gzip -9: leasehold's core plus one store, then
 * with that store's SDK.
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { say } from '../harness.js';
import { emptyPart, type ReportPart } from '../report.js';

/** Bundles the core with each store for a Worker and measures it. */
export async function bundleSizes(): Promise<ReportPart> {
  const part = emptyPart();
  say('\nWorker bundle sizes (esbuild, minified, ESM, browser conditions; gzip -9)');
  const entries: [string, string, string[]][] = [
    ['memory', "import { tryLead } from 'leasehold'; import { MemoryStore } from 'leasehold/memory'; export { tryLead, MemoryStore };", []],
    ['postgres', "import { tryLead } from 'leasehold'; import { PostgresStore } from 'leasehold/postgres'; export { tryLead, PostgresStore };", []],
    [
      'dynamodb',
      "import { tryLead } from 'leasehold'; import { DynamoDBStore } from 'leasehold/dynamodb'; export { tryLead, DynamoDBStore };",
      ['@aws-sdk/client-dynamodb'],
    ],
    [
      'firestore-rest',
      "import { tryLead } from 'leasehold'; import { FirestoreRestStore } from 'leasehold/firestore-rest'; export { tryLead, FirestoreRestStore };",
      [],
    ],
    ['durable-object', "import { tryLead } from 'leasehold'; import * as d from 'leasehold/durable-object'; export { tryLead, d };", []],
  ];
  for (const [store, contents, sdk] of entries) {
    const size = async (external: string[]) => {
      const out = await build({
        stdin: { contents, resolveDir: process.cwd(), loader: 'ts' },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        conditions: ['workerd', 'worker', 'browser'],
        tsconfig: 'tsconfig.json',
        external: [...external, 'node:*', 'cloudflare:*'],
        write: false,
        logLevel: 'silent',
      });
      const code = out.outputFiles[0]?.contents ?? new Uint8Array();
      return { raw: code.length, gz: gzipSync(code, { level: 9 }).length };
    };
    try {
      const own = await size(sdk);
      const withSdk = sdk.length ? await size([]).catch(() => undefined) : own;
      part.bundleRows.push(
        `| ${store} | ${(own.gz / 1024).toFixed(1)} KiB | ${sdk.length ? (withSdk ? `${(withSdk.gz / 1024).toFixed(1)} KiB` : 'does not bundle for a Worker') : 'no SDK (fetch, or your driver)'} |`,
      );
      say(
        `  ${store.padEnd(15)} leasehold ${(own.gz / 1024).toFixed(1)} KiB gzip${withSdk && sdk.length ? `, with ${sdk[0]} ${(withSdk.gz / 1024).toFixed(1)} KiB` : ''}`,
      );
    } catch (error) {
      part.bundleRows.push(`| ${store} | did not bundle: ${String((error as Error).message).split('\n')[0]} | |`);
    }
  }
  return part;
}
