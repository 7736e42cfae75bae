/**
 * Issue 19, "Secrets" and "Exit codes and errors": cron mails what the CLI prints, so no input that may hold a
 * credential is ever printed unmasked (DESIGN.md, "Secrets are never echoed"), in any command, text or --json, stdout
 * or stderr, in errors and usage messages, whatever its shape. Checked three ways: a table of hostile store values
 * through the one masking path (parseStoreUrl and storeFailure); a property test (fast-check) that runs every command
 * in this process with random passwords of any characters in every shape; and the real CLI, as separate processes,
 * against an unreachable port and against the real PostgreSQL with roles that have passwords. Also: a malformed %
 * escape is bad usage (64, no stack trace), Firestore without credentials is a store outage (69, fast, saying how to
 * give them), and each Postgres refusal gets the hint that fits it.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { CliError, EXIT } from '../../src/cli/exit-codes.js';
import { storeFailure } from '../../src/cli/lease-status.js';
import { main } from '../../src/cli/main.js';
import { parseStoreUrl } from '../../src/cli/store-url.js';
import { buildCli, type Done, groupAlive, hasTmux, jsonLines, ROOT, type Running, startCli, until } from '../support/cli-process.js';
import { startSilentServer } from '../support/silent-server.js';

const WORK = join(ROOT, '.tmp', `cli-secrets-${process.pid}`);
const BIN = join(WORK, 'bin', 'bin.js');
const databaseUrl = inject('databaseUrl');
const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const started: Running[] = [];

/** Runs the CLI as a process (with no LEASEHOLD_STORE of the caller's unless given). */
function start(args: string[], env: Record<string, string | undefined> = {}): Running {
  const running = startCli(BIN, args, { LEASEHOLD_STORE: undefined, ...env }, WORK);
  started.push(running);
  return running;
}
const cli = (args: string[], env: Record<string, string | undefined> = {}) => start(args, env).done;

/** Everything a run printed, both streams. */
const printed = (r: Done) => `${r.stdout}\n${r.stderr}`;

/** Fails naming the piece when any secret piece (case-insensitively) is in the text. */
function expectNone(text: string, pieces: string[]): void {
  const lower = text.toLowerCase();
  for (const piece of pieces) expect(lower, `printed ${JSON.stringify(piece)}:\n${text}`).not.toContain(piece.toLowerCase());
}

/** What the CLI shows of a store value: how it is shown when accepted, or the usage error when refused. */
function display(value: string): { shown?: string; refused?: CliError } {
  try {
    return { shown: parseStoreUrl(value).shown };
  } catch (error) {
    if (error instanceof CliError) return { refused: error };
    throw error;
  }
}

beforeAll(async () => {
  await buildCli(WORK);
}, 60_000);
afterAll(async () => {
  for (const r of started) if (groupAlive(r.pid)) process.kill(-r.pid, 'SIGKILL');
  await admin.end();
  rmSync(WORK, { recursive: true, force: true });
});

describe('masking a store value: hostile shapes', () => {
  // value, the pieces of secret it holds (none may be shown), and how it is shown when it is accepted (else refused: 64).
  const table: Array<[label: string, value: string, secrets: string[], shown: string | 'refused']> = [
    ['plain password', 'postgres://app:s3cr3t-Pa55@db.internal:5432/ops', ['s3cr3t-Pa55'], 'postgres://app:****@db.internal:5432/ops'],
    ['password with two @', 'postgres://app:p@ss@word-X7@db:5432/ops', ['p@ss@word-X7', 'ss@word-X7', 'word-X7'], 'postgres://app:****@db:5432/ops'],
    ['password with : and @', 'postgres://app:pa:ss@wo:rd-X7@db/ops', ['pa:ss@wo:rd-X7', 'wo:rd-X7'], 'postgres://app:****@db/ops'],
    [
      'percent-encoded @#/?',
      `postgres://app:${encodeURIComponent('p@s#s/w?rd-K3y')}@db/ops`,
      ['p@s#s/w?rd-K3y', 'rd-K3y', 'p%40s%23s'],
      'postgres://app:****@db/ops',
    ],
    ['unencoded #', 'postgres://app:pa#ss-Q9zz@db/ops', ['pa#ss-Q9zz', 'ss-Q9zz'], 'refused'],
    ['unencoded # after @', 'postgres://app:p@ss#wo-Q9zz@db/ops', ['p@ss#wo-Q9zz', 'ss#wo-Q9zz', 'wo-Q9zz'], 'refused'],
    ['unencoded /', 'postgres://app:pa/ss-Q9zz@db/ops', ['pa/ss-Q9zz', 'ss-Q9zz'], 'refused'],
    ['unencoded / after digits (reads as a port)', 'postgres://app:12/ss-Q9zz@db/ops', ['ss-Q9zz'], 'refused'],
    ['unencoded ?', 'postgres://app:pa?ss-Q9zz@db/ops', ['pa?ss-Q9zz', 'ss-Q9zz'], 'refused'],
    ['unencoded ? after digits (reads as a port)', 'postgres://app:12?ss-Q9zz@db/ops', ['ss-Q9zz'], 'refused'],
    ['a newline in the password', 'postgres://app:pa\nss-Q9zz@db/ops', ['ss-Q9zz'], 'refused'],
    ['?password=', 'postgres://app@db/ops?password=Hunt3r-2x', ['Hunt3r-2x'], 'postgres://app@db/ops?password=****'],
    ['?sslpassword= then more', 'postgres://app@db/ops?sslpassword=Hunt3r-2x&sslmode=require', ['Hunt3r-2x'], 'postgres://app@db/ops?sslpassword=****'],
    [
      'sslkey is a path, shown',
      'postgres://app@db/ops?sslmode=require&sslkey=/etc/key.pem&password=Hunt3r-2x',
      ['Hunt3r-2x'],
      'postgres://app@db/ops?sslmode=require&sslkey=/etc/key.pem&password=****',
    ],
    [
      '?password= with an unencoded &',
      'postgres://app@db/ops?sslmode=require&password=ab&Hunt3r-2x&table=t',
      ['Hunt3r-2x'],
      'postgres://app@db/ops?sslmode=require&password=****',
    ],
    [
      '?password= percent-encoded',
      `postgres://app@db/ops?password=${encodeURIComponent('a&b=c Hunt3r-2x')}`,
      ['Hunt3r-2x'],
      'postgres://app@db/ops?password=****',
    ],
    [
      'an unknown parameter',
      'postgres://app@db/ops?access_token=T0k3n-abcd&key=K3y-abcdef',
      ['T0k3n-abcd', 'K3y-abcdef'],
      'postgres://app@db/ops?access_token=****',
    ],
    ['a bare query word', 'postgres://app@db/ops?T0k3n-abcd', ['T0k3n-abcd'], 'postgres://app@db/ops?****'],
    ['libpq key=value', 'host=db port=5432 user=app password=Hunt3r-2x dbname=ops', ['Hunt3r-2x'], 'refused'],
    ['libpq key=value, quoted', "host=db password='Hunt 3r-2x' dbname=ops", ['Hunt 3r-2x', '3r-2x'], 'refused'],
    ['a secret alone', 'Hunt3r-2x-alone', ['Hunt3r-2x-alone'], 'refused'],
    ['a secret before ://', 'Hunt3r2x://x', ['Hunt3r2x'], 'refused'],
    ['another scheme', 'mysql://app:Hunt3r-2x@db/ops', ['Hunt3r-2x'], 'refused'],
    ['malformed % escape', 'postgres://app:50%off-Hunt3r@db/ops', ['50%off-Hunt3r', 'off-Hunt3r'], 'refused'],
    ['malformed % in a table name', 'dynamodb://t%zz?region=x&secretAccessKey=Hunt3r-2x', ['Hunt3r-2x'], 'refused'],
    ['AWS keys as parameters', 'dynamodb://leases?region=eu-west-1&secretAccessKey=Hunt3r-2x&sessionToken=T0k3n-abcd', ['Hunt3r-2x', 'T0k3n-abcd'], 'refused'],
    ['a DynamoDB endpoint with a password', 'dynamodb://leases?region=eu-west-1&endpoint=http://app:Hunt3r-2x@127.0.0.1:8000', ['Hunt3r-2x'], 'refused'],
    ['a DynamoDB URL with a password', 'dynamodb://app:Hunt3r-2x@leases?region=eu-west-1', ['Hunt3r-2x'], 'refused'],
    ['a Firestore token', 'firestore://proj/leases?access_token=T0k3n-abcd', ['T0k3n-abcd'], 'refused'],
    [
      'a harmless DynamoDB URL, shown whole',
      'dynamodb://leases?region=eu-west-1&endpoint=http://127.0.0.1:8000',
      [],
      'dynamodb://leases?region=eu-west-1&endpoint=http://127.0.0.1:8000',
    ],
  ];

  it.each(table)('%s', (_label, value, secrets, expected) => {
    const { shown, refused } = display(value);
    if (expected === 'refused') {
      expect(refused?.exitCode, `accepted as ${shown}`).toBe(EXIT.USAGE);
      expect(refused?.message).not.toMatch(/\n\s+at /);
      expectNone(refused?.message ?? '', secrets);
    } else {
      expect(shown, refused?.message).toBe(expected);
    }
    expectNone(shown ?? '', secrets);
  });

  it('a driver error that embeds the connection string is scrubbed before it is printed; clauses join without stray punctuation', () => {
    for (const [value, secret] of [
      ['postgres://app:p@ss@word-X7@127.0.0.1:1/ops', 'p@ss@word-X7'],
      [`postgres://app:${encodeURIComponent('p@s#s/w?rd-K3y')}@127.0.0.1:1/ops`, 'p@s#s/w?rd-K3y'],
      ['postgres://app@127.0.0.1:1/ops?sslpassword=Hunt3r-2x', 'Hunt3r-2x'],
    ] as const) {
      const spec = parseStoreUrl(value);
      const driverError = new Error(`could not connect with ${value} (password ${secret}, encoded ${encodeURIComponent(secret)}). Retry on the next poll.`);
      const failure = storeFailure(driverError, spec, 'the command was not run');
      expect(failure.exitCode).toBe(EXIT.STORE_UNAVAILABLE);
      expectNone(failure.message, [secret, value]);
      expectNone(JSON.stringify({ message: failure.message }), [secret, JSON.stringify(secret).slice(1, -1)]);
      expect(failure.message).toContain(`cannot use the store ${spec.shown}`);
      expect(failure.message).toMatch(/poll; the command was not run$/);
      expect(failure.message).not.toMatch(/[.;,]\s*;/);
    }
  });
});

describe('every command path, property-based (fast-check): a random password in any shape is never printed', () => {
  /**
   * Pieces of the password that must never be printed: letters and digits mixed, 8-12 of them, so that none turns
   * up in a message by chance (letters alone make words: "rguments" is in "arguments").
   */
  const fragment = fc.stringMatching(/^[A-Za-z0-9]{8,12}$/).filter((f) => /\d/.test(f) && /[A-Za-z]/.test(f));
  const hostile = fc.constantFrom(...'@#/?:&=%+; \'"\\\n\t,!$*()[]{}<>|~^`'.split(''), '%zz', '%41', '%%', 'é', '🔑', '://', '****', '\u00a0');
  const separator = fc.array(hostile, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(''));
  const password = fc
    .tuple(fc.option(separator), fc.array(fc.tuple(fragment, separator), { minLength: 0, maxLength: 3 }), fragment, fc.option(separator))
    .map(([before, middle, last, after]) => {
      const fragments = [...middle.map(([f]) => f), last];
      const text = `${before ?? ''}${middle.map(([f, s]) => f + s).join('')}${last}${after ?? ''}`;
      return { text, fragments };
    });
  /** The secret given as the store value itself. */
  const bare = (pw: string) => pw;
  const shapes: Array<(pw: string) => string> = [
    (pw) => `postgres://app:${pw}@127.0.0.1:1/ops`,
    (pw) => `postgres://app:${encodeURIComponent(pw)}@127.0.0.1:1/ops`,
    (pw) => `postgresql://app:${pw}@127.0.0.1:1/ops?table=t&password=${pw}`,
    (pw) => `postgres://app@127.0.0.1:1/ops?password=${pw}`,
    (pw) => `postgres://app@127.0.0.1:1/ops?password=${encodeURIComponent(pw)}`,
    (pw) => `postgres://app@127.0.0.1:1/ops?sslmode=disable&sslpassword=${pw}`,
    (pw) => `postgres://app@127.0.0.1:1/ops?access_token=${pw}&table=t`,
    (pw) => `host=127.0.0.1 port=1 user=app password=${pw} dbname=ops`,
    (pw) => `host=127.0.0.1 port=1 password='${pw}'`,
    bare,
    (pw) => `mysql://app:${pw}@127.0.0.1:1/ops`,
    (pw) => `dynamodb://leases?region=us-east-1&secretAccessKey=${pw}`,
    (pw) => `dynamodb://leases?region=us-east-1&endpoint=http://app:${encodeURIComponent(pw)}@127.0.0.1:1`,
    (pw) => `firestore://proj/leases?access_token=${pw}`,
  ];
  /** Every command, with the value as --store, as LEASEHOLD_STORE, or where a name or holder goes. */
  const BARE = shapes.indexOf(bare);
  const commands: Array<(value: string) => { argv: string[]; env?: NodeJS.ProcessEnv; asName?: true }> = [
    (v) => ({ argv: ['status', 'lease-a', '--store', v] }),
    (v) => ({ argv: ['status', 'lease-a', `--store=${v}`] }),
    (v) => ({ argv: ['status', 'lease-a'], env: { LEASEHOLD_STORE: v } }),
    (v) => ({ argv: ['release', 'lease-a', '--holder', 'h-1', '--store', v] }),
    (v) => ({ argv: ['watch', 'lease-a', '--interval', '100ms', '--store', v] }),
    (v) => ({ argv: ['init', '--store', v] }),
    (v) => ({ argv: ['run', '--store', v, '--name', 'lease-a', '--ttl', '5s', '--', 'true'] }),
    (v) => ({ argv: ['run', '--name', 'lease-a', '--ttl', '5s', '--', 'true'], env: { LEASEHOLD_STORE: v } }),
    (v) => ({ argv: ['status', v, '--store', 'memory:'], asName: true }),
    (v) => ({ argv: ['release', 'lease-a', '--holder', v, '--store', 'memory:'], asName: true }),
    (v) => ({ argv: ['run', '--store', 'memory:', '--name', v, '--ttl', '5s', '--', 'true'], asName: true }),
    (v) => ({ argv: ['run', '--store', 'memory:', v, '--name', 'lease-a', '--ttl', '5s', '--', 'true'], asName: true }),
  ];

  /** Runs main in this process; returns what it wrote to stdout and stderr. */
  async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; text: string }> {
    const chunks: string[] = [];
    const capture = (chunk: unknown) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      const code = await main(argv, env);
      return { code, text: chunks.join('') };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('text and --json, stdout and stderr, every command', async () => {
    await fc.assert(
      fc.asyncProperty(
        password,
        fc.nat(shapes.length - 1),
        fc.nat(commands.length - 1),
        fc.boolean(),
        async ({ text: pw, fragments }, shape, command, json) => {
          const value = (shapes[shape] as (pw: string) => string)(pw);
          const { argv, env = {}, asName } = (commands[command] as (v: string) => { argv: string[]; env?: NodeJS.ProcessEnv; asName?: true })(value);
          // A bare word given as a lease name or holder is a name, not a secret: it is meant to be shown.
          fc.pre(!(asName && shape === BARE));
          const end = argv.indexOf('--');
          const withJson = json ? (end < 0 ? [...argv, '--json'] : [...argv.slice(0, end), '--json', ...argv.slice(end)]) : argv;
          const { code, text } = await run(withJson, { PATH: process.env.PATH, ...env });
          // It failed, and said so: a usage error or an unreachable store (or, with the value as a valid --holder on
          // memory:, that holder did not hold the lease), never an internal error.
          expect([EXIT.NOT_HOLDER, EXIT.USAGE, EXIT.STORE_UNAVAILABLE], text).toContain(code);
          expect(text.length).toBeGreaterThan(0);
          expectNone(text, fragments);
        },
      ),
      { numRuns: 1_000 },
    );
  }, 120_000);
});

describe('the real CLI, separate processes, a password-bearing --store', () => {
  const password = 'p@ss#w/rd?Kx7Qm2';
  const pieces = [password, 'Kx7Qm2', encodeURIComponent(password), 'rd?Kx7', 'ss#w'];
  const encoded = `postgres://app:${encodeURIComponent(password)}@127.0.0.1:1/ops`;
  const rawAt = 'postgres://app:p@ss@Kx7Qm2@127.0.0.1:1/ops';

  it.concurrent('against an unreachable port: status, run, release, watch and init exit 69, text and --json, showing the store masked', async () => {
    const commands = [
      ['status', 'lease-a'],
      ['release', 'lease-a', '--holder', 'h-1'],
      ['watch', 'lease-a'],
      ['init'],
      ['run', '--name', 'lease-a', '--ttl', '5s', '--', 'sh', '-c', `touch ${join(WORK, 'never-ran')}`],
    ];
    const runs = commands.flatMap((args) =>
      [encoded, rawAt].flatMap((url) => [
        cli([
          ...args.slice(0, args.indexOf('--') < 0 ? args.length : args.indexOf('--')),
          '--store',
          url,
          ...(args.includes('--') ? args.slice(args.indexOf('--')) : []),
        ]),
        cli([...(args.includes('--') ? args.slice(0, args.indexOf('--')) : args), '--json', ...(args.includes('--') ? args.slice(args.indexOf('--')) : [])], {
          LEASEHOLD_STORE: url,
        }),
      ]),
    );
    for (const r of await Promise.all(runs)) {
      expect(r.code, printed(r)).toBe(EXIT.STORE_UNAVAILABLE);
      expect(r.stderr).toContain('cannot use the store postgres://app:****@127.0.0.1:1/ops');
      expect(r.stderr).not.toMatch(/\.;/);
      expectNone(printed(r), [...pieces, 'ss@Kx7Qm2']);
    }
    expect(existsSync(join(WORK, 'never-ran'))).toBe(false);
  });

  it.concurrent('a value that cannot be read with certainty, a libpq string, or a URL given as a lease name: 64, never echoed', async () => {
    const runs = await Promise.all([
      cli(['status', 'lease-a', '--store', `postgres://app:${password}@127.0.0.1:1/ops`]),
      cli(['run', '--json', '--store', `postgres://app:${password}@127.0.0.1:1/ops`, '--name', 'x', '--ttl', '5s', '--', 'true']),
      cli(['watch', 'lease-a'], { LEASEHOLD_STORE: `host=127.0.0.1 port=1 user=app password='${password}'` }),
      cli(['release', 'lease-a', '--holder', 'h', '--store', password]),
      cli(['status', encoded, '--store', 'memory:']),
      cli(['run', encoded, '--store', 'memory:', '--name', 'x', '--ttl', '5s', '--', 'true']),
    ]);
    for (const r of runs) {
      expect(r.code, printed(r)).toBe(EXIT.USAGE);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expectNone(printed(r), pieces);
    }
    expect(runs[0]?.stderr).toContain('cannot be read with certainty');
    expect(runs[0]?.stderr).toContain('percent-encode @ : / ? # %');
    expect(runs[2]?.stderr).toContain('key=value connection string (not shown)');
  });

  it.concurrent('a malformed % escape is bad usage (64) with a clear message and no stack trace', async () => {
    const runs = await Promise.all([
      cli(['status', 'x', '--store', 'postgres://app:50%off-Kx7Qm2@127.0.0.1:1/ops']),
      cli(['status', 'x', '--store', 'postgres://app:%ff-Kx7Qm2@127.0.0.1:1/ops']),
      cli(['run', '--store', 'dynamodb://t%zz?region=us-east-1', '--name', 'x', '--ttl', '5s', '--', 'true']),
      cli(['init', '--json', '--store', 'firestore://proj/c%2']),
    ]);
    for (const r of runs) {
      expect(r.code, printed(r)).toBe(EXIT.USAGE);
      expect(r.stderr).toContain('malformed % escape');
      expect(r.stderr).toContain('write a literal % as %25');
      expect(r.stderr).not.toMatch(/unexpected error|URIError|\n\s+at /);
      expectNone(printed(r), ['Kx7Qm2', 'off-']);
    }
    expect(jsonLines(runs[3]?.stderr ?? '').at(-1)).toMatchObject({ outcome: 'usage', exitCode: EXIT.USAGE });
  });
});

describe('Firestore without credentials', () => {
  /** No emulator, no credentials of any kind: an empty home and gcloud config, no key file. */
  function noCredentials(extra: Record<string, string> = {}): Record<string, string | undefined> {
    const home = join(WORK, 'empty-home');
    mkdirSync(home, { recursive: true });
    return {
      FIRESTORE_EMULATOR_HOST: undefined,
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
      GOOGLE_CLOUD_PROJECT: undefined,
      HOME: home,
      CLOUDSDK_CONFIG: home,
      // No probe of the metadata server: there is none here, and no traffic may leave this machine.
      METADATA_SERVER_DETECTION: 'none',
      ...extra,
    };
  }

  it.concurrent('status, run and watch exit 69 at once, saying how to give credentials or use the emulator; the command never runs', async () => {
    const ran = join(WORK, 'firestore-ran');
    const runs = await Promise.all([
      cli(['status', 'x', '--store', 'firestore://demo-nocreds/leases'], noCredentials()),
      cli(['run', '--json', '--store', 'firestore://demo-nocreds/leases', '--name', 'x', '--ttl', '30s', '--', 'touch', ran], noCredentials()),
      cli(['watch', 'x', '--store', 'firestore://demo-nocreds/leases'], noCredentials()),
    ]);
    for (const r of runs) {
      expect(r.code, printed(r)).toBe(EXIT.STORE_UNAVAILABLE);
      expect(r.stderr).toContain('no Google credentials found');
      expect(r.stderr).toContain('GOOGLE_APPLICATION_CREDENTIALS');
      expect(r.stderr).toContain('FIRESTORE_EMULATOR_HOST');
      expect(r.stderr).not.toMatch(/\n\s+at |Browse to/);
      // Well inside the SDK's own ~9 s of retries; the bound is loose so that a loaded machine does not flake.
      expect(r.ms).toBeLessThan(20_000);
    }
    expect(jsonLines(runs[1]?.stderr ?? '').at(-1)).toMatchObject({ outcome: 'store-unavailable', exitCode: EXIT.STORE_UNAVAILABLE });
    expect(runs[1]?.stderr).toContain('the command was not run');
    expect(existsSync(ran)).toBe(false);
  });

  it.concurrent('a metadata server that never answers: the look-up is bounded, and the answer is still 69', async () => {
    const silent = await startSilentServer();
    try {
      const r = await cli(
        ['status', 'x', '--store', 'firestore://demo-nocreds/leases'],
        noCredentials({ METADATA_SERVER_DETECTION: 'ping-only', GCE_METADATA_HOST: `127.0.0.1:${silent.port}` }),
      );
      expect(r.code, printed(r)).toBe(EXIT.STORE_UNAVAILABLE);
      expect(r.stderr).toMatch(/no Google credentials found/);
      expect(r.ms).toBeLessThan(25_000);
    } finally {
      await silent.close();
    }
  });
});

describe('the real PostgreSQL, roles with passwords', () => {
  const tag = `${process.pid}`;
  const role = `secret_role_${tag}`;
  const atRole = `secret_at_${tag}`;
  const noPerm = `secret_noperm_${tag}`;
  // @ # / ? in one password: only percent-encoded can a URL carry it.
  const password = `p@ss#w/rd?${tag}Zq`;
  const atPassword = `p@ss@${tag}Zq`;
  const table = `secret_leases_${tag}`;
  const base = new URL(databaseUrl);
  const at = `${base.hostname}:${base.port}`;
  const url = (user: string, pw: string | undefined, db = 'postgres', query = `table=${table}`) =>
    `postgres://${user}${pw === undefined ? '' : `:${pw}`}@${at}/${db}${query ? `?${query}` : ''}`;
  const good = url(role, encodeURIComponent(password));
  const shown = `postgres://${role}:****@${at}/postgres?table=${table}`;
  const pieces = [password, encodeURIComponent(password), `${tag}Zq`, atPassword];
  let hbaFile: string | undefined;
  let hbaBefore: string | undefined;

  beforeAll(async () => {
    const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${literal(password)}`);
    await admin.query(`CREATE ROLE ${atRole} LOGIN PASSWORD ${literal(atPassword)}`);
    await admin.query(`CREATE ROLE ${noPerm} LOGIN`);
    await admin.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${role}, ${atRole}`);
    // Passwords are checked only where pg_hba.conf says so: the throwaway cluster trusts every local user.
    const file = (await admin.query<{ hba_file: string }>('SHOW hba_file')).rows[0]?.hba_file;
    if (file && existsSync(file)) {
      try {
        accessSync(file, constants.W_OK);
        hbaFile = file;
        hbaBefore = readFileSync(file, 'utf8');
        writeFileSync(file, `host all ${role},${atRole} all scram-sha-256\n${hbaBefore}`);
        await admin.query('SELECT pg_reload_conf()');
      } catch {
        hbaFile = undefined;
      }
    }
  });
  afterAll(async () => {
    if (hbaFile && hbaBefore !== undefined) {
      writeFileSync(hbaFile, hbaBefore);
      await admin.query('SELECT pg_reload_conf()');
    }
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    for (const r of [role, atRole, noPerm]) {
      await admin.query(`DROP OWNED BY ${r}`).catch(() => {});
      await admin.query(`DROP ROLE IF EXISTS ${r}`);
    }
  });

  it('a password with @#/? (percent-encoded): init, run, status, release and watch work, text and --json, and never print it', async ({ skip }) => {
    if (!hbaFile) skip('pg_hba.conf of this cluster cannot be edited (DATABASE_URL points elsewhere): passwords are not checked');
    const env = { LEASEHOLD_STORE: good };
    const outputs: Done[] = [];
    const init = await cli(['init'], env);
    outputs.push(init);
    expect(init.code, printed(init)).toBe(0);
    const initJson = await cli(['init', '--json'], env);
    outputs.push(initJson);
    expect(JSON.parse(initJson.stdout)).toMatchObject({ store: shown });
    const marker = join(WORK, `pg-ran-${tag}`);
    const ran = await cli(
      ['run', '--json', '--name', 'pw-lease', '--ttl', '5s', '--holder', 'h-1', '--', 'sh', '-c', `echo $LEASEHOLD_FENCING_TOKEN > ${marker}`],
      env,
    );
    outputs.push(ran);
    expect(ran.code, printed(ran)).toBe(0);
    expect(readFileSync(marker, 'utf8').trim()).toMatch(/^\d+$/);
    const held = start(['run', '--name', 'pw-lease', '--ttl', '10s', '--holder', 'h-2', '--', 'sleep', '30'], env);
    // Until h-2 leads (it claims once it has started).
    const statusDeadline = Date.now() + 15_000;
    let status: Done;
    for (;;) {
      status = await cli(['status', 'pw-lease', '--json'], env);
      if (jsonLines(status.stdout)[0]?.holder === 'h-2' || Date.now() > statusDeadline) break;
    }
    outputs.push(status);
    expect(jsonLines(status.stdout)[0]).toMatchObject({ name: 'pw-lease', state: 'held', holder: 'h-2' });
    const text = await cli(['status', 'pw-lease'], env);
    outputs.push(text);
    expect(text.stdout).toContain('pw-lease: held by h-2');
    const refused = await cli(['run', '--name', 'pw-lease', '--ttl', '5s', '--', 'true'], env);
    outputs.push(refused);
    expect(refused.code).toBe(EXIT.HELD);
    const watch = start(['watch', 'pw-lease', '--interval', '200ms', '--json'], env);
    await until(
      'watch to print the lease',
      () => watch.stdout().includes('"holder":"h-2"'),
      15_000,
      () => watch.stderr(),
    );
    process.kill(watch.pid, 'SIGINT');
    const watched = await watch.done;
    outputs.push(watched);
    expect(watched.code, printed(watched)).toBe(0);
    const wrongHolder = await cli(['release', 'pw-lease', '--holder', 'h-9'], env);
    outputs.push(wrongHolder);
    expect(wrongHolder.code).toBe(EXIT.NOT_HOLDER);
    const released = await cli(['release', 'pw-lease', '--holder', 'h-2', '--json'], env);
    outputs.push(released);
    expect(JSON.parse(released.stdout)).toEqual({ name: 'pw-lease', holder: 'h-2', released: true });
    const stopped = await held.done;
    outputs.push(stopped);
    expect(stopped.code).toBe(EXIT.LOST);
    // The same password as a ?password= parameter, percent-encoded.
    const asParam = await cli(['status', 'pw-lease', '--json'], {
      LEASEHOLD_STORE: url(role, undefined, 'postgres', `table=${table}&password=${encodeURIComponent(password)}`),
    });
    outputs.push(asParam);
    expect(asParam.code, printed(asParam)).toBe(0);
    for (const r of outputs) expectNone(printed(r), pieces);
  });

  it.skipIf(!hasTmux)("watch's live view in a terminal (tmux): its header shows the store masked (skipped only where tmux is not installed)", async () => {
    const socket = join(WORK, 'tmux.sock');
    const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
    const command = `env LEASEHOLD_STORE='${good}' NODE_NO_WARNINGS=1 ${process.execPath} ${BIN} watch pw-watch --interval 200ms; echo "watch exited: $?"`;
    tmux('new-session', '-d', '-s', 'w', '-x', '200', '-y', '20', command);
    try {
      tmux('set-option', '-t', 'w', 'remain-on-exit', 'on');
      const screen = () => tmux('capture-pane', '-p', '-t', 'w');
      await until('the view to draw', () => screen().includes('pw-watch  never claimed'), 15_000, screen);
      expect(screen()).toContain(`leasehold watch · ${shown} · every 200ms`);
      tmux('send-keys', '-t', 'w', 'q');
      await until('watch to quit on q', () => screen().includes('watch exited: '), 10_000, screen);
      expect(screen()).toContain('watch exited: 0');
      expectNone(screen(), pieces);
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // Already gone.
      }
    }
  });

  it.concurrent('a password with unencoded @ works as pg reads it (the last @ ends it), and is masked', async ({ skip }) => {
    if (!hbaFile) skip('pg_hba.conf of this cluster cannot be edited: passwords are not checked');
    const raw = url(atRole, atPassword, 'postgres', `table=secret_at_leases_${tag}`);
    const init = await cli(['init'], { LEASEHOLD_STORE: raw });
    expect(init.code, printed(init)).toBe(0);
    const r = await cli(['status', 'at-lease', '--json'], { LEASEHOLD_STORE: raw });
    expect(r.code, printed(r)).toBe(0);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ name: 'at-lease', state: 'never' });
    const down = await cli(['status', 'at-lease'], { LEASEHOLD_STORE: url(atRole, atPassword, 'postgres', `table=no_such_table_${tag}`) });
    expect(down.code).toBe(EXIT.STORE_UNAVAILABLE);
    expect(down.stderr).toContain(`cannot use the store postgres://${atRole}:****@${at}/postgres?table=no_such_table_${tag}`);
    for (const x of [init, r, down]) expectNone(printed(x), pieces);
  });

  it.concurrent('the hint says what is missing: the database, the password, the role, the table or a privilege', async ({ skip }) => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'database',
        url(role, encodeURIComponent(password), `no_such_db_${tag}`),
        /database "no_such_db_\d+" does not exist\)?; create the database \(createdb, or CREATE DATABASE\) .*leasehold init creates a table, not a database/,
      ],
      [
        'role',
        url(`no_such_role_${tag}`, 'Wr0ng-pass'),
        /role "no_such_role_\d+" does not exist.*; the role may not exist, or pg_hba.conf may not let it connect/,
      ],
      [
        'table',
        url(noPerm, undefined, 'postgres', `table=no_such_table_${tag}`),
        /no_such_table_\d+" does not exist.*; create it with: leasehold init --store '/,
      ],
      ['privilege', url(noPerm, undefined, 'postgres', `table=${table}`), /permission denied .*; grant the user SELECT, INSERT, UPDATE on secret_leases_\d+/],
    ];
    if (hbaFile) cases.push(['password', url(role, 'Wr0ng-pass-x'), /password authentication failed .*; check the user and password/]);
    // The privilege case needs the table, which another case creates as its owner.
    await admin
      .query(
        `CREATE TABLE IF NOT EXISTS ${table} (name text PRIMARY KEY, holder text, token bigint NOT NULL, acquired_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, version text NOT NULL, data text)`,
      )
      .catch(() => {});
    const results = await Promise.all(cases.map(([, u]) => cli(['status', 'x'], { LEASEHOLD_STORE: u })));
    for (const [i, [what, , hint]] of cases.entries()) {
      const r = results[i] as Done;
      expect(r.code, `${what}: ${printed(r)}`).toBe(EXIT.STORE_UNAVAILABLE);
      expect(r.stderr, what).toMatch(hint);
      if (what !== 'table') expect(r.stderr, what).not.toContain('create it with: leasehold init');
      expectNone(printed(r), [...pieces, 'Wr0ng-pass']);
    }
    if (!hbaFile) skip('the wrong-password case needs pg_hba.conf to check passwords');
  });
});
