/**
 * The live status page of `leasehold/hono`: one self-contained HTML document (inline CSS and script, no fonts,
 * images or CDN), so it renders offline and needs no build step. Its style and script carry a nonce made for each
 * response, which the page's CSP names: no other inline script runs, an injected one included. Its script polls `leases` (relative to the page)
 * and redraws in place: holders, tokens, a bar of the time left, and a log of every change of holder it sees. With
 * scheduled jobs configured it polls `jobs` too, and shows each job's last run, next due time and an overdue mark.
 * @module
 */

/** Options of {@link statusPage}. */
export interface StatusPageOptions {
  /** The page's heading and title. */
  title: string;
  /** How often the page asks for the leases, in ms. */
  pollMs: number;
  /** This response's CSP nonce (from {@link pageNonce}), set on the page's style and script. */
  nonce: string;
}

/** A new CSP nonce: 128 random bits, base64 (one per response, so a page cannot be replayed to run other script). */
export function pageNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const STYLE = `
:root{--bg:#f5f6f8;--card:#fff;--ink:#1b1f24;--muted:#5f6b7a;--line:#e3e6ea;--track:#eceff3;--ok:#1a7f4b;--ok-bg:#e3f4ea;--warn:#b26a00;--warn-bg:#fff1d6;--bad:#c0362c;--bad-bg:#fde4e1;--accent:#3a5ccc;--accent-bg:#e6ecff;--flash:#ffd54a}
@media (prefers-color-scheme:dark){:root{--bg:#12151a;--card:#1b2027;--ink:#e8ebef;--muted:#98a2b0;--line:#2b323c;--track:#2a3039;--ok:#4cc38a;--ok-bg:#153626;--warn:#f0b44c;--warn-bg:#3a2c12;--bad:#ff7b72;--bad-bg:#3d1b19;--accent:#8aa4ff;--accent-bg:#1f2a4d;--flash:#8a6d00}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:28px 24px 40px}
header{display:flex;align-items:baseline;justify-content:space-between;gap:16px;flex-wrap:wrap;margin-bottom:20px}
h1{font-size:22px;margin:0;font-weight:650;letter-spacing:-.01em}
.sub{color:var(--muted);font-size:13px}
.conn{display:inline-flex;align-items:center;gap:8px;font-size:13px;color:var(--muted)}
.dot{width:9px;height:9px;border-radius:50%;background:var(--muted)}
.conn.live .dot{background:var(--ok);box-shadow:0 0 0 3px var(--ok-bg)}
.conn.down .dot{background:var(--bad);box-shadow:0 0 0 3px var(--bad-bg)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px 14px;transition:box-shadow .6s,border-color .6s}
.card.flash{border-color:var(--flash);box-shadow:0 0 0 3px var(--flash)}
.top{display:flex;justify-content:space-between;align-items:center;gap:8px}
.name{font-weight:650;font-size:15px;overflow-wrap:anywhere}
.pill{font-size:12px;font-weight:600;padding:2px 9px;border-radius:999px;white-space:nowrap}
.pill.held{color:var(--ok);background:var(--ok-bg)}.pill.vacant{color:var(--muted);background:var(--track)}
.pill.ending{color:var(--warn);background:var(--warn-bg)}.pill.error{color:var(--bad);background:var(--bad-bg)}
.who{display:flex;align-items:baseline;justify-content:space-between;gap:10px;margin:12px 0 10px}
.holder{font:600 17px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.holder.none{color:var(--muted);font-weight:500}
.token{font:600 13px/1 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--accent);background:var(--accent-bg);padding:5px 8px;border-radius:6px;white-space:nowrap}
.bar{height:8px;background:var(--track);border-radius:999px;overflow:hidden}
.fill{height:100%;width:0;background:var(--ok);border-radius:999px;transition:width .25s linear,background-color .3s}
.fill.ending{background:var(--warn)}
.meta{display:flex;justify-content:space-between;gap:10px;margin-top:8px;color:var(--muted);font-size:12.5px;font-variant-numeric:tabular-nums}
.note{margin-top:8px;font-size:12.5px;color:var(--warn);min-height:1em}
h2{font-size:14px;font-weight:650;margin:28px 0 10px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.log{background:var(--card);border:1px solid var(--line);border-radius:12px;margin:0;padding:6px 0;list-style:none;font-size:13.5px}
.log li{display:grid;grid-template-columns:70px minmax(120px,180px) 1fr;gap:12px;padding:6px 18px;border-top:1px solid var(--line)}
.log li:first-child{border-top:0}
.log .t{color:var(--muted);font-variant-numeric:tabular-nums}.log .n{font-weight:600;overflow-wrap:anywhere}
.log code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.log .empty{display:block;color:var(--muted)}
.job{margin-top:10px;padding-top:9px;border-top:1px dashed var(--line);font-size:12.5px;color:var(--muted);font-variant-numeric:tabular-nums}
.job .row{display:flex;justify-content:space-between;gap:10px}
.job .mark{font-size:12px;font-weight:600;padding:1px 8px;border-radius:999px;white-space:nowrap}
.job .mark.ok{color:var(--ok);background:var(--ok-bg)}.job .mark.overdue{color:var(--bad);background:var(--bad-bg)}.job .mark.error{color:var(--bad);background:var(--bad-bg)}
`;

// Plain browser JavaScript (no build step). Every server value reaches the page through textContent, never as HTML.
const SCRIPT = `
(() => {
  const cfg = JSON.parse(document.getElementById('cfg').textContent);
  const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  const grid = document.getElementById('grid'), log = document.getElementById('log'), conn = document.getElementById('conn'), connText = document.getElementById('conn-text');
  const cards = new Map();
  let offset = 0, lastOk = 0, failing = false, pushed = false, waitedLast = false;
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const pad = (n) => String(n).padStart(2, '0');
  const clock = (ms) => { const d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); };
  const span = (ms) => { const s = Math.max(0, Math.round(ms / 1000)); if (s < 60) return s + ' s'; const m = Math.floor(s / 60); if (m < 60) return m + ' min ' + pad(s % 60) + ' s'; return Math.floor(m / 60) + ' h ' + pad(m % 60) + ' min'; };
  const secs = (ms) => (Math.max(0, ms) / 1000).toFixed(1) + ' s';
  const stamp = (ms) => { const d = new Date(ms); return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + clock(ms); };

  function card(name) {
    let c = cards.get(name);
    if (c) return c;
    const root = el('section', 'card'); root.dataset.lease = name;
    const top = el('div', 'top'), who = el('div', 'who'), bar = el('div', 'bar'), meta = el('div', 'meta');
    const c2 = { root, name: el('div', 'name', name), pill: el('span', 'pill vacant', '…'), holder: el('div', 'holder none', '…'), token: el('span', 'token', ''),
      fill: el('div', 'fill'), left: el('span', 'left', ''), since: el('span', 'since', ''), note: el('div', 'note', ''), lease: null, full: 0, last: null, lastToken: null };
    top.append(c2.name, c2.pill); who.append(c2.holder, c2.token); bar.append(c2.fill); meta.append(c2.left, c2.since);
    root.append(top, who, bar, meta, c2.note); grid.append(root); cards.set(name, c2);
    return c2;
  }

  // A scheduled job's line on its lease's card: last run, next due, and an overdue mark.
  function job(j) {
    const c = card(j.name);
    if (!c.job) {
      const root = el('div', 'job'), row1 = el('div', 'row'), row2 = el('div', 'row');
      c.job = { root, last: el('span', 'last', ''), mark: el('span', 'mark', ''), next: el('span', 'next', ''), missed: el('span', 'missed', '') };
      row1.append(c.job.last, c.job.mark); row2.append(c.job.next, c.job.missed); root.append(row1, row2); c.root.append(root);
      c.root.dataset.job = j.schedule;
    }
    const v = c.job;
    if (!cfg.names.includes(j.name)) {
      // A job whose lease the app does not list: its card says who runs it, without a lease bar.
      c.holder.textContent = j.running || 'not running'; c.holder.className = j.running ? 'holder' : 'holder none';
      c.pill.className = 'pill vacant'; c.pill.textContent = 'job'; c.token.style.visibility = 'hidden'; c.fill.parentElement.style.display = 'none';
    }
    if (j.error) { v.mark.className = 'mark error'; v.mark.textContent = 'unreachable'; return; }
    v.last.textContent = j.lastCompletedAt !== null ? 'last run ' + stamp(j.lastCompletedAt - offset) : j.lastSlot !== null ? 'last slot ' + (typeof j.lastSlot === 'number' ? stamp(j.lastSlot - offset) : j.lastSlot) : 'never run';
    v.next.textContent = j.nextDue !== null ? 'next due ' + stamp(j.nextDue - offset) : '';
    v.missed.textContent = j.missed ? j.missed + ' missed' : '';
    v.mark.className = j.overdue ? 'mark overdue' : 'mark ok';
    v.mark.textContent = j.overdue ? 'overdue' : j.running ? 'running' : 'on time';
    c.root.dataset.overdue = j.overdue ? 'true' : 'false';
  }

  function note(name, text) {
    const first = log.querySelector('.empty'); if (first) first.remove();
    const li = el('li'); li.append(el('span', 't', clock(Date.now())), el('span', 'n', name), el('code', '', text));
    log.prepend(li);
    while (log.children.length > 50) log.lastChild.remove();
  }

  function apply(l) {
    const c = card(l.name), prev = c.lease;
    if (l.error) { c.pill.className = 'pill error'; c.pill.textContent = 'unreachable'; c.lease = prev; return; }
    const changed = prev && (prev.holder !== l.holder || prev.token !== l.token);
    if (prev && changed) {
      // A lease that ended (released or expired) and was claimed between two polls, or seen vacant in between,
      // is one handover from the last holder this page saw.
      const from = prev.holder || c.last;
      if (l.holder && from) { c.note.textContent = 'taken over from ' + from; note(l.name, from + ' → ' + l.holder + '  (token ' + (prev.token || c.lastToken) + ' → ' + l.token + ')'); }
      else if (l.holder) { c.note.textContent = ''; note(l.name, 'claimed by ' + l.holder + '  (token ' + l.token + ')'); }
      else { c.note.textContent = ''; note(l.name, prev.holder + '’s lease ended (released or expired)'); }
      c.root.classList.remove('flash'); void c.root.offsetWidth; c.root.classList.add('flash');
      setTimeout(() => c.root.classList.remove('flash'), 1600);
    }
    if (l.holder) { c.last = l.holder; c.lastToken = l.token; }
    // The bar's scale is the lease length. Stores do not keep it: the app's ttlMs option gives it from the first
    // answer. Without it, a new term's expiresAt − acquiredAt is exactly it until the first renewal (a cron job's
    // lease is never renewed), and a renewal seen on screen gives it again.
    if (!l.holder) c.full = 0;
    else if (typeof l.ttlMs === 'number' && l.ttlMs > 0) c.full = l.ttlMs;
    else if (!prev || changed || !prev.holder) c.full = l.expiresAt - l.acquiredAt;
    else if (l.expiresAt > prev.expiresAt) c.full = l.expiresAt - (Date.now() + offset);
    c.lease = l;
    c.holder.textContent = l.holder || 'nobody';
    c.holder.className = l.holder ? 'holder' : 'holder none';
    c.token.textContent = l.token === null ? '' : 'token ' + l.token;
    c.token.style.visibility = l.token === null ? 'hidden' : 'visible';
  }

  function tick() {
    const now = Date.now() + offset;
    for (const c of cards.values()) {
      const l = c.lease;
      if (!l) continue;
      if (!l.holder) { c.fill.style.width = '0'; c.left.textContent = 'free: the next claim takes it'; c.since.textContent = ''; if (c.pill.className !== 'pill error' || !failing) { c.pill.className = 'pill vacant'; c.pill.textContent = 'vacant'; } continue; }
      const left = l.expiresAt - now, share = c.full > 0 ? Math.min(1, Math.max(0, left / c.full)) : 0, ending = share < 0.25;
      c.fill.style.width = (share * 100).toFixed(1) + '%';
      c.fill.className = ending ? 'fill ending' : 'fill';
      c.left.textContent = left > 0 ? secs(left) + ' left' : 'expired ' + secs(-left) + ' ago';
      c.since.textContent = 'held ' + span(now - l.acquiredAt) + ' · since ' + clock(l.acquiredAt - offset);
      if (!failing || c.pill.className !== 'pill error') { c.pill.className = ending ? 'pill ending' : 'pill held'; c.pill.textContent = left > 0 ? (ending ? 'renewal due' : 'held') : 'expired'; }
    }
    if (lastOk) connText.textContent = (failing ? 'unreachable · last answer ' : 'live · updated ') + span(Date.now() - lastOk) + ' ago';
  }

  async function poll() {
    try {
      // A long poll: a store that pushes (Postgres) answers as soon as a lease is released or handed over.
      const r = await fetch(base + 'leases' + (pushed ? '?wait=' + cfg.pollMs : ''), { cache: 'no-store', headers: { accept: 'application/json' } });
      const body = await r.json();
      // Jobs turn overdue as time passes, with no lease event to push: with jobs on the page, it polls on its interval.
      pushed = body.push === true && cfg.jobs.length === 0;
      waitedLast = body.waited === true;
      if (typeof body.now === 'number') offset = body.now - Date.now();
      for (const l of body.leases || []) apply(l);
      let jobsOk = true;
      if (cfg.jobs.length > 0) {
        const rj = await fetch(base + 'jobs', { cache: 'no-store', headers: { accept: 'application/json' } });
        for (const j of (await rj.json()).jobs || []) job(j);
        jobsOk = rj.ok;
      }
      failing = !r.ok || !jobsOk;
      if (!failing) lastOk = Date.now();
      conn.className = !failing ? 'conn live' : 'conn down';
      if (failing && !lastOk) connText.textContent = 'store unreachable';
    } catch {
      failing = true; conn.className = 'conn down'; if (!lastOk) connText.textContent = 'no answer from the server';
    }
    tick();
    // After a long poll, ask again at once (it waited already); otherwise after the poll interval.
    setTimeout(poll, pushed && !failing && waitedLast ? 0 : cfg.pollMs);
  }
  for (const name of cfg.names.concat(cfg.jobs)) card(name);
  setInterval(tick, 200);
  poll();
})();
`;

/**
 * The status page for the leases `names` and the scheduled jobs `jobs` (a job's line joins its lease's card, or a
 * card of its own): cards appear in this order before the first answer arrives.
 */
export function statusPage(options: StatusPageOptions, names: readonly string[], jobs: readonly string[] = []): string {
  // JSON inside <script type="application/json">: escape "<" so no value can close the element.
  const cfg = JSON.stringify({ pollMs: options.pollMs, names, jobs }).replace(/</g, '\\u003c');
  const title = escapeHtml(options.title);
  const nonce = escapeHtml(options.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main>
<header>
<div><h1>${title}</h1><div class="sub">Who leads each lease, its fencing token and the time left${jobs.length > 0 ? '; each scheduled job’s last run, next due time and whether it is overdue' : ''}. Updates live.</div></div>
<div id="conn" class="conn"><span class="dot"></span><span id="conn-text">connecting…</span></div>
</header>
<div id="grid" class="grid"></div>
<h2>Changes seen</h2>
<ul id="log" class="log"><li class="empty">No change of holder since this page opened.</li></ul>
</main>
<script type="application/json" id="cfg">${cfg}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>`;
}
