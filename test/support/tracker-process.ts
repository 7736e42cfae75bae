/**
 * One tracker process for the real-Postgres tracker test (test/stores/tracker-postgres.test.ts): its own pg.Pool, its own
 * Tracker. Argument: JSON `{ url, table, holder, options }`. Prints one JSON line per event on stdout (`t` is
 * `Date.now()` at the event; `validUntilWall` the term's end of validity on the wall clock), `{"type":"ready"}` once
 * connected, and obeys `start` and `stop` lines on stdin (after `stop` it releases, prints `stopped` and exits).
 */
import pg from 'pg';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { Tracker, type TrackerOptions } from '../../src/tracker/index.js';

const config = JSON.parse(process.argv[2] ?? '{}') as { url: string; table: string; holder: string; options: Omit<TrackerOptions, 'holder'> };
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ t: Date.now(), holder: config.holder, ...line })}\n`);

const pool = new pg.Pool({ connectionString: config.url, max: 16 });
pool.on('error', (error) => print({ type: 'pool-error', message: error.message }));
const store = new PostgresStore({ pool, table: config.table });
const tracker = new Tracker(store, { ...config.options, holder: config.holder });
tracker.on((e) => {
  if (e.type === 'share') print({ type: e.type, contenders: e.contenders, share: e.share });
  else if (e.type === 'error') print({ type: e.type, name: e.name, message: e.error instanceof Error ? e.error.message : String(e.error) });
  else
    print({
      type: e.type,
      name: e.name,
      token: e.lease.token,
      validUntilWall: e.lease.lead.validUntilWall,
      ...(e.type === 'lost' ? { reason: e.reason } : {}),
    });
});

await pool.query('SELECT 1');
print({ type: 'ready' });

let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffer += chunk;
  for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
    const command = buffer.slice(0, i).trim();
    buffer = buffer.slice(i + 1);
    if (command === 'start') void tracker.start();
    if (command === 'stop') {
      void tracker.stop().then(async () => {
        print({ type: 'stopped' });
        await pool.end();
        process.exit(0);
      });
    }
  }
});
