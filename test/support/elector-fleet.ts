/**
 * A fleet of Elector processes on real Postgres (test/support/elector-process.ts), for the handover test and bench:
 * starts them, sends them resign and handover commands, measures how long until the next leader reports `elected`
 * (both ends on this machine's wall clock), and checks from the processes' own reports that no two terms overlapped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./elector-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One line a process printed. */
export interface Line {
  t: number;
  holder: string;
  type: string;
  token?: number;
  validUntilWall?: number;
  reason?: string;
  leader?: string | null;
  message?: string;
  done?: boolean;
}

export interface Proc {
  holder: string;
  child: ChildProcess;
  lines: Line[];
  stderr: string;
  killed: boolean;
}

export interface FleetOptions {
  url: string;
  table: string;
  name: string;
  holders: string[];
  ttlMs: number;
  skewMs: number;
  retryEveryMs: number;
  listen: 'pool' | 'client' | 'off';
  /** The `preferred` option of each holder's Elector (omitted: not set). */
  preferred?: Record<string, boolean>;
}

/** One term as the processes reported it: from `elected` to `lost` (or, for a killed process, its validity end). */
export interface Term {
  holder: string;
  token: number;
  start: number;
  end: number;
}

export async function waitFor(what: string, deadlineMs: number, check: () => boolean | Promise<boolean>, fleet?: Fleet): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) {
      const tail = fleet
        ? `\n${fleet.procs
            .map(
              (p) =>
                `${p.holder}: ${p.lines
                  .slice(-6)
                  .map((l) => JSON.stringify(l))
                  .join('\n  ')}\n${p.stderr.slice(-500)}`,
            )
            .join('\n')}`
        : '';
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export class Fleet {
  readonly procs: Proc[] = [];

  constructor(readonly options: FleetOptions) {}

  /** Starts every process, waits until each is connected, then starts their electors (the first one first). */
  async start(): Promise<void> {
    for (const holder of this.options.holders) this.spawn(holder);
    await waitFor('ready', 30_000, () => this.procs.every((p) => p.lines.some((l) => l.type === 'ready')), this);
    const [first, ...rest] = this.procs;
    if (first) {
      this.send(first.holder, 'start');
      await waitFor(`${first.holder} elected`, 10_000, () => first.lines.some((l) => l.type === 'elected'), this);
    }
    for (const p of rest) this.send(p.holder, 'start');
    // Every follower has made its first claim (and so subscribed) once it reported the leader.
    await waitFor('followers', 10_000, () => rest.every((p) => p.lines.some((l) => l.type === 'leader')), this);
  }

  private spawn(holder: string): Proc {
    const { url, table, name, ttlMs, skewMs, retryEveryMs, listen } = this.options;
    const preferred = this.options.preferred?.[holder];
    const config = { url, table, holder, name, ttlMs, skewMs, retryEveryMs, listen, ...(preferred !== undefined ? { preferred } : {}) };
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc: Proc = { holder, child, lines: [], stderr: '', killed: false };
    collectLines(child, proc);
    this.procs.push(proc);
    return proc;
  }

  proc(holder: string): Proc {
    const p = this.procs.find((x) => x.holder === holder);
    if (!p) throw new Error(`no process ${holder}`);
    return p;
  }

  send(holder: string, line: string): void {
    this.proc(holder).child.stdin?.write(`${line}\n`);
  }

  /** Whether `p`'s last term event says it leads. */
  leads(p: Proc): boolean {
    for (let i = p.lines.length - 1; i >= 0; i--) {
      const type = p.lines[i]?.type;
      if (type === 'elected' || type === 'renewed') return !p.killed;
      if (type === 'lost') return false;
    }
    return false;
  }

  leaders(): string[] {
    return this.procs.filter((p) => this.leads(p)).map((p) => p.holder);
  }

  /** Waits until exactly one process leads; returns it. */
  async leader(): Promise<string> {
    await waitFor('one leader', 15_000, () => this.leaders().length === 1, this);
    return this.leaders()[0] as string;
  }

  /** Marks where each process's lines are now, so a wait sees only what comes after. */
  private marks(): Map<Proc, number> {
    return new Map(this.procs.map((p) => [p, p.lines.length]));
  }

  /** The first `elected` after `marks` in any process but `except`, once it comes. */
  private async nextElected(marks: Map<Proc, number>, except: string | undefined, deadlineMs: number): Promise<Line> {
    let found: Line | undefined;
    await waitFor(
      'the next leader',
      deadlineMs,
      () => {
        for (const p of this.procs) {
          if (p.holder === except) continue;
          const line = p.lines.slice(marks.get(p) ?? 0).find((l) => l.type === 'elected');
          if (line && (!found || line.t < found.t)) found = line;
        }
        return found !== undefined;
      },
      this,
    );
    return found as Line;
  }

  private async sentAt(p: Proc, from: number, type: string): Promise<Line> {
    await waitFor(type, 10_000, () => p.lines.slice(from).some((l) => l.type === type), this);
    return p.lines.slice(from).find((l) => l.type === type) as Line;
  }

  /** The leader resigns (standing aside `pauseMs`): ms from its `resigning` to the next leader's `elected`. */
  async resignRound(pauseMs: number, deadlineMs = 30_000): Promise<{ from: string; to: string; ms: number }> {
    const from = await this.leader();
    const p = this.proc(from);
    const marks = this.marks();
    this.send(from, `resign ${pauseMs}`);
    const begun = await this.sentAt(p, marks.get(p) ?? 0, 'resigning');
    const next = await this.nextElected(marks, from, deadlineMs);
    return { from, to: next.holder, ms: next.t - begun.t };
  }

  /** The leader hands over to `successor`: ms from its `handing-over` to the next leader's `elected`, and who. */
  async handoverRound(successor: string, windowMs: number, deadlineMs = 30_000): Promise<{ from: string; to: string; ms: number }> {
    const from = await this.leader();
    const p = this.proc(from);
    const marks = this.marks();
    this.send(from, `handover ${successor} ${windowMs}`);
    const begun = await this.sentAt(p, marks.get(p) ?? 0, 'handing-over');
    // The old leader included: past the window (a successor that never claims), it may lead again like anyone.
    const next = await this.nextElected(marks, undefined, deadlineMs);
    return { from, to: next.holder, ms: next.t - begun.t };
  }

  kill(holder: string): void {
    const p = this.proc(holder);
    p.killed = true;
    p.child.kill('SIGKILL');
  }

  /** Every term the processes reported, in the order they began. */
  terms(): Term[] {
    const terms: Term[] = [];
    for (const p of this.procs) {
      let open: Term | undefined;
      for (const l of p.lines) {
        if (l.type === 'elected') {
          open = { holder: p.holder, token: l.token ?? -1, start: l.t, end: l.validUntilWall ?? Number.POSITIVE_INFINITY };
          terms.push(open);
        } else if (l.type === 'renewed' && open) {
          open.end = l.validUntilWall ?? open.end;
        } else if (l.type === 'lost' && open) {
          open.end = Math.min(open.end, l.t);
          open = undefined;
        }
      }
      // A process still leading (or killed while leading) leads until its last validity end.
    }
    return terms.sort((a, b) => a.start - b.start);
  }

  /** Overlaps between consecutive terms (empty when none), and whether tokens rose strictly with each new term. */
  overlaps(): { overlaps: string[]; tokensRise: boolean } {
    const terms = this.terms();
    const overlaps: string[] = [];
    let tokensRise = true;
    for (let i = 1; i < terms.length; i++) {
      const a = terms[i - 1] as Term;
      const b = terms[i] as Term;
      if (b.start < a.end) overlaps.push(`${a.holder}#${a.token} [${a.start}, ${a.end}] overlaps ${b.holder}#${b.token} from ${b.start}`);
      if (b.token <= a.token) tokensRise = false;
    }
    return { overlaps, tokensRise };
  }

  /** Stops every live process (each releases) and waits for them to exit. */
  async stop(): Promise<void> {
    const live = this.procs.filter((p) => !p.killed && p.child.exitCode === null);
    for (const p of live) this.send(p.holder, 'stop');
    await Promise.all(
      live.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.child.exitCode !== null) return resolve();
            const timer = setTimeout(() => {
              p.child.kill('SIGKILL');
              resolve();
            }, 10_000);
            p.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }
}

/** Median and p99 (nearest rank) of `values`. */
export function stats(values: number[]): { median: number; p99: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return { median: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN, n: sorted.length };
}

/**
 * Collects a child process's output: each stdout line that is JSON into `into.lines`, any other line and all of
 * stderr into `into.stderr`.
 */
export function collectLines<L>(child: ChildProcess, into: { lines: L[]; stderr: string }): void {
  let buffer = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const text = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      try {
        into.lines.push(JSON.parse(text) as L);
      } catch {
        into.stderr += `${text}\n`;
      }
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    into.stderr += chunk;
  });
}
