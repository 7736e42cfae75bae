/**
 * The `leasehold` CLI as cron runs it: separate processes against a real PostgreSQL (and DynamoDB Local for the
 * DynamoDB URL), each in its own process group. The CLI is bundled once from src/cli with esbuild (SDKs left
 * external, so each is still imported lazily from node_modules), which starts in a fraction of tsx's time: three
 * processes fired together really contend. `watch` is checked in a real terminal (tmux).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { INIT_HELP } from '../../src/cli/commands/init/help.js';
import { RELEASE_HELP } from '../../src/cli/commands/release/help.js';
import { RUN_HELP } from '../../src/cli/commands/run/help.js';
import { STATUS_HELP } from '../../src/cli/commands/status/help.js';
import { WATCH_HELP } from '../../src/cli/commands/watch/help.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { readStatus } from '../../src/cli/lease-status.js';
import { MAIN_HELP } from '../../src/cli/main.js';
import { tryLead } from '../../src/lead.js';
import { PostgresStore, postgresChannel } from '../../src/stores/postgres/index.js';
import { startProxy } from '../support/cli-harness.js';
import { buildCli, groupAlive, hasTmux, jsonLines as json, ROOT, type Running, sleep, startCli, until } from '../support/cli-process.js';

const WORK = join(ROOT, '.tmp', `cli-${process.pid}`);
const BIN = join(WORK, 'bin', 'bin.js');
const databaseUrl = inject('databaseUrl');
const dynamodbEndpoint = inject('dynamodbEndpoint');
const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
const store = new PostgresStore({ pool });

/** Starts `leasehold …` in its own process group (as cron would: its own session), against Postgres by default. */
function start(args: string[], env: Record<string, string> = {}): Running {
  return startCli(BIN, args, { LEASEHOLD_STORE: databaseUrl, ...env }, WORK);
}

const cli = (args: string[], env: Record<string, string> = {}) => start(args, env).done;

let seq = 0;
/** A fresh lease name and a scratch directory for one test. */
function fresh(label: string): { name: string; dir: string; file: (f: string) => string } {
  const name = `cli-${label}-${process.pid}-${++seq}`;
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  return { name, dir, file: (f) => join(dir, f) };
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const lines = (file: string) => read(file).split('\n').filter(Boolean);

const started: Running[] = [];
beforeAll(async () => {
  await buildCli(WORK);
  await store.migrate();
}, 60_000);
afterAll(async () => {
  for (const r of started) if (groupAlive(r.pid)) process.kill(-r.pid, 'SIGKILL');
  await pool.end();
  rmSync(WORK, { recursive: true, force: true });
});

describe('leasehold run (PostgreSQL)', () => {
  it('three processes fired at once run the command exactly once; the other two exit 75 and say who holds it until when', async () => {
    const { name, file } = fresh('three');
    const results = await Promise.all(
      [1, 2, 3].map((i) => cli(['run', '--name', name, '--ttl', '10s', '--holder', `host-${i}`, '--', 'sh', '-c', `echo ran >> ${file('out')}; sleep 2`])),
    );
    expect(lines(file('out'))).toEqual(['ran']);
    const codes = results.map((r) => r.code).sort();
    expect(codes).toEqual([0, EXIT.HELD, EXIT.HELD]);
    for (const r of results.filter((x) => x.code === EXIT.HELD)) {
      expect(r.stderr).toMatch(
        new RegExp(
          `${name} is held by host-\\d \\(token \\d+\\) until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\([\\d.]+s left, unless renewed\\); the command was not run \\(exit 75\\)`,
        ),
      );
    }
    // Released after the command: the lease is free at once.
    expect((await readStatus(store, name)).state).toBe('free');
  });

  it('a leader killed with its whole process group is not replaced while its lease lasts; then the next run runs', async () => {
    const { name, file } = fresh('crash');
    const leader = start(['run', '--name', name, '--ttl', '3s', '--', 'sh', '-c', `echo $$ > ${file('pgid')}; echo ran >> ${file('out')}; sleep 30`]);
    started.push(leader);
    await until('the leader to start its command', () => lines(file('out')).length === 1 && read(file('pgid')).endsWith('\n'));
    const childGroup = Number(read(file('pgid')));
    // A crash: SIGKILL to leasehold's process group and to the command's (kill -KILL -- -PGID), nothing released.
    process.kill(-leader.pid, 'SIGKILL');
    try {
      process.kill(-childGroup, 'SIGKILL');
    } catch (error) {
      // Already gone (ESRCH): the watchdog may end the command's group as soon as leasehold dies; the crash is the same.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    await leader.done;
    const held = await readStatus(store, name);
    expect(held.state).toBe('held');
    const expiresAt = held.expiresAt as number;
    const refused = await cli(['run', '--name', name, '--ttl', '3s', '--', 'sh', '-c', `echo again >> ${file('out')}`]);
    expect(refused.code).toBe(EXIT.HELD);
    expect(lines(file('out'))).toEqual(['ran']);
    const next = await cli([
      'run',
      '--name',
      name,
      '--ttl',
      '3s',
      '--wait',
      '8s',
      '--',
      'sh',
      '-c',
      `echo "next $(date +%s%3N) $LEASEHOLD_FENCING_TOKEN" >> ${file('out')}`,
    ]);
    expect(next.code).toBe(0);
    const [, ranAt, token] = (lines(file('out'))[1] ?? '').split(' ');
    expect(Number(ranAt)).toBeGreaterThanOrEqual(expiresAt - 5); // same machine: the store's clock is this one
    expect(Number(token)).toBe(held.token + 1);
  });

  it('leadership taken mid-run: the command gets SIGTERM, then SIGKILL after --kill-grace; leasehold exits 80', async () => {
    const { name, file } = fresh('taken');
    const script = `trap 'echo TERM >> ${file('log')}' TERM; echo $$ > ${file('pgid')}; echo start >> ${file('log')}; while :; do sleep 0.1; done`;
    const run = start(['run', '--name', name, '--ttl', '3s', '--kill-grace', '800ms', '--json', '--', 'sh', '-c', script]);
    started.push(run);
    await until('the command to start', () => lines(file('log')).includes('start') && read(file('pgid')).endsWith('\n'));
    const childGroup = Number(read(file('pgid')));
    // Another writer takes the lease in the database (as after a lapse); the next renewal finds it.
    await pool.query(
      `UPDATE leasehold_leases SET holder = 'intruder', token = token + 1, version = 'taken', expires_at = now() + interval '1 minute' WHERE name = $1`,
      [name],
    );
    const done = await run.done;
    expect(done.code).toBe(EXIT.LOST);
    expect(lines(file('log'))).toEqual(['start', 'TERM']); // trapped SIGTERM, kept running, then SIGKILL
    expect(groupAlive(childGroup)).toBe(false);
    const events = json(done.stderr);
    const stopping = events.find((e) => e.event === 'stopping');
    expect(stopping?.reason).toMatch(/lost leadership of .* \(taken-over\)/);
    expect(events.at(-1)).toMatchObject({ outcome: 'lost', exitCode: EXIT.LOST, sent: ['SIGTERM', 'SIGKILL'], commandSignal: 'SIGKILL' });
    // leasehold's own release did not touch the new holder's lease.
    expect(await readStatus(store, name)).toMatchObject({ state: 'held', holder: 'intruder' });
  });

  it('renewals refused (the store cut off): the command is stopped before its validity ends; the next host runs after expiry', async () => {
    const { name, file } = fresh('cut');
    const proxy = await startProxy(new URL(databaseUrl));
    const script = `trap 'echo TERM $(date +%s%3N) >> ${file('log')}' TERM; echo $$ > ${file('pgid')}; echo start >> ${file('log')}; while :; do sleep 0.1; done`;
    const run = start(['run', '--name', name, '--ttl', '3s', '--kill-grace', '800ms', '--json', '--', 'sh', '-c', script], { LEASEHOLD_STORE: proxy.url });
    started.push(run);
    await until('the command to start', () => lines(file('log')).includes('start') && read(file('pgid')).endsWith('\n'));
    const childGroup = Number(read(file('pgid')));
    await sleep(300);
    await proxy.cut(); // every connection refused from now on: renewals fail
    const done = await run.done;
    const diedAt = Date.now();
    expect(done.code).toBe(EXIT.LOST);
    expect(groupAlive(childGroup)).toBe(false);
    const termAt = Number(lines(file('log'))[1]?.split(' ')[1]);
    // Stopped before the lease could lapse in the store (its last renewal's expiry, read now): no other host could
    // have run yet.
    const last = (await store.read(name)).record;
    expect(last?.holder).not.toBeNull(); // leasehold could not release it either: it lapses
    expect(termAt).toBeLessThan(last?.expiresAt as number);
    const events = json(done.stderr);
    expect(events.find((e) => e.event === 'stopping')?.reason).toMatch(/running out/);
    expect(events.at(-1)).toMatchObject({ outcome: 'lost', sent: ['SIGTERM', 'SIGKILL'] });
    const next = await cli(['run', '--name', name, '--ttl', '3s', '--wait', '8s', '--', 'sh', '-c', `date +%s%3N >> ${file('next')}`]);
    expect(next.code).toBe(0);
    expect(Number(lines(file('next'))[0])).toBeGreaterThan(diedAt - 1_000);
  });

  it.concurrent('the same --slot fired twice runs once (79 the second time); a failed run does not complete its slot', async () => {
    const { name, file } = fresh('slot');
    const slot = (s: string, cmd: string) => cli(['run', '--name', name, '--ttl', '5s', '--slot', s, '--', 'sh', '-c', cmd]);
    expect((await slot('2030-01-01T05:00', `echo 05:00 >> ${file('out')}`)).code).toBe(0);
    const again = await slot('2030-01-01T05:00', `echo again >> ${file('out')}`);
    expect(again.code).toBe(EXIT.DONE);
    expect(again.stderr).toContain('slot 2030-01-01T05:00 of');
    expect((await slot('2030-01-01T04:55', `echo 04:55 >> ${file('out')}`)).code).toBe(EXIT.DONE);
    expect((await slot('2030-01-01T05:05', `echo failed >> ${file('out')}; exit 3`)).code).toBe(3);
    expect((await slot('2030-01-01T05:05', `echo $LEASEHOLD_SLOT >> ${file('out')}`)).code).toBe(0);
    expect(lines(file('out'))).toEqual(['05:00', 'failed', '2030-01-01T05:05']);
    expect((await readStatus(store, name)).lastCompletedSlot).toBe('2030-01-01T05:05:00.000Z');
    const done = await cli(['run', '--name', name, '--ttl', '5s', '--slot', '2030-01-01T05:05', '--done-exit-code', '0', '--', 'true']);
    expect(done.code).toBe(0);
    expect(done.stderr).toBe(''); // --done-exit-code 0: nothing for cron to mail
  });

  it.concurrent('exit codes: the command’s own, 128 + signal, 126/127, 64 for bad usage, 69 when the store is unreachable (the command never runs)', async () => {
    const { file } = fresh('codes');
    // A lease of its own for each run, as they run at once.
    const base = (label: string) => ['run', '--name', `cli-codes-${process.pid}-${label}`, '--ttl', '5s'];
    const [own, bySignal, missing, notExec, badFlag, badDuration, badScheme, badGrace, unreachable, noCommand] = await Promise.all([
      cli([...base('own'), '--', 'sh', '-c', 'exit 3']),
      cli([...base('signal'), '--', 'sh', '-c', 'kill -USR1 $$']),
      cli([...base('missing'), '--', 'no-such-command-here']),
      cli([...base('noexec'), '--', file('')]),
      cli([...base('flag'), '--frobnicate', '--', 'true']),
      cli(['run', '--name', 'x', '--ttl', '30', '--', 'true']),
      cli([...base('scheme'), '--store', 'mysql://u:secret@host/db', '--', 'true']),
      cli([...base('grace'), '--kill-grace', '5s', '--', 'true']),
      cli([...base('down'), '--store', 'postgres://u:hunter2@127.0.0.1:1/db', '--', 'sh', '-c', `touch ${file('ran')}`]),
      cli(base('none')),
    ]);
    expect(own.code).toBe(3);
    expect(bySignal.code).toBe(128 + 10);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    expect(missing.stderr).toContain('command not found: no-such-command-here');
    expect(notExec.code).toBe(EXIT.NOT_EXECUTABLE);
    expect(badFlag.code).toBe(EXIT.USAGE);
    expect(badFlag.stderr).toContain("Unknown option '--frobnicate'; see leasehold run --help");
    expect(badDuration.code).toBe(EXIT.USAGE);
    expect(badDuration.stderr).toContain('--ttl must be a duration with a unit, like 500ms, 30s');
    expect(badScheme.code).toBe(EXIT.USAGE);
    expect(badScheme.stderr).toContain('unknown store scheme "mysql:"');
    expect(badGrace.code).toBe(EXIT.USAGE);
    expect(badGrace.stderr).toContain('--kill-grace (5s) must be above 0 and shorter than');
    expect(unreachable.code).toBe(EXIT.STORE_UNAVAILABLE);
    expect(unreachable.stderr).toContain('cannot use the store postgres://u:****@127.0.0.1:1/db');
    expect(unreachable.stderr).toContain('the command was not run');
    expect(existsSync(file('ran'))).toBe(false);
    expect(noCommand.code).toBe(EXIT.USAGE);
    for (const r of [badScheme, unreachable]) expect(r.stderr).not.toMatch(/secret|hunter2/);
  });

  it('signals reach the command’s process group; leasehold exits with the command’s code', async () => {
    const { name, file } = fresh('signals');
    const trapping = `trap 'echo got-$1 >> ${file('log')}; exit 7' TERM; echo ready >> ${file('log')}; while :; do sleep 0.1; done`;
    const term = start(['run', '--name', name, '--ttl', '5s', '--', 'sh', '-c', trapping, 'sh', 'TERM']);
    started.push(term);
    await until('the command to start', () => lines(file('log')).includes('ready'));
    process.kill(term.pid, 'SIGTERM'); // to leasehold only: it passes it on
    const termDone = await term.done;
    expect(termDone.code).toBe(7);
    expect(lines(file('log'))).toEqual(['ready', 'got-TERM']);
    for (const [signal, number] of [
      ['SIGINT', 2],
      ['SIGHUP', 1],
    ] as const) {
      const r = start(['run', '--name', name, '--ttl', '5s', '--', 'sh', '-c', `echo ${signal} >> ${file('log')}; exec sleep 30`]);
      started.push(r);
      await until(`${signal} run to start`, () => lines(file('log')).includes(signal));
      await sleep(50);
      process.kill(r.pid, signal);
      expect((await r.done).code).toBe(128 + number);
    }
    expect((await readStatus(store, name)).state).toBe('free');
  });

  it.concurrent('--wait runs once the holder is done; a short --wait gives up with the conflict code', async () => {
    const { name, file } = fresh('wait');
    // Each holder runs until the test opens its gate, not for a fixed time: a loaded machine starts processes late.
    const gated = (gate: string, before: string, after = 'true') => `${before}; while [ ! -e ${file(gate)} ]; do sleep 0.05; done; ${after}`;
    const first = start([
      'run',
      '--name',
      name,
      '--ttl',
      '3s',
      '--',
      'sh',
      '-c',
      gated('gate', `echo first >> ${file('out')}`, `echo first-done >> ${file('out')}`),
    ]);
    started.push(first);
    await until('the first run to start', () => lines(file('out')).includes('first'));
    const waiting = cli(['run', '--name', name, '--ttl', '3s', '--wait', '60s', '--', 'sh', '-c', `echo second >> ${file('out')}`]);
    const impatient = await cli([
      'run',
      '--name',
      name,
      '--ttl',
      '3s',
      '--wait',
      '300ms',
      '--conflict-exit-code',
      '0',
      '--json',
      '--',
      'sh',
      '-c',
      `echo never >> ${file('out')}`,
    ]);
    writeFileSync(file('gate'), '');
    const waited = await waiting;
    expect((await first.done).code).toBe(0);
    expect(waited.code).toBe(0);
    expect(impatient.code).toBe(0);
    expect(json(impatient.stderr).at(-1)).toMatchObject({ outcome: 'held', exitCode: 0 });
    expect(json(impatient.stderr).at(-1)?.message).toContain('after waiting 300ms');
    expect(lines(file('out'))).toEqual(['first', 'first-done', 'second']);
    // --quiet: nothing on stderr when not run, the code still says why.
    const holder = start(['run', '--name', name, '--ttl', '3s', '--', 'sh', '-c', gated('gate2', `echo up >> ${file('up')}`)]);
    started.push(holder);
    await until('the holder to lead', () => lines(file('up')).length === 1);
    const quiet = await cli(['run', '--name', name, '--ttl', '3s', '--quiet', '--', 'true']);
    writeFileSync(file('gate2'), '');
    expect(quiet).toMatchObject({ code: EXIT.HELD, stderr: '' });
    expect((await holder.done).code).toBe(0);
  });
});

describe('leasehold status, release and init', () => {
  it.concurrent('status shows holder, token and time left; release by another holder changes nothing, by the holder frees it (and stops that run: 80)', async () => {
    const { name, file } = fresh('ops');
    const run = start(['run', '--name', name, '--ttl', '6s', '--holder', 'web-2:4711', '--', 'sh', '-c', `echo go >> ${file('out')}; sleep 30`]);
    started.push(run);
    await until('the run to start', () => lines(file('out')).includes('go'));
    const human = await cli(['status', name]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${name}: held by web-2:4711\\n  token: +\\d+\\n  acquired: +\\S+Z\\n  expires: +\\S+Z\\n  time left: +[\\d.]+s`));
    const [machine] = json((await cli(['status', name, '--json'])).stdout);
    expect(machine).toMatchObject({ name, state: 'held', holder: 'web-2:4711', clock: 'store' });
    expect(machine?.timeLeftMs).toBeGreaterThan(0);
    const wrong = await cli(['release', name, '--holder', 'someone-else']);
    expect(wrong.code).toBe(EXIT.NOT_HOLDER);
    expect(wrong.stdout).toContain('was not held by someone-else; nothing changed');
    const right = await cli(['release', name, '--holder', 'web-2:4711', '--json']);
    expect(right.code).toBe(0);
    expect(JSON.parse(right.stdout)).toEqual({ name, holder: 'web-2:4711', released: true });
    expect((await run.done).code).toBe(EXIT.LOST);
    expect((await cli(['status', name])).stdout).toContain(`${name}: free (released; last token`);
    const missing = await cli(['status']);
    expect(missing.code).toBe(EXIT.USAGE);
  });

  it.concurrent('init creates the table; a missing table says to run init', async () => {
    const schema = `cli_init_${process.pid}`;
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const url = `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}schema=${schema}&table=jobs`;
    const before = await cli(['status', 'x', '--store', url]);
    expect(before.code).toBe(EXIT.STORE_UNAVAILABLE);
    expect(before.stderr).toContain('create it with: leasehold init --store');
    expect((await cli(['init', '--store', url])).stdout).toContain(`table ${schema}.jobs is ready`);
    expect((await cli(['status', 'x', '--store', url])).stdout).toBe('x: never claimed\n');
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  });

  it.concurrent('memory: works in one process and says so', async () => {
    const r = await cli([
      'run',
      '--store',
      'memory:',
      '--name',
      'try',
      '--ttl',
      '5s',
      '--',
      'sh',
      '-c',
      'echo "token $LEASEHOLD_FENCING_TOKEN of $LEASEHOLD_NAME"',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('token 1 of try\n');
    expect(r.stderr).toContain('memory: is a store inside this one process');
  });
});

describe('help', () => {
  it.concurrent('every command has --help with examples (and exit codes); the README carries each verbatim', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [command, text] of [
      ['', MAIN_HELP],
      ['run', RUN_HELP],
      ['status', STATUS_HELP],
      ['release', RELEASE_HELP],
      ['watch', WATCH_HELP],
      ['init', INIT_HELP],
    ] as const) {
      const r = await cli(command ? [command, '--help'] : ['--help']);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toBe(`${text}\n`);
      expect(text, command).toContain('Examples:');
      if (command) expect(text, command).toContain('Exit codes');
      expect(readme, `README has leasehold ${command} --help (npm run build && node scripts/readme-cli-help.mjs rewrites it)`).toContain(text.trimEnd());
    }
    for (const code of Object.values(EXIT)) expect(readme, `README documents exit code ${code}`).toMatch(new RegExp(`\\| \`${code}\` \\|`));
    const none = await cli([]);
    expect(none.code).toBe(EXIT.USAGE);
    expect((await cli(['frob'])).stderr).toContain('unknown command "frob"');
  });
});

describe("leasehold on DynamoDB Local (dynamodb://) and Google's Firestore emulator (firestore://)", () => {
  it.concurrent('init, one run at a time with the conflict code and the holder on stderr, status, slots', async () => {
    const url = `dynamodb://cli_leases?region=us-east-1&endpoint=${encodeURIComponent(dynamodbEndpoint)}`;
    const env = { LEASEHOLD_STORE: url, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
    const { name, file } = fresh('dynamo');
    expect((await cli(['init'], env)).code).toBe(0);
    const results = await Promise.all(
      [1, 2, 3].map((i) => cli(['run', '--name', name, '--ttl', '10s', '--holder', `d-${i}`, '--', 'sh', '-c', `echo ran >> ${file('out')}; sleep 2`], env)),
    );
    expect(lines(file('out'))).toEqual(['ran']);
    expect(results.map((r) => r.code).sort()).toEqual([0, EXIT.HELD, EXIT.HELD]);
    expect(results.find((r) => r.code === EXIT.HELD)?.stderr).toMatch(/is held by d-\d \(token \d+\) until/);
    const [status] = json((await cli(['status', name, '--json'], env)).stdout);
    expect(status).toMatchObject({ state: 'free', clock: 'client' });
    const slot = () => cli(['run', '--name', name, '--ttl', '5s', '--slot', '2030-01-01T05:00', '--', 'sh', '-c', `echo slot >> ${file('out')}`], env);
    expect((await slot()).code).toBe(0);
    expect((await slot()).code).toBe(EXIT.DONE);
    expect(lines(file('out'))).toEqual(['ran', 'slot']);
  });

  const host = inject('firestoreEmulatorHost');
  const skip = inject('firestoreEmulatorSkip');
  (host ? it.concurrent : it.skip)(
    `a run, a refused run and status${host ? '' : ` (skipped: ${skip})`}`,
    async () => {
      const env = { LEASEHOLD_STORE: 'firestore://demo-cli/cli_leases', FIRESTORE_EMULATOR_HOST: host, METADATA_SERVER_DETECTION: 'none' };
      const { name, file } = fresh('firestore');
      // The emulator answers its first requests slowly, past the store's 5 s bound on a loaded machine: read until it
      // answers, so that the runs below meet a warm emulator.
      const warmUntil = Date.now() + 60_000;
      while ((await cli(['status', name], env)).code !== 0 && Date.now() < warmUntil);
      // A lease long enough for the emulator's slow answers (a renewal that comes too late stops the command), --wait
      // to retry one that times out, and a command that runs until the test opens its gate.
      const script = `echo ran >> ${file('out')}; while [ ! -e ${file('gate')} ]; do sleep 0.05; done`;
      const first = start(['run', '--name', name, '--ttl', '15s', '--kill-grace', '1s', '--holder', 'fs-1', '--wait', '30s', '--', 'sh', '-c', script], env);
      started.push(first);
      let firstEnded = false;
      void first.done.then(() => {
        firstEnded = true;
      });
      await until(
        'the first run to start',
        () => lines(file('out')).length === 1 || firstEnded,
        60_000,
        () => first.stderr(),
      );
      expect(lines(file('out')), first.stderr()).toEqual(['ran']);
      const refused = await cli(['run', '--name', name, '--ttl', '15s', '--', 'sh', '-c', `echo again >> ${file('out')}`], env);
      expect(refused.code, `${refused.stderr}${first.stderr()}`).toBe(EXIT.HELD);
      expect(refused.stderr).toContain(`${name} is held by fs-1`);
      const [status] = json((await cli(['status', name, '--json'], env)).stdout);
      expect(status).toMatchObject({ state: 'held', holder: 'fs-1', clock: 'store' });
      writeFileSync(file('gate'), '');
      expect((await first.done).code).toBe(0);
      expect(lines(file('out'))).toEqual(['ran']);
      const short = await cli(['run', '--name', name, '--ttl', '2s', '--', 'true'], env);
      expect(short.code).toBe(EXIT.USAGE);
      expect(short.stderr).toContain('ttlMs must be at least 3000 ms');
    },
    150_000,
  );
});

describe('leasehold watch in a real terminal (tmux)', () => {
  it.skipIf(!hasTmux)('redraws in place and shows a takeover as it happens; q quits (skipped only where tmux is not installed)', async () => {
    const { name } = fresh('watch');
    const socket = join(WORK, 'tmux.sock');
    const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
    // Through sh, which prints watch's exit code when it ends; remain-on-exit keeps it on the screen.
    const command = `env LEASEHOLD_STORE='${databaseUrl}' NODE_NO_WARNINGS=1 ${process.execPath} ${BIN} watch ${name} --interval 200ms; echo "watch exited: $?"`;
    tmux('new-session', '-d', '-s', 'w', '-x', '140', '-y', '20', command);
    try {
      tmux('set-option', '-t', 'w', 'remain-on-exit', 'on');
      const screen = () => tmux('capture-pane', '-p', '-t', 'w');
      await until('the view to draw', () => screen().includes(`${name}  never claimed`), 15_000);
      await tryLead(store, { name, holder: 'alpha', ttlMs: 1_500, maxClockSkewMs: 200 });
      await until('alpha to show, with its bar', () => /alpha +token 1 +█+░*/.test(screen()));
      // alpha stops renewing; after its lease runs out, beta takes over.
      await sleep(1_600);
      const beta = await tryLead(store, { name, holder: 'beta', ttlMs: 10_000 });
      expect(beta.isLeader).toBe(true);
      await until('the takeover to show', () => /taken over: alpha → beta \(token 1 → 2(; alpha's lease had expired)?\)/.test(screen()));
      const view = screen();
      expect(view).toMatch(/beta +token 2 +█+/);
      // Redrawn in place: the header is on the screen once.
      expect(view.split('\n').filter((l) => l.startsWith('leasehold watch')).length).toBe(1);
      tmux('send-keys', '-t', 'w', 'q');
      await until('watch to quit on q', () => screen().includes('watch exited: '), 10_000, screen);
      expect(screen()).toContain('watch exited: 0');
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // Already gone.
      }
    }
  });

  it.concurrent('without a terminal it prints one line per change', async () => {
    const { name } = fresh('watch-lines');
    const w = start(['watch', name, '--interval', '150ms']);
    started.push(w);
    await until('the first line', () => false || w.child.stdout !== null, 1_000);
    const out: string[] = [];
    w.child.stdout?.on('data', (c: Buffer) => out.push(c.toString()));
    await until('the initial state', () => out.join('').includes('never claimed'));
    await tryLead(store, { name, holder: 'gamma', ttlMs: 5_000 });
    await until('the claim', () => out.join('').includes('claimed by gamma (token 1) until'));
    process.kill(w.pid, 'SIGINT');
    expect((await w.done).code).toBe(0);
  });

  it.concurrent('a release on Postgres is shown at once (LISTEN/NOTIFY), not at the next read a minute later', async () => {
    const { name } = fresh('watch-push');
    const lead = await tryLead(store, { name, holder: 'delta', ttlMs: 120_000 });
    const w = start(['watch', name, '--interval', '60s']);
    started.push(w);
    const out: string[] = [];
    w.child.stdout?.on('data', (c: Buffer) => out.push(c.toString()));
    await until('the initial state', () => out.join('').includes('held by delta'), 20_000);
    // The listening connection is taken when watch starts: wait until it is in place.
    const listen = `LISTEN "${postgresChannel()}"`;
    for (let i = 0; ; i++) {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1', [listen]);
      if (Number(rows[0]?.n) > 0) break;
      if (i > 400) throw new Error('watch never listened');
      await sleep(25);
    }
    const releasedAt = Date.now();
    expect(await lead.release()).toBe(true);
    // The interval is a minute: only the push can show it within this wait.
    await until('the release', () => out.join('').includes('released by delta'), 20_000);
    expect(Date.now() - releasedAt).toBeLessThan(30_000);
    process.kill(w.pid, 'SIGINT');
    expect((await w.done).code).toBe(0);
  });
});
