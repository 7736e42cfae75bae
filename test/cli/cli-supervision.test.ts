/**
 * `leasehold run` keeps its promise that a command never runs past its lease (DESIGN.md, "Nothing leasehold
 * supervises outlives the lease"), in real process trees on the real PostgreSQL: leasehold SIGSTOPped, a command
 * that ignores SIGTERM, a command that leaves background processes, and an operator's release of a running lease.
 * Every command writes a timestamp every 50 ms; a second host waiting with `--wait` writes its own as it starts. The
 * figures go to SAFETY.md (`npm run safety`).
 * @module
 */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { cliHarness, databaseUrl, groupAlive, json, lines, pool, read, sleep, startProxy, store, until } from '../support/cli-harness.js';
import { recordSupervision, type SupervisionSample } from '../support/supervision-figures.js';

const { start, cli, fresh, started, groups } = cliHarness('cli-supervision');

/** A shell loop that appends the time (epoch ms) to `file` every 50 ms. */
const beat = (file: string) => `while :; do date +%s%3N >> ${file}; sleep 0.05; done`;
/** The last timestamp written to any of `files` (0 if none). */
const lastBeat = (...files: string[]) => Math.max(0, ...files.flatMap((f) => lines(f).map(Number)).filter((n) => Number.isFinite(n)));
const firstBeat = (file: string) => Number(lines(file)[0] ?? Number.NaN);
/** Redirections that let go of leasehold's stdin, stdout and stderr. */
const QUIET = '</dev/null >/dev/null 2>&1';
const overlap = (last: number, next: number) => Math.max(0, last - next);
/** The record's expiry, epoch ms, by the store's clock (the same machine's). */
async function expiresAt(name: string): Promise<number> {
  return ((await store.read(name)).record?.expiresAt as number) ?? Number.NaN;
}
function record(sample: Omit<SupervisionSample, 'loadAverage' | 'cores'>): void {
  process.stderr.write(`[supervision] ${JSON.stringify(recordSupervision(sample))}\n`);
}

/** Starts a second host's run that waits for the lease and writes its first timestamp as it starts. */
function nextHost(name: string, file: string, ttl: string) {
  const next = start(['run', '--name', name, '--ttl', ttl, '--holder', 'next-host', '--wait', '20s', '--', 'sh', '-c', `date +%s%3N >> ${file}`]);
  started.push(next);
  return next;
}

describe('leasehold run: nothing it supervises outlives the lease', () => {
  it.concurrent('leasehold SIGSTOPped while its command runs: the command and its children stop before the validity ends; 0 ms overlap with the next host', async () => {
    const { name, file } = fresh('stopped');
    const script = `echo $$ > ${file('pgid')}; (${beat(file('child'))}) & ${beat(file('alive'))}`;
    const run = start(['run', '--name', name, '--ttl', '3s', '--holder', 'first-host', '--json', '--', 'sh', '-c', script]);
    started.push(run);
    await until(
      'the command and its child to run',
      () => lines(file('alive')).length > 2 && lines(file('child')).length > 2 && read(file('pgid')).endsWith('\n'),
      10_000,
      run.stderr,
    );
    const group = Number(read(file('pgid')));
    groups.push(group);
    process.kill(run.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    // A renewal sent just before the stop lands all the same: read the lease once the store has settled it.
    await sleep(200);
    const storeValidity = (await expiresAt(name)) - 1_000; // the validity can end no later than expiry - skew
    const next = nextHost(name, file('next'), '3s');
    const nextDone = await next.done;
    // Still stopped: whatever stopped the command, it was not leasehold's main loop.
    const alive = groupAlive(group);
    const stopping = json(run.stderr()).find((e) => e.event === 'stopping');
    const validUntil = typeof stopping?.validUntil === 'number' ? stopping.validUntil : null;
    const last = lastBeat(file('alive'), file('child'));
    const nextAt = firstBeat(file('next'));
    process.kill(run.pid, 'SIGCONT');
    const stoppedMs = Date.now() - stoppedAt;
    const done = await run.done;
    record({
      scenario: 'stopped',
      ttlMs: 3_000,
      killGraceMs: Number(stopping?.killGraceMs ?? 500),
      validUntil,
      lastSignOfLife: last,
      nextStartedAt: nextAt,
      overlapMs: overlap(last, nextAt),
      marginMs: Math.round((validUntil ?? storeValidity) - last),
      note: `leasehold stopped for ${stoppedMs} ms; its command and the command's background child ${alive ? 'ran on' : 'were gone'} while it was stopped`,
    });
    expect(nextDone.code, nextDone.stderr).toBe(0);
    expect(alive, 'the command ran on while leasehold was stopped').toBe(false);
    expect(overlap(last, nextAt)).toBe(0);
    expect(stopping).toMatchObject({ reason: expect.stringMatching(/running out/), by: 'watchdog' });
    expect(validUntil).not.toBeNull();
    // The reported validity is the lease's (no later than the store's expiry less the skew margin), and the
    // command was silent before it ended.
    expect(validUntil as number).toBeLessThanOrEqual(storeValidity + 2);
    expect(last).toBeLessThan(validUntil as number);
    expect(done.code).toBe(EXIT.LOST);
    expect(json(done.stderr).at(-1)).toMatchObject({ outcome: 'lost', exitCode: EXIT.LOST });
  });

  it.concurrent('a command that traps SIGTERM, renewals failing, leasehold SIGSTOPped right after its SIGTERM: SIGKILL by the validity end', async () => {
    const { name, file } = fresh('term-ignored');
    const proxy = await startProxy(new URL(databaseUrl));
    const script = `trap 'echo TERM $(date +%s%3N) >> ${file('log')}' TERM; echo $$ > ${file('pgid')}; ${beat(file('alive'))}`;
    const run = start(['run', '--name', name, '--ttl', '3s', '--kill-grace', '800ms', '--holder', 'first-host', '--json', '--', 'sh', '-c', script], {
      LEASEHOLD_STORE: proxy.url,
    });
    started.push(run);
    await until('the command to run', () => lines(file('alive')).length > 2 && read(file('pgid')).endsWith('\n'), 10_000, run.stderr);
    const group = Number(read(file('pgid')));
    groups.push(group);
    await proxy.cut(); // every renewal fails from now on
    await until('the SIGTERM (trapped)', () => read(file('log')).includes('TERM'), 10_000, run.stderr);
    process.kill(run.pid, 'SIGSTOP');
    const storeValidity = (await expiresAt(name)) - 1_000;
    const next = nextHost(name, file('next'), '3s');
    const nextDone = await next.done;
    const alive = groupAlive(group);
    const stopping = json(run.stderr()).find((e) => e.event === 'stopping');
    const validUntil = typeof stopping?.validUntil === 'number' ? stopping.validUntil : null;
    const last = lastBeat(file('alive'));
    const nextAt = firstBeat(file('next'));
    process.kill(run.pid, 'SIGCONT');
    const done = await run.done;
    record({
      scenario: 'term-ignored',
      ttlMs: 3_000,
      killGraceMs: 800,
      validUntil,
      lastSignOfLife: last,
      nextStartedAt: nextAt,
      overlapMs: overlap(last, nextAt),
      marginMs: Math.round((validUntil ?? storeValidity) - last),
      note: `SIGTERM (trapped) ${Math.round((validUntil ?? storeValidity) - Number(lines(file('log'))[0]?.split(' ')[1]))} ms before the validity end; ${alive ? 'the command ran on' : 'SIGKILLed'} while leasehold was stopped`,
    });
    expect(nextDone.code, nextDone.stderr).toBe(0);
    expect(alive, 'the command ran on after SIGTERM while leasehold was stopped').toBe(false);
    expect(overlap(last, nextAt)).toBe(0);
    expect(validUntil).not.toBeNull();
    expect(validUntil as number).toBeLessThanOrEqual(storeValidity + 2);
    expect(last).toBeLessThan(validUntil as number);
    expect(done.code).toBe(EXIT.LOST);
    expect(json(done.stderr).at(-1)).toMatchObject({ outcome: 'lost', sent: ['SIGTERM', 'SIGKILL'], commandSignal: 'SIGKILL' });
  });

  it.concurrent('background processes the command leaves are ended (SIGTERM, then SIGKILL after the grace) before the lease is released; --leave-children keeps them', async () => {
    const { name, file } = fresh('left-behind');
    // One child dies on SIGTERM, one ignores it (so do the date and sleep it runs): only SIGKILL ends that one. Both
    // let go of leasehold's stdout and stderr, as a daemon does (so the test sees leasehold's own exit).
    const script = `echo $$ > ${file('pgid')}; (${beat(file('bg'))}) ${QUIET} & (trap '' TERM; ${beat(file('stubborn'))}) ${QUIET} & sleep 0.3; exit 0`;
    const run = start(['run', '--name', name, '--ttl', '6s', '--kill-grace', '500ms', '--holder', 'first-host', '--json', '--', 'sh', '-c', script]);
    started.push(run);
    await until('the command to start', () => read(file('pgid')).endsWith('\n'), 10_000, run.stderr);
    const group = Number(read(file('pgid')));
    groups.push(group);
    const next = nextHost(name, file('next'), '6s');
    const done = await run.done;
    const alive = groupAlive(group);
    const nextDone = await next.done;
    const last = lastBeat(file('bg'), file('stubborn'));
    const nextAt = firstBeat(file('next'));
    record({
      scenario: 'left-behind',
      ttlMs: 6_000,
      killGraceMs: 500,
      validUntil: null,
      lastSignOfLife: last,
      nextStartedAt: nextAt,
      overlapMs: overlap(last, nextAt),
      marginMs: null,
      note: `leasehold exited ${done.code} after ${done.ms} ms; its background processes were ${alive ? 'still running' : 'gone'} then`,
    });
    expect(done.code, done.stderr).toBe(0);
    expect(alive, 'background processes outlived the run').toBe(false);
    expect(nextDone.code, nextDone.stderr).toBe(0);
    expect(overlap(last, nextAt)).toBe(0);
    expect(json(done.stderr).find((e) => e.event === 'left-behind')).toMatchObject({ processGroup: group, sent: ['SIGTERM', 'SIGKILL'] });
    expect(json(done.stderr).at(-1)).toMatchObject({ outcome: 'ran', exitCode: 0 });

    // --leave-children: the run ends at once and its background process lives on.
    const kept = fresh('leave-children');
    const keep = await cli([
      'run',
      '--name',
      kept.name,
      '--ttl',
      '3s',
      '--leave-children',
      '--',
      'sh',
      '-c',
      `echo $$ > ${kept.file('pgid')}; (${beat(kept.file('bg'))}) ${QUIET} & exit 0`,
    ]);
    const keptGroup = Number(read(kept.file('pgid')));
    groups.push(keptGroup);
    expect(keep.code, keep.stderr).toBe(0);
    expect(keep.stderr).toBe('');
    const exitedAt = Date.now();
    await until('the kept process to write after leasehold exited', () => lastBeat(kept.file('bg')) > exitedAt + 100);
    expect(groupAlive(keptGroup)).toBe(true);
    process.kill(-keptGroup, 'SIGKILL');
  });

  it.concurrent('an operator’s leasehold release of a running lease: the run notices before its next renewal and stops its command (exit 80)', async () => {
    const { name, file } = fresh('released');
    const ttlMs = 12_000;
    const renewEveryMs = ttlMs / 3;
    const run = start(['run', '--name', name, '--ttl', '12s', '--holder', 'first-host', '--json', '--', 'sh', '-c', beat(file('alive'))]);
    started.push(run);
    await until('the command to run', () => lines(file('alive')).length > 2, 10_000, run.stderr);
    const next = nextHost(name, file('next'), '12s');
    // Release right after a renewal: the next renewal is then a whole renewEvery away.
    const version = async () => (await store.read(name)).record?.version;
    const claimed = await version();
    const deadline = Date.now() + renewEveryMs * 2;
    while ((await version()) === claimed && Date.now() < deadline) await sleep(20);
    const releaseStart = Date.now();
    const releasing = cli(['release', name, '--holder', 'first-host', '--json']);
    // The store stamps the release (expires_at = its clock at the release): catch it before the next host claims.
    let releasedAt = releaseStart;
    for (let i = 0; i < 500; i++) {
      const { rows } = await pool.query<{ holder: string | null; at: number }>(
        `SELECT holder, date_part('epoch', expires_at) * 1000 AS at FROM leasehold_leases WHERE name = $1`,
        [name],
      );
      if (rows[0]?.holder === null) {
        releasedAt = Number(rows[0].at);
        break;
      }
      if (rows[0]?.holder !== 'first-host') break; // already claimed again: keep the conservative bound
      await sleep(5);
    }
    expect((await releasing).code).toBe(0);
    const done = await run.done;
    const nextDone = await next.done;
    const last = lastBeat(file('alive'));
    const nextAt = firstBeat(file('next'));
    const stopping = json(done.stderr).find((e) => e.event === 'stopping');
    const leaseCheckMs = typeof stopping?.leaseCheckMs === 'number' ? stopping.leaseCheckMs : renewEveryMs;
    record({
      scenario: 'released',
      ttlMs,
      killGraceMs: Number(stopping?.killGraceMs ?? 0),
      validUntil: null,
      lastSignOfLife: last,
      nextStartedAt: nextAt,
      overlapMs: overlap(last, nextAt),
      marginMs: null,
      stopDelayMs: Math.round(last - releasedAt),
      leaseCheckMs,
      note: `renewal every ${renewEveryMs} ms; the next host polls every ~2 s`,
    });
    expect(done.code).toBe(EXIT.LOST);
    // Released, or, when the next host claimed it before this run's next look, taken over.
    expect(stopping?.reason).toMatch(/lost leadership of .* \((released|taken-over)\)/);
    expect(nextDone.code, nextDone.stderr).toBe(0);
    // Within one lease check (and so well within one renewal), with a second for a loaded machine.
    expect(last - releasedAt).toBeLessThan(Math.min(renewEveryMs, leaseCheckMs + 1_000));
  });
});
