/**
 * One Elector process on real Postgres, for the handover test and bench (test/support/elector-fleet.ts): its own
 * pg.Pool and PostgresStore. Argument: JSON `{ url, table, holder, name, ttlMs, skewMs, retryEveryMs, listen }` where
 * `preferred` is the Elector's option (optional) and `listen` is `'pool'` (the store's default), `'client'` (a pg.Client of its own, never reconnected: what a killed
 * listening connection leaves is the poll) or `'off'`. Prints one JSON line per event on stdout (`t` is `Date.now()`),
 * `{"type":"ready"}` once connected, and obeys lines on stdin: `start`, `resign <pauseMs>`, `handover <holder>
 * <windowMs>`, `stop` (releases, prints `stopped`, exits).
 */
import pg from 'pg';
import { Elector } from '../../src/elector.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';

interface Config {
  url: string;
  table: string;
  holder: string;
  name: string;
  ttlMs: number;
  skewMs: number;
  retryEveryMs: number;
  listen: 'pool' | 'client' | 'off';
  preferred?: boolean;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ t: Date.now(), holder: config.holder, ...line })}\n`);

const pool = new pg.Pool({ connectionString: config.url, max: 4 });
pool.on('error', (error) => print({ type: 'pool-error', message: error.message }));
let listenClient: pg.Client | undefined;
if (config.listen === 'client') {
  listenClient = new pg.Client({ connectionString: config.url });
  listenClient.on('error', (error) => print({ type: 'listen-error', message: error.message }));
  await listenClient.connect();
}
const store = new PostgresStore({
  pool,
  table: config.table,
  listen: config.listen === 'off' ? false : config.listen === 'client' ? (listenClient as pg.Client) : 'auto',
});
const elector = new Elector(store, {
  name: config.name,
  holder: config.holder,
  ttlMs: config.ttlMs,
  maxClockSkewMs: config.skewMs,
  retryEveryMs: config.retryEveryMs,
  ...(config.preferred !== undefined ? { preferred: config.preferred } : {}),
});
elector.on((e) => {
  if (e.type === 'elected' || e.type === 'renewed') print({ type: e.type, token: e.lead.token, validUntilWall: e.lead.validUntilWall });
  else if (e.type === 'lost') print({ type: 'lost', reason: e.reason, token: e.lead?.token });
  else if (e.type === 'leader') print({ type: 'leader', leader: e.leader, token: e.token });
  else print({ type: 'error', message: e.error instanceof Error ? e.error.message : String(e.error) });
});

await pool.query('SELECT 1');
print({ type: 'ready' });

let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffer += chunk;
  for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
    const [command, arg, arg2] = buffer.slice(0, i).trim().split(' ');
    buffer = buffer.slice(i + 1);
    if (command === 'start') elector.start();
    if (command === 'resign') {
      print({ type: 'resigning' });
      void elector.resign({ pauseMs: Number(arg) }).then((done) => print({ type: 'resigned', done }));
    }
    if (command === 'handover' && arg) {
      print({ type: 'handing-over', to: arg });
      void elector.handover(arg, { windowMs: Number(arg2) }).then(
        (done) => print({ type: 'handed-over', to: arg, done }),
        (error: unknown) => print({ type: 'error', message: String(error) }),
      );
    }
    if (command === 'stop') {
      void elector.stop().then(async () => {
        print({ type: 'stopped' });
        await listenClient?.end().catch(() => undefined);
        await pool.end();
        process.exit(0);
      });
    }
  }
});
