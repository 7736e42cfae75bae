/**
 * The read routes of `leasehold/hono`, open to anyone who can reach the app: `GET /leases` (every lease, or a long
 * poll with `?wait=`), `GET /leases/:name` and `GET /health`. They only read; nothing here writes to the store.
 * @module
 */
import type { Hono } from 'hono/tiny';
import { getLeader } from '../lead.js';
import type { Store } from '../store.js';
import { failureCode, type HealthReport, storeTimedOut, withinHealthBound } from './health.js';
import type { LeaseAppSettings } from './options.js';
import { LeaseAppProblem } from './problems.js';

/** One lease as the app shows it. Times are epoch ms on the clock that judges expiry; `null` while nobody holds it. */
export interface LeaseView {
  /** Election name. */
  name: string;
  /** Current holder, or `null` when nobody holds it (never claimed, released or expired). */
  holder: string | null;
  /** The holder's fencing token, or `null`. */
  token: number | null;
  /** When the holder acquired it. */
  acquiredAt: number | null;
  /** When it runs out unless renewed. */
  expiresAt: number | null;
  /** `expiresAt` minus the app's clock, at least 0 (approximate where the store's clock judges expiry). */
  timeLeftMs: number | null;
  /** The holder's payload, only with `exposeData: true`. */
  data?: string | null;
  /** The lease's length in ms as configured (the app's `ttlMs` option), when given. */
  ttlMs?: number;
  /** Set instead of the fields above when this lease could not be read. */
  error?: { code: string; message: string };
}

/** Longest `GET /leases?wait=` a client may ask for, in ms. */
const MAX_WAIT_MS = 30_000;

/** Adds `GET /leases`, `GET /leases/:name` and `GET /health` to `app`. */
export function addReadRoutes(app: Hono, settings: LeaseAppSettings): void {
  const { storeOf, namesOf, leaseName, skew, clock, ttlOf, exposeData, electorHealth, healthTimeoutMs } = settings;

  const view = async (store: Store, name: string): Promise<LeaseView> => {
    const leader = await getLeader(store, name, { maxClockSkewMs: skew, clock });
    const base: LeaseView = leader
      ? {
          name,
          holder: leader.holder,
          token: leader.token,
          acquiredAt: leader.acquiredAt,
          expiresAt: leader.expiresAt,
          timeLeftMs: Math.max(0, leader.expiresAt - clock.now()),
        }
      : { name, holder: null, token: null, acquiredAt: null, expiresAt: null, timeLeftMs: null };
    if (exposeData) base.data = leader?.data ?? null;
    const ttl = ttlOf(name);
    if (ttl !== undefined) base.ttlMs = ttl;
    return base;
  };

  /**
   * `GET /leases` → `{ now, leases }`, every configured lease read in parallel; 503 if any read failed. With
   * `?wait=<ms>` and a store that pushes wake-ups, a long poll: it waits until one of the leases is released or handed
   * over (or `wait` ran out, or the client went away), then reads, and says `waited: true` (the status page then asks
   * again at once instead of after its poll interval).
   */
  app.get('/leases', async (c) => {
    const store = storeOf(c);
    const waitText = c.req.query('wait');
    let waited = false;
    if (waitText !== undefined) {
      const waitMs = Number(waitText);
      if (waitText === '' || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) {
        throw new LeaseAppProblem(
          400,
          'INVALID_OPTION',
          `wait must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}; got ${JSON.stringify(waitText.slice(0, 40))}`,
        );
      }
      const { watch } = store;
      if (typeof watch === 'function' && waitMs > 0) {
        waited = true;
        await new Promise<void>((resolve) => {
          const offs: (() => void)[] = [];
          const signal = c.req.raw.signal as AbortSignal | undefined;
          let timer: unknown;
          const done = () => {
            clock.clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            for (const off of offs.splice(0)) off();
            resolve();
          };
          for (const name of namesOf(c)) offs.push(watch.call(store, name, done));
          timer = clock.setTimeout(done, waitMs);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    }
    let failed = false;
    const leases = await Promise.all(
      namesOf(c).map((name) =>
        view(store, name).catch((error: unknown): LeaseView => {
          failed = true;
          return {
            name,
            holder: null,
            token: null,
            acquiredAt: null,
            expiresAt: null,
            timeLeftMs: null,
            error: { code: failureCode(error), message: 'could not read this lease' },
          };
        }),
      ),
    );
    // `push`: this store pushes wake-ups, so the page may long-poll with `?wait=`.
    const push = typeof store.watch === 'function';
    return c.json({ now: clock.now(), leases, ...(push ? { push: true } : {}), ...(waited ? { waited: true } : {}) }, failed ? 503 : 200);
  });

  /** `GET /leases/:name` → a {@link LeaseView}. */
  app.get('/leases/:name', async (c) => c.json(await view(storeOf(c), leaseName(c))));

  /** `GET /health` → 200 or 503 with a {@link HealthReport} (or `{ status: 'ok' | 'store-unreachable' }` without an elector). */
  app.get('/health', async (c) => {
    if (electorHealth) {
      const { httpStatus, report } = await electorHealth.check();
      return c.json(report satisfies HealthReport, httpStatus);
    }
    const [first] = namesOf(c);
    const store = storeOf(c);
    try {
      await withinHealthBound(getLeader(store, first as string, { maxClockSkewMs: skew, clock }), healthTimeoutMs);
      return c.json({ status: 'ok' });
    } catch (error) {
      if (storeTimedOut(error)) {
        return c.json({ status: 'store-unreachable', lastError: 'STORE_UNAVAILABLE', message: error.message }, 503);
      }
      return c.json({ status: 'store-unreachable', lastError: failureCode(error) }, 503);
    }
  });
}
