/**
 * The `leasehold` CLI as cron runs it, for the CLI's test files: bundled once from src/cli with esbuild (SDKs left
 * external, so each is still imported lazily from node_modules), which starts in a fraction of tsx's time, and
 * started as separate processes, each in its own process group.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Running {
  child: ChildProcess;
  pid: number;
  done: Promise<Done>;
  stderr(): string;
  stdout(): string;
}

/** Bundles the CLI into `work/bin` (a fresh `work`); returns the path of its entry point. */
export async function buildCli(work: string): Promise<string> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  await build({
    // The watchdog of `run` is an entry of its own, beside bin.js (src/cli/commands/run/watchdog-link.ts starts it from there).
    entryPoints: [join(ROOT, 'src/cli/bin.ts'), join(ROOT, 'src/cli/watchdog.ts')],
    outdir: join(work, 'bin'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  // The bundle reads the package's version two folders up, as dist/cli/ does.
  writeFileSync(join(work, 'package.json'), JSON.stringify({ version: 'test', type: 'module' }));
  return join(work, 'bin', 'bin.js');
}

/**
 * Starts `leasehold …` from `bin` in its own process group (as cron would: its own session). `env` is laid over this
 * process's environment; a key set to `undefined` is removed from it.
 */
export function startCli(bin: string, args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Running {
  const begin = Date.now();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  const child = spawn(process.execPath, [bin, ...args], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<Done>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - begin })));
  return { child, pid: child.pid as number, done, stderr: () => stderr, stdout: () => stdout };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds, or fails after `timeoutMs` saying what it waited for. */
export async function until(what: string, check: () => boolean, timeoutMs = 10_000, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail() ? `:\n${detail()}` : ''}`);
    await sleep(25);
  }
}

/** Whether any process of group `pgid` is alive (zombies not yet reaped by init do not count). */
export function groupAlive(pgid: number): boolean {
  return execFileSync('ps', ['-eo', 'pgid=,stat='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .some(([group, stat]) => Number(group) === pgid && !stat?.startsWith('Z'));
}

/** The JSON objects among a command's output lines. */
export const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Whether tmux is installed: the `watch` cases in a real terminal run only where it is (and say so when skipped). */
export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();
