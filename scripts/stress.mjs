// `npm run test:stress`: the timing-sensitive suites (the fault simulations and the CLI) run N times in a row (default 5)
// while two busy-loop processes hog the cores, as a busy CI machine would. Every run must pass: a bound that only
// holds on an idle machine is a flaky test. Prints each run's result and ends with a summary.
//   STRESS_RUNS=<n>   runs (default 5)
//   STRESS_HOGS=<n>   busy-loop processes (default 2)
//   STRESS_FILES="test/a.test.ts test/b.test.ts"   the suites (default: below)
import { spawn, spawnSync } from 'node:child_process';

const runs = Number(process.env.STRESS_RUNS ?? 5);
const hogCount = Number(process.env.STRESS_HOGS ?? 2);
const files = (
  process.env.STRESS_FILES ??
  'test/system/faults.test.ts test/system/job-faults.test.ts test/cli/cli.test.ts test/cli/cli-supervision.test.ts test/cli/cli-secrets.test.ts test/cli/cli-schedule.test.ts'
).split(/\s+/);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(hogCount) || hogCount < 0) {
  process.stderr.write('STRESS_RUNS must be a positive integer and STRESS_HOGS a non-negative one\n');
  process.exit(64);
}

const hogs = Array.from({ length: hogCount }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopHogs = () => {
  for (const h of hogs) h.kill('SIGKILL');
};
process.on('exit', stopHogs);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

process.stdout.write(
  `[stress] ${hogs.length} busy-loop processes (pids ${hogs.map((h) => h.pid).join(', ')}) hog the cores; ${runs} runs of ${files.join(' ')}\n`,
);
const results = [];
for (let i = 1; i <= runs; i++) {
  const started = Date.now();
  process.stdout.write(`[stress] run ${i}/${runs}…\n`);
  const r = spawnSync('npx', ['vitest', 'run', ...files], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  const seconds = Math.round((Date.now() - started) / 1000);
  results.push({ run: i, ok: r.status === 0, seconds });
  process.stdout.write(`[stress] run ${i}/${runs}: ${r.status === 0 ? 'passed' : `FAILED (exit ${r.status})`} in ${seconds} s\n`);
}
stopHogs();
const passed = results.filter((r) => r.ok).length;
process.stdout.write(
  `\n[stress] summary: ${passed} of ${runs} runs passed with ${hogs.length} hogs (${results.map((r) => `${r.ok ? 'ok' : 'FAIL'} ${r.seconds} s`).join(', ')})\n`,
);
process.exit(passed === runs ? 0 : 1);
