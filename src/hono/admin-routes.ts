/**
 * The admin routes of `leasehold/hono`, `POST /leases/:name/lead` and `POST /leases/:name/release`: the only routes
 * that write. They exist only while an admin token is configured (404 otherwise, like any unknown route); a request
 * then needs that token as a bearer token, compared in constant time (Hono's `timingSafeEqual`).
 *
 * Hono's `bearerAuth` middleware is not used: its statuses are fixed (400 for a malformed header, 401 for a wrong
 * token, with `WWW-Authenticate: Bearer error=…`), where this app answers 401 without a bearer token and 403 with a
 * wrong one with JSON `{ code, message }` bodies; and its custom messages came after hono 4.0, the lowest version this
 * package accepts.
 * @module
 */
import type { Hono } from 'hono/tiny';
import { timingSafeEqual } from 'hono/utils/buffer';
import { getLeader, release, tryLead } from '../lead.js';
import type { LeaseAppSettings } from './options.js';
import { LeaseAppProblem, problem, routesNotFound } from './problems.js';

/** Adds the token check and `POST /leases/:name/lead` and `/release` to `app`. */
export function addAdminRoutes(app: Hono, settings: LeaseAppSettings): void {
  const { storeOf, tokenOf, leaseName, skew, clock } = settings;

  // Admin routes: absent (404, like any unknown route) unless a token is configured; then 401 without a bearer
  // token, 403 with a wrong one. Neither answer says more.
  app.use('/leases/:name/*', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const expected = tokenOf(c);
    if (expected === undefined) return routesNotFound(c, settings.page !== undefined, settings.jobs.size > 0);
    const given = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (given === undefined) {
      c.header('www-authenticate', 'Bearer');
      return problem(c, 401, 'UNAUTHORIZED', 'authentication required');
    }
    // Both are hashed before they are compared: the time taken does not depend on where they differ.
    if (!(await timingSafeEqual(given, expected))) return problem(c, 403, 'FORBIDDEN', 'forbidden');
    return next();
  });

  /**
   * `POST /leases/:name/lead` with `{ holder, ttlMs?, data? }` → `{ isLeader, leader, token, expiresAt, remainingMs }`.
   * `remainingMs` counts from when this app sent its write; a remote caller counts it from when it sent its own
   * request (earlier still), so it never acts past the lease.
   */
  app.post('/leases/:name/lead', async (c) => {
    const name = leaseName(c);
    const body = await bodyObject(c.req.raw, ['holder', 'ttlMs', 'data'], '{"holder":"host-1:nightly","ttlMs":60000}');
    // Passed on as sent: the library checks every value (types included) before any request, so nothing is written.
    const lead = await tryLead(storeOf(c), {
      name,
      holder: body.holder as string,
      ...('ttlMs' in body ? { ttlMs: body.ttlMs as number } : {}),
      ...('data' in body ? { data: body.data as string } : {}),
      maxClockSkewMs: skew,
      clock,
    });
    return c.json({ isLeader: lead.isLeader, leader: lead.leader, token: lead.token, expiresAt: lead.expiresAt, remainingMs: lead.remainingMs() });
  });

  /**
   * `POST /leases/:name/release` with `{ holder }` → `{ released, holder }`: releases only if `holder` holds it.
   * Without a holder (an empty body or `{}`), releases whoever holds it now: the next contender takes over at its
   * next poll, with a larger token; the old holder finds out at its next renewal (its validity still bounds it).
   */
  app.post('/leases/:name/release', async (c) => {
    const name = leaseName(c);
    const body = await bodyObject(c.req.raw, ['holder'], '{"holder":"host-1:nightly"} (or {} for whoever holds it)', true);
    const store = storeOf(c);
    let holder = body.holder as string | undefined;
    if (!('holder' in body)) {
      holder = (await getLeader(store, name, { maxClockSkewMs: skew, clock }))?.holder;
      if (holder === undefined) return c.json({ released: false, holder: null });
    }
    // Conditional on that holder: if someone else took over meanwhile, nothing is released.
    return c.json({ released: await release(store, { name, holder: holder as string, clock }), holder });
  });
}

/**
 * The request body as a JSON object with only `allowed` keys (an empty body is `{}` when `emptyOk`); anything else is
 * refused, 400 `INVALID_OPTION`. Unknown keys are refused so that a typo (`ttl` for `ttlMs`) does not silently fall
 * back to a default.
 */
async function bodyObject(request: Request, allowed: readonly string[], example: string, emptyOk = false): Promise<Record<string, unknown>> {
  const refuse = (what: string) => new LeaseAppProblem(400, 'INVALID_OPTION', `${what}; send a JSON object like ${example}`);
  const text = await request.text();
  if (emptyOk && text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw refuse('the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw refuse(`the body is ${Array.isArray(body) ? 'an array' : body === null ? 'null' : `a ${typeof body}`}, not an object`);
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw refuse(`unknown field ${unknown.map((k) => JSON.stringify(k).slice(0, 40)).join(', ')}`);
  return body as Record<string, unknown>;
}
