/**
 * Starts test/support/lease-worker.ts in workerd through Miniflare (bundled with esbuild; telemetry off, `cf: false`),
 * with `TestLeaseObject` bound as the SQLite-backed Durable Object namespace `LEASES`, and gives a `Store` in Node
 * that relays every call to a `DurableObjectStore` running inside workerd (one `dispatchFetch` per call).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { LeaseholdError, type LeaseholdErrorCode } from '../../src/errors.js';
import type { Store } from '../../src/store.js';

process.env.WRANGLER_SEND_METRICS = 'false';

/** The same date the example Worker is deployed with. */
export const COMPATIBILITY_DATE = '2024-09-23';

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./lease-worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}

/** Starts the Worker; `port` serves it on 127.0.0.1 too (for a browser). */
export async function startLeaseWorker(bindings: { LEASE_NAMES: string; ADMIN_TOKEN: string }, port?: number): Promise<Miniflare> {
  const mf = new Miniflare({
    modules: true,
    script: await bundle(),
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: { LEASES: { className: 'TestLeaseObject', useSQLite: true } },
    bindings,
    cf: false,
    ...(port === undefined ? {} : { host: '127.0.0.1', port }),
  });
  await mf.ready;
  return mf;
}

/** A Store whose every call runs `DurableObjectStore` inside workerd (`POST /store`). */
export function relayStore(mf: Miniflare, timeoutMs?: number): Store & { calls: number } {
  const relay = {
    kind: 'durable-object',
    clockSource: 'store' as const,
    calls: 0,
    async call(op: string, args: unknown[]) {
      relay.calls++;
      const response = await mf.dispatchFetch(`http://worker.test/store${timeoutMs ? `?timeoutMs=${timeoutMs}` : ''}`, {
        method: 'POST',
        body: JSON.stringify({ op, args }),
      });
      const body = (await response.json()) as { result?: unknown; error?: { code?: LeaseholdErrorCode; message: string } };
      if (body.error) throw body.error.code ? new LeaseholdError(body.error.code, body.error.message) : new Error(body.error.message);
      return body.result as never;
    },
  };
  return Object.assign(relay, {
    read: (name: string) => relay.call('read', [name]),
    create: (write: unknown) => relay.call('create', [write]),
    replace: (version: string, write: unknown) => relay.call('replace', [version, write]),
    claim: (request: unknown) => relay.call('claim', [request]),
    // The signal cannot cross into workerd (the core stops waiting at its bound anyway); expectedVersion does.
    releaseHolder: (name: string, holder: string, version: string, clientNow: number, options?: { expectedVersion?: string }) =>
      relay.call('releaseHolder', [
        name,
        holder,
        version,
        clientNow,
        options?.expectedVersion === undefined ? undefined : { expectedVersion: options.expectedVersion },
      ]),
  }) as Store & { calls: number };
}
