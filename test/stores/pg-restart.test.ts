/**
 * The README's long-lived snippets survive a database restart: the Elector, the Tracker and the status app, each run
 * exactly as the README prints it (its ```ts block, with a few lines appended that report its state), in its own
 * process, against a private PostgreSQL cluster that the test restarts with a fast shutdown (every session gets
 * "terminating connection due to administrator command"). A pool without an 'error' listener dies of it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { startThrowawayPostgres } from '../support/engines.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, '.tmp', `pg-restart-${process.pid}`);

/** The README's ```ts block that contains `marker`. */
function readmeSnippet(marker: string): string {
  const blocks = readFileSync(join(ROOT, 'README.md'), 'utf8')
    .split('```ts\n')
    .slice(1)
    .map((b) => b.slice(0, b.indexOf('\n```')));
  const found = blocks.filter((b) => b.includes(marker));
  if (found.length !== 1) throw new Error(`expected one README snippet with ${marker}, found ${found.length}`);
  return found[0] as string;
}

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string;
  exit: Promise<number | null>;
}

function launch(file: string, databaseUrl: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: databaseUrl, NODE_NO_WARNINGS: '1' },
  });
  const child: Child = { proc, lines: [], stderr: '', exit: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
  let buffer = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (line.startsWith('{')) child.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    child.stderr += chunk.toString();
  });
  return child;
}

async function until(what: string, child: Child, test: (line: Record<string, unknown>) => boolean, from: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`${what}: the process exited (${child.proc.exitCode}); stderr: ${child.stderr}`);
    if (child.lines.slice(from).some(test)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not seen within ${timeoutMs} ms; stderr: ${child.stderr}`);
}

// Each snippet, and what its appended lines report (one JSON line every 200 ms).
const SNIPPETS = {
  elector: {
    marker: 'elector.on((event) =>',
    report: 'setInterval(() => console.log(JSON.stringify({ ok: elector.isLeader() })), 200)',
  },
  tracker: {
    marker: 'new Tracker(store',
    report: 'setInterval(() => console.log(JSON.stringify({ ok: tracker.held().length > 0 })), 200)',
  },
  'status app': {
    marker: 'createLeaseApp({ store',
    report:
      "setInterval(() => void app.request('/leases-status/health').then((r) => console.log(JSON.stringify({ ok: r.status === 200 && elector.isLeader() }))), 200)",
  },
} as const;

describe('the README snippets that keep a pool survive a Postgres restart', () => {
  let cluster: Awaited<ReturnType<typeof startThrowawayPostgres>>;
  const children: Child[] = [];
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    cluster = await startThrowawayPostgres();
    mkdirSync(WORK, { recursive: true });
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    // One database per snippet: the Elector and the status app both campaign for 'singleton'.
    for (const [i, name] of Object.keys(SNIPPETS).entries()) {
      await admin.query(`CREATE DATABASE snippet_${i}`);
      urls[name] = cluster.url.replace(/\/postgres$/, `/snippet_${i}`);
      const pool = new pg.Pool({ connectionString: urls[name] });
      await new PostgresStore({ pool }).migrate();
      await pool.end();
    }
    await admin.end();
  }, 60_000);

  afterAll(async () => {
    for (const child of children) child.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exit));
    cluster?.stop();
    rmSync(WORK, { recursive: true, force: true });
  });

  it('Elector, Tracker and status app: still running and leading again after the restart', async () => {
    for (const [name, { marker, report }] of Object.entries(SNIPPETS)) {
      const file = join(WORK, `${name.replace(' ', '-')}.ts`);
      writeFileSync(file, `${readmeSnippet(marker)}\n${report}\n`);
      children.push(launch(file, urls[name] as string));
    }
    const names = Object.keys(SNIPPETS);
    await Promise.all(children.map((child, i) => until(`${names[i]} leads`, child, (l) => l.ok === true, 0, 30_000)));
    const marks = children.map((c) => c.lines.length);
    cluster.restart();
    const restartedAt = children.map((c) => c.lines.length);
    // Each snippet's process lives on and leads again: its next renewal (every ttlMs / 3 = 5 s) reconnects. Bounded by
    // one lease (15 s) plus slack for a loaded machine; a crash is reported at once, with the snippet's stderr.
    await Promise.all(children.map((child, i) => until(`${names[i]} leads after the restart`, child, (l) => l.ok === true, restartedAt[i] as number, 40_000)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const [i, child] of children.entries()) {
      expect(child.proc.exitCode, `${names[i]}: ${child.stderr}`).toBeNull();
      expect(child.lines.length).toBeGreaterThan(marks[i] as number);
    }
    // Told, not crashed: the snippets' pool error listener saw the terminated connections.
    expect(children.some((c) => /idle Postgres connection lost/.test(c.stderr))).toBe(true);
  }, 90_000);
});
