/**
 * A Cloudflare Worker for test/stores/durable-object.test.ts and test/hono/hono.test.ts, bundled with esbuild and run in workerd
 * (Miniflare): `LeaseDurableObject` (with test hooks), `DurableObjectStore` and `leasehold/hono`, all inside workerd.
 *
 * - `POST /store?timeoutMs=` `{ op, args }`: one call of a `DurableObjectStore` method, made inside workerd;
 *   answers `{ result }` or `{ error: { code?, message } }`. The test's relay store (in Node) sends every call here.
 * - `POST /expire?name=`: ages the lease in its object (its expiry set just before the object's clock).
 * - `GET /count?name=`: how many store requests that lease's object has answered.
 * - `POST /raw?name=`: the request body as it is, straight to that lease's object (as any code with the binding can).
 * - `POST /age?name=&heldMs=&leftMs=`: makes the lease look held for `heldMs` and renewed, `leftMs` left.
 * - `/app/*`: `createLeaseApp` over the Durable Object store, names from `LEASE_NAMES`, admin token `ADMIN_TOKEN`.
 * - `/closed/*`: the same app without an admin token.
 * - `/data/*`: the same app with `exposeData: true` and a page title and poll interval.
 * - `/live/*`: the same app with an admin token, polling every 250 ms, `ledger-compactor` 15 s long (test/hono/status-page.test.ts).
 * - `/node/*`: an instance's app with its `Elector` (MemoryStore, ManualClock, a fault wrapper) for health codes,
 *   driven by `POST /ctl/{start,stop,advance?ms=,down?on=,claim?holder=}`.
 */
import { Hono } from 'hono';
import { ManualClock } from '../../src/clock.js';
import { Elector } from '../../src/elector.js';
import { isLeaseholdError } from '../../src/errors.js';
import { createLeaseApp } from '../../src/hono/index.js';
import { tryLead } from '../../src/lead.js';
import type { Store } from '../../src/store.js';
import { type DurableObjectNamespaceLike, DurableObjectStore, LeaseDurableObject } from '../../src/stores/durable-object.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { withFaults } from '../../src/testing/faults.js';

/** Bindings Miniflare passes in. */
export interface Env {
  LEASES: DurableObjectNamespaceLike;
  LEASE_NAMES: string;
  ADMIN_TOKEN: string;
}

/** `LeaseDurableObject` plus two test hooks: age the lease, count the store requests answered; names starting with `hang-` never answer. */
export class TestLeaseObject extends LeaseDurableObject {
  private requests = 0;

  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === '/__count') return Response.json({ requests: this.requests });
    if (path === '/__expire') {
      const record = await this.state.storage.get<{ expiresAt: number }>('lease');
      if (record) await this.state.storage.put('lease', { ...record, expiresAt: this.now() - 1 });
      return Response.json({ expired: record !== undefined });
    }
    if (path === '/__age') {
      // A lease held long and renewed since: acquiredAt moved back, expiresAt as given (ms from the object's now).
      const url = new URL(request.url);
      const record = await this.state.storage.get<{ acquiredAt: number; expiresAt: number }>('lease');
      if (record) {
        const now = this.now();
        await this.state.storage.put('lease', {
          ...record,
          acquiredAt: now - Number(url.searchParams.get('heldMs')),
          expiresAt: now + Number(url.searchParams.get('leftMs')),
        });
      }
      return Response.json({ aged: record !== undefined });
    }
    this.requests++;
    // Any body at all may arrive (test/stores/durable-object.test.ts sends hostile ones): the object itself answers it.
    const body = (await request
      .clone()
      .json()
      .catch(() => null)) as { name?: unknown; write?: { name?: unknown }; request?: { name?: unknown } } | null;
    const name = typeof body === 'object' && body !== null ? (body.name ?? body.write?.name ?? body.request?.name) : undefined;
    if (typeof name === 'string' && name.startsWith('hang-')) return new Promise<Response>(() => {});
    return super.fetch(request);
  }
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

async function storeCall(request: Request, env: Env): Promise<Response> {
  const timeout = new URL(request.url).searchParams.get('timeoutMs');
  const store = new DurableObjectStore({ namespace: env.LEASES, ...(timeout ? { timeoutMs: Number(timeout) } : {}) });
  const { op, args } = (await request.json()) as { op: 'read' | 'create' | 'replace' | 'claim' | 'releaseHolder'; args: unknown[] };
  try {
    const method = store[op] as (...a: unknown[]) => Promise<unknown>;
    return json({ result: await method.apply(store, args) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return json({ error: isLeaseholdError(error) ? { code: error.code, message } : { message } });
  }
}

const stub = (env: Env, name: string) => env.LEASES.get(env.LEASES.idFromName(name) as never);

// An instance with its own elector, all on one manual clock; the store can be taken down.
const clock = new ManualClock();
const memory = new MemoryStore({ clock });
const faulty = withFaults(memory);
const elector = new Elector(faulty, { name: 'singleton', holder: 'this-node', ttlMs: 9_000, maxClockSkewMs: 1_000, clock });
const nodeApp = createLeaseApp({ store: faulty as Store, names: ['singleton'], health: { elector, name: 'singleton' }, clock });

const app = new Hono<{ Bindings: Env }>();
const leaseOptions = {
  store: (c: { env: Env }) => new DurableObjectStore({ namespace: c.env.LEASES }),
  names: (c: { env: Env }) => c.env.LEASE_NAMES.split(','),
};
app.route('/app', createLeaseApp({ ...leaseOptions, adminToken: (c) => (c.env as Env).ADMIN_TOKEN }));
app.route('/closed', createLeaseApp(leaseOptions));
app.route('/data', createLeaseApp({ ...leaseOptions, exposeData: true, page: { title: 'Leases <prod>', pollMs: 250 } }));
app.route(
  '/live',
  createLeaseApp({
    ...leaseOptions,
    adminToken: (c) => (c.env as Env).ADMIN_TOKEN,
    page: { title: 'Leases · production', pollMs: 250 },
    ttlMs: { 'ledger-compactor': 15_000 },
  }),
);
app.route('/node', nodeApp);
app.post('/store', (c) => storeCall(c.req.raw, c.env));
app.post('/expire', async (c) => stub(c.env, c.req.query('name') ?? '').fetch('https://lease.durable-object/__expire'));
app.post('/raw', async (c) => stub(c.env, c.req.query('name') ?? '').fetch('https://lease.durable-object/', { method: 'POST', body: await c.req.text() }));
app.post('/age', async (c) =>
  stub(c.env, c.req.query('name') ?? '').fetch(
    `https://lease.durable-object/__age?heldMs=${Number(c.req.query('heldMs'))}&leftMs=${Number(c.req.query('leftMs'))}`,
  ),
);
app.get('/count', async (c) => stub(c.env, c.req.query('name') ?? '').fetch('https://lease.durable-object/__count'));
app.post('/ctl/start', async (c) => {
  elector.start();
  await clock.tick(1);
  return c.json({ leader: elector.isLeader() });
});
app.post('/ctl/stop', async (c) => {
  await elector.stop({ release: false });
  return c.json({ leader: elector.isLeader() });
});
app.post('/ctl/advance', async (c) => {
  // In steps, so each due attempt runs (and finishes) before the clock moves on.
  await clock.tick(Number(c.req.query('ms')), 50);
  return c.json({ leader: elector.isLeader() });
});
app.post('/ctl/down', (c) => {
  faulty.failAll(c.req.query('on') === '1');
  return c.json({ down: c.req.query('on') === '1' });
});
app.post('/ctl/claim', async (c) => {
  const lead = await tryLead(memory, { name: 'singleton', holder: c.req.query('holder') ?? '', ttlMs: 9_000, clock });
  return c.json({ isLeader: lead.isLeader, leader: lead.leader });
});

export default app;
