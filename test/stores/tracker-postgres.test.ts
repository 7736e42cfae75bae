/**
 * The tracker on real Postgres, with real processes: three tracker processes (each its own Node process and
 * pg.Pool) share 12 names, 4 each; one is killed with SIGKILL, and the two others take its names within
 * ttl + skew + poll, never two holders of one name (checked on getLeader snapshots, on the fencing tokens, and on
 * the processes' own reports of their terms).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getLeader } from '../../src/lead.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { collectLines } from '../support/elector-fleet.js';

const url = inject('databaseUrl');
const pool = new pg.Pool({ connectionString: url, max: 14 });
const table = `leases_tracker_${process.pid}`;
const store = new PostgresStore({ pool, table });
const SCRIPT = fileURLToPath(new URL('../support/tracker-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const TTL = 3_000;
const SKEW = 200;
const POLL = 1_000;
/** Scheduling slack for the survivor's round itself (slot reads, renewals, staggered claims) on a loaded 2-core machine. */
const SLACK = 1_500;
const NAMES = Array.from({ length: 12 }, (_, i) => `pgshard-${i}`);
const HOLDERS = ['p1', 'p2', 'p3'];

interface Line {
  t: number;
  holder: string;
  type: string;
  name?: string;
  token?: number;
  validUntilWall?: number;
  reason?: string;
  contenders?: number;
  share?: number;
  message?: string;
}

interface Proc {
  holder: string;
  child: ChildProcess;
  lines: Line[];
  stderr: string;
}

const procs: Proc[] = [];

function startProcess(holder: string): Proc {
  const options = { group: 'pgtrack', names: NAMES, ttlMs: TTL, maxClockSkewMs: SKEW, pollEveryMs: POLL, minHoldMs: 1_000, resignOdds: 1, claimStaggerMs: 20 };
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify({ url, table, holder, options })], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const proc: Proc = { holder, child, lines: [], stderr: '' };
  collectLines(child, proc);
  procs.push(proc);
  return proc;
}

async function waitFor(what: string, deadlineMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) {
      const logs = procs.map((p) => `${p.holder}: ${p.stderr.slice(-2_000)}`).join('\n');
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Snapshot {
  t: number;
  leaders: Map<string, { holder: string; token: number } | null>;
}

const snapshots: Snapshot[] = [];

async function snapshot(): Promise<Snapshot> {
  const t = Date.now();
  const read = await Promise.all(NAMES.map((name) => getLeader(store, name, { maxClockSkewMs: SKEW })));
  const s: Snapshot = { t, leaders: new Map(NAMES.map((name, i) => [name, read[i] ? { holder: read[i].holder, token: read[i].token } : null])) };
  snapshots.push(s);
  return s;
}

function countsIn(s: Snapshot, holders: string[]): number[] {
  return holders.map((h) => [...s.leaders.values()].filter((l) => l?.holder === h).length);
}

/** The names a process says it holds: its `elected` reports minus its `lost` ones, in order. */
function reportedHeld(p: Proc): string[] {
  const held = new Set<string>();
  for (const l of p.lines) {
    if (l.type === 'elected' && l.name) held.add(l.name);
    if (l.type === 'lost' && l.name) held.delete(l.name);
  }
  return NAMES.filter((n) => held.has(n));
}

beforeAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await store.migrate();
});

afterAll(async () => {
  for (const p of procs) {
    // Only the processes this test started, by their pid.
    if (p.child.exitCode === null && p.child.signalCode === null && p.child.pid !== undefined) p.child.kill('SIGKILL');
  }
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
});

describe('Tracker on real Postgres, three processes', () => {
  it('12 names → 4 each; SIGKILL one → the others take its names within ttl + skew + poll, never two holders', { timeout: 90_000 }, async () => {
    const all = HOLDERS.map(startProcess);
    await waitFor('three processes ready', 45_000, () => all.every((p) => p.lines.some((l) => l.type === 'ready')));
    for (const p of all) p.child.stdin?.write('start\n');

    // Snapshots every ~100 ms for the whole run: the safety checks below read them.
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await snapshot();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    try {
      await waitFor('4 names each', 30_000, async () => {
        const counts = countsIn(await snapshot(), HOLDERS);
        return counts.every((c) => c === 4);
      });
      // Each process's own account (elected minus lost) is what the store says it holds.
      const before = await snapshot();
      for (const p of all) {
        expect(reportedHeld(p), p.holder).toEqual(NAMES.filter((n) => before.leaders.get(n)?.holder === p.holder));
      }
      const [victim, ...survivors] = [all[2], all[0], all[1]] as [Proc, Proc, Proc];
      const orphaned = NAMES.filter((n) => before.leaders.get(n)?.holder === victim.holder);
      expect(orphaned).toHaveLength(4);
      const orphanTokens = new Map(orphaned.map((n) => [n, before.leaders.get(n)?.token ?? 0]));

      const killedAt = Date.now();
      victim.child.kill('SIGKILL');
      await waitFor(`the survivors to take ${orphaned.join(', ')}`, TTL + SKEW + POLL + 10_000, async () => {
        const s = await snapshot();
        return orphaned.every((n) => survivors.some((p) => s.leaders.get(n)?.holder === p.holder));
      });
      // When each orphaned name was taken, by the survivors' own clocks (the same machine's wall clock).
      const takenAt = orphaned.map((n) => {
        const elected = survivors.flatMap((p) => p.lines).find((l) => l.type === 'elected' && l.name === n && l.t >= killedAt);
        expect(elected, n).toBeDefined();
        expect(elected?.token, `${n}: a larger fencing token`).toBeGreaterThan(orphanTokens.get(n) ?? 0);
        return (elected?.t ?? Number.POSITIVE_INFINITY) - killedAt;
      });
      const rebalanceMs = Math.max(...takenAt);
      const bound = TTL + SKEW + POLL;
      process.stderr.write(
        `[leasehold] tracker on Postgres: the killed process's 4 names were taken ${Math.min(...takenAt)}-${rebalanceMs} ms after SIGKILL (bound ttl + skew + poll = ${bound} ms)\n`,
      );
      expect(rebalanceMs).toBeLessThanOrEqual(bound + SLACK);
      // And the share: 2 live contenders → 6 each.
      await waitFor('6 names each', 10_000, async () =>
        countsIn(
          await snapshot(),
          survivors.map((p) => p.holder),
        ).every((c) => c === 6),
      );

      // A graceful stop releases everything: names and member slots.
      for (const p of survivors) p.child.stdin?.write('stop\n');
      await waitFor('the survivors to stop', 15_000, () => survivors.every((p) => p.child.exitCode !== null));
      expect(survivors.map((p) => p.child.exitCode)).toEqual([0, 0]);
      const after = await snapshot();
      for (const n of NAMES) expect(after.leaders.get(n), n).toBeNull();
      for (let i = 0; i < NAMES.length; i++) {
        const slot = await getLeader(store, `pgtrack.member.${i}`);
        expect(slot === null || slot.holder === victim.holder, `member slot ${i}`).toBe(true);
      }
    } finally {
      sampling = false;
      await sampler;
    }

    // Safety 1: on every getLeader snapshot, a name's token never goes down, and a token belongs to one holder.
    const tokenHolder = new Map<string, string>();
    for (const n of NAMES) {
      let last = 0;
      for (const s of snapshots.sort((a, b) => a.t - b.t)) {
        const l = s.leaders.get(n);
        if (!l) continue;
        expect(l.token, `${n} token at ${s.t}`).toBeGreaterThanOrEqual(last);
        last = l.token;
        const key = `${n}#${l.token}`;
        expect(tokenHolder.get(key) ?? l.holder, key).toBe(l.holder);
        tokenHolder.set(key, l.holder);
      }
    }
    // Safety 2: the processes' own terms never overlap. A term runs from its `elected` report to its `lost` report
    // or, for the killed process, to the end of validity of its last report; the next term of the name (a larger
    // token) begins no earlier.
    const lines = all.flatMap((p) => p.lines);
    for (const n of NAMES) {
      const terms = new Map<string, { holder: string; token: number; start: number; end: number }>();
      for (const l of lines.filter((x) => x.name === n).sort((a, b) => a.t - b.t)) {
        const key = `${l.holder}#${l.token}`;
        if (l.type === 'elected') terms.set(key, { holder: l.holder, token: l.token ?? 0, start: l.t, end: l.validUntilWall ?? l.t });
        const term = terms.get(key);
        if (!term) continue;
        if (l.type === 'renewed') term.end = l.validUntilWall ?? term.end;
        if (l.type === 'lost') term.end = Math.min(term.end, l.t);
      }
      const ordered = [...terms.values()].sort((a, b) => a.start - b.start);
      expect(ordered.length, n).toBeGreaterThan(0);
      for (let i = 1; i < ordered.length; i++) {
        const previous = ordered[i - 1] as (typeof ordered)[number];
        const next = ordered[i] as (typeof ordered)[number];
        expect(next.token, `${n}: tokens rise with each term`).toBeGreaterThan(previous.token);
        expect(next.start, `${n}: ${next.holder}#${next.token} began before ${previous.holder}#${previous.token} ended`).toBeGreaterThanOrEqual(previous.end);
      }
    }
  });
});
