/**
 * `leasehold watch`: a live view of leases. On a terminal it redraws in place (holder, token, a bar of the time
 * left) and lists takeovers as they happen; elsewhere (a pipe, a log) it prints one line per change, or one JSON
 * object per change with `--json`. Ends on SIGINT/SIGTERM, or `q` on a terminal.
 * @module
 */
import { formatDuration, leaseNameArg, maxClockSkewArg, parseCommandArgs, parseDuration } from '../../args.js';
import { EXIT, usage } from '../../exit-codes.js';
import { type LeaseStatus, readStatus, storeFailure } from '../../lease-status.js';
import type { Write } from '../../output.js';
import { storeUrl } from '../../store-flag.js';
import { type OpenedStore, openStore, parseStoreUrl } from '../../store-url.js';

const BAR_WIDTH = 24;

interface Tracked {
  status: LeaseStatus | undefined;
  readAt: number;
  error: string | undefined;
  /** Largest time left seen in the current term: the bar's full length (the lease length is not stored). */
  scaleMs: number;
  changedAt: number;
}

/** What changed between two reads of a lease, in words, or `undefined`. */
export function describeChange(before: LeaseStatus | undefined, after: LeaseStatus): { event: string; text: string } | undefined {
  if (before === undefined) return { event: 'initial', text: stateText(after) };
  if (before.state === after.state && before.holder === after.holder && before.token === after.token) return undefined;
  if (after.state === 'held') {
    if (before.state === 'held' && before.holder !== after.holder) {
      return { event: 'takeover', text: `taken over: ${before.holder} → ${after.holder} (token ${before.token} → ${after.token})` };
    }
    if (before.state === 'held') return { event: 'new-term', text: `${after.holder} started a new term (token ${before.token} → ${after.token})` };
    // Seen expired between two reads: the claim that follows is a takeover all the same.
    if (before.state === 'free' && before.lastHolder !== null && before.lastHolder !== after.holder) {
      return {
        event: 'takeover',
        text: `taken over: ${before.lastHolder} → ${after.holder} (token ${before.token} → ${after.token}; ${before.lastHolder}'s lease had expired)`,
      };
    }
    return { event: 'claimed', text: `claimed by ${after.holder} (token ${after.token})` };
  }
  if (after.state === 'free') {
    return after.lastHolder === null
      ? { event: 'released', text: `released${before.holder ? ` by ${before.holder}` : ''} (token ${after.token})` }
      : { event: 'expired', text: `expired: ${after.lastHolder} stopped renewing (token ${after.token})` };
  }
  return { event: 'gone', text: 'no record' };
}

function stateText(s: LeaseStatus): string {
  if (s.state === 'held') return `held by ${s.holder} (token ${s.token})`;
  if (s.state === 'free') return `free (${s.lastHolder === null ? 'released' : `expired, last holder ${s.lastHolder}`}; token ${s.token})`;
  return 'never claimed';
}

function bar(leftMs: number, scaleMs: number): string {
  const filled = scaleMs <= 0 ? 0 : Math.max(0, Math.min(BAR_WIDTH, Math.round((leftMs / scaleMs) * BAR_WIDTH)));
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
}

const clockTime = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** `leasehold watch …`: returns the exit code once the user quits. */
export async function watchCommand(args: string[], env: NodeJS.ProcessEnv, stdout: Write, stderr: Write): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'watch',
    args,
    {
      store: { type: 'string' },
      interval: { type: 'string' },
      'max-clock-skew': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (positionals.length === 0) throw usage('leasehold watch needs at least one lease name, e.g. leasehold watch nightly-report --store postgres://host/db');
  const names = positionals.map((name) => leaseNameArg(name));
  const intervalMs = values.interval === undefined ? 1_000 : parseDuration(values.interval, '--interval');
  if (intervalMs < 100) throw usage(`--interval must be at least 100ms; got ${values.interval}`);
  const skew = maxClockSkewArg(values['max-clock-skew']);
  const url = storeUrl(values.store, env, 'watch');
  const spec = parseStoreUrl(url);
  if (spec.scheme === 'memory') stderr('leasehold: memory: is a store inside this one process; it will only ever show nothing');
  const live = process.stdout.isTTY === true && !values.json;
  let opened: OpenedStore | undefined;
  try {
    opened = await openStore(spec).catch((error: unknown) => {
      throw storeFailure(error, spec, 'nothing to watch');
    });
    const store = opened.store;
    const tracked = new Map<string, Tracked>(names.map((n) => [n, { status: undefined, readAt: 0, error: undefined, scaleMs: 0, changedAt: 0 }]));
    const events: string[] = [];
    // The first read must work: a wrong URL or an unreachable store is an error, not an empty screen.
    const first = await Promise.all(names.map((n) => readStatus(store, n, skew))).catch((error: unknown) => {
      throw storeFailure(error, spec, 'nothing to watch');
    });

    const record = (name: string, status: LeaseStatus) => {
      const t = tracked.get(name) as Tracked;
      const change = describeChange(t.status, status);
      const sameTerm = t.status?.state === 'held' && status.state === 'held' && t.status.token === status.token;
      t.scaleMs = sameTerm ? Math.max(t.scaleMs, status.timeLeftMs) : status.timeLeftMs;
      t.status = status;
      t.readAt = Date.now();
      t.error = undefined;
      if (!change) return;
      t.changedAt = t.readAt;
      if (live) {
        if (change.event !== 'initial') events.push(`${clockTime(t.readAt)}  ${name}  ${change.text}`);
        if (events.length > 6) events.shift();
      } else if (values.json) {
        stdout(JSON.stringify({ event: change.event, at: new Date(t.readAt).toISOString(), ...status }));
      } else {
        const until = status.state === 'held' && status.expiresAt !== null ? ` until ${new Date(status.expiresAt).toISOString()}` : '';
        stdout(`${new Date(t.readAt).toISOString()}  ${name}  ${change.text}${until}`);
      }
    };
    for (const [i, n] of names.entries()) record(n, first[i] as LeaseStatus);

    let previousLines = 0;
    const render = () => {
      const now = Date.now();
      const width = Math.max(40, (process.stdout.columns ?? 100) - 1);
      const nameWidth = Math.max(...names.map((n) => n.length));
      const lines = [`leasehold watch · ${spec.shown} · every ${formatDuration(intervalMs)} · q to quit`, ''];
      for (const name of names) {
        const t = tracked.get(name) as Tracked;
        const s = t.status;
        let row: string;
        if (t.error !== undefined) row = `unreachable: ${t.error}`;
        else if (s === undefined) row = '…';
        else if (s.state === 'held') {
          const left = Math.max(0, s.timeLeftMs - (now - t.readAt));
          row = `${(s.holder ?? '').padEnd(24)} token ${String(s.token).padEnd(6)} ${bar(left, t.scaleMs)} ${formatDuration(left)}`;
        } else row = `${stateText(s)}`;
        const fresh = now - t.changedAt < 3_000 && t.changedAt > 0 && events.some((e) => e.includes(`  ${name}  `)) ? '  ◀ changed' : '';
        lines.push(`  ${name.padEnd(nameWidth)}  ${row}${fresh}`);
      }
      lines.push('', events.length ? 'changes:' : 'changes: none yet', ...events.map((e) => `  ${e}`));
      const frame = lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
      // Back to the frame's first line, clear below, draw: the view stays in place.
      process.stdout.write(`${previousLines > 0 ? `\x1b[${previousLines}F` : ''}\x1b[J${frame.join('\n')}\n`);
      previousLines = frame.length;
    };

    return await new Promise<number>((resolve) => {
      let stopped = false;
      let pollTimer: ReturnType<typeof setTimeout> | undefined;
      let polling = false;
      let pollAgain = false;
      // Push wake-ups where the store has them (Postgres LISTEN/NOTIFY): a release or a handover is read at once.
      const unwatch = names.map((name) => store.watch?.(name, () => pollNow()));
      let drawTimer: ReturnType<typeof setInterval> | undefined;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        clearTimeout(pollTimer);
        for (const off of unwatch) off?.();
        clearInterval(drawTimer);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        if (live) {
          if (process.stdin.isTTY) process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stdout.write('\x1b[?25h');
        }
        resolve(EXIT.OK);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      if (live) {
        process.stdout.write('\x1b[?25l');
        if (process.stdin.isTTY) {
          process.stdin.setRawMode(true);
          process.stdin.resume();
          process.stdin.on('data', (key: Buffer) => {
            const k = key.toString();
            // q, Ctrl-C (raw mode turns it into a byte, not a signal), Ctrl-D.
            if (k === 'q' || k === 'Q' || k === '\u0003' || k === '\u0004') stop();
          });
        }
        render();
        drawTimer = setInterval(render, 250);
      }
      const pollNow = () => {
        if (stopped) return;
        if (polling) {
          pollAgain = true;
          return;
        }
        clearTimeout(pollTimer);
        void poll();
      };
      const poll = async () => {
        polling = true;
        await Promise.all(
          names.map(async (name) => {
            try {
              record(name, await readStatus(store, name, skew));
            } catch (error) {
              const t = tracked.get(name) as Tracked;
              // Scrubbed here too: the live view writes to the terminal itself, not through main's scrubbed lines.
              const message = spec.scrub(error instanceof Error ? error.message : String(error));
              if (t.error === undefined && !live) {
                stdout(
                  values.json
                    ? JSON.stringify({ event: 'error', at: new Date().toISOString(), name, message })
                    : `${new Date().toISOString()}  ${name}  unreachable: ${message}`,
                );
              }
              t.error = message;
            }
          }),
        );
        polling = false;
        if (stopped) return;
        if (pollAgain) {
          pollAgain = false;
          pollNow();
          return;
        }
        pollTimer = setTimeout(poll, intervalMs);
      };
      pollTimer = setTimeout(poll, intervalMs);
    });
  } finally {
    await opened?.close();
  }
}
