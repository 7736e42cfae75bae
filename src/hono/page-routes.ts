/**
 * Serving the live status page of `leasehold/hono` (the document itself: page.ts): at `GET /`, and, mounted, at the
 * mount path with a trailing slash; each answer with a fresh CSP nonce and no framing.
 * @module
 */
import type { Context } from 'hono';
import type { Hono } from 'hono/tiny';
import type { LeaseAppSettings } from './options.js';
import { pageNonce, statusPage } from './page.js';

// Nothing but this document's own style and script (carrying this response's nonce: no other inline script runs, an
// injected one included), requests to its own origin, and no framing.
const pageCsp = (nonce: string) =>
  `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The status page as this request's answer, with its headers. */
function servePage(c: Context, settings: LeaseAppSettings, page: { title: string; pollMs: number }): Response | Promise<Response> {
  const nonce = pageNonce();
  c.header('content-security-policy', pageCsp(nonce));
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'no-referrer');
  return c.html(statusPage({ title: page.title, pollMs: page.pollMs, nonce }, settings.namesOf(c), [...settings.jobs.keys()]));
}

/** Adds `GET /` (the page), unless the page is off. */
export function addPageRoute(app: Hono, settings: LeaseAppSettings): void {
  const { page } = settings;
  if (page) app.get('/', (c) => servePage(c, settings, page));
}

/**
 * Adds the page at the mount path with a trailing slash, unless the page is off; added last, after every other route.
 *
 * Mounted (`app.route('/leases-status', …)`), the page is at the mount path; a parent with Hono's default strict
 * routing would answer 404 at `/leases-status/`. This route, last, serves the page there too: it matches only
 * the mount path with one trailing slash (as many segments as the mount path), and passes anything else on.
 */
export function addPageAtMountPath(app: Hono, settings: LeaseAppSettings): void {
  const { page } = settings;
  if (!page) return;
  app.get('/*', (c, next) => {
    const mountSegments = c.req.routePath.replace(/\/\*$/, '').split('/').filter(Boolean).length;
    const path = c.req.path;
    if (path.endsWith('/') && path.split('/').filter(Boolean).length === mountSegments) return servePage(c, settings, page);
    return next();
  });
}
