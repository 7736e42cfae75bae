/**
 * A vitest reporter that ends every run with what it skipped and why: each distinct reason (a test's
 * `ctx.skip(reason)` note), with how many tests and in which files, and a count of tests not run without one. Without it,
 * `npm test` says only "N skipped" unless run verbose.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SkipSummary implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const reasons = new Map<string, { count: number; files: Set<string> }>();
    let unexplained = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) {
        const result = test.result();
        if (result.state !== 'skipped' || test.options.mode === 'todo') continue;
        // Without a note: a static it.skip, or a test left out by -t / .only (vitest marks both the same way).
        if (result.note === undefined) {
          unexplained++;
          continue;
        }
        const entry = reasons.get(result.note) ?? { count: 0, files: new Set<string>() };
        entry.count++;
        entry.files.add(module.relativeModuleId);
        reasons.set(result.note, entry);
      }
    }
    if (reasons.size === 0 && unexplained === 0) return;
    const total = [...reasons.values()].reduce((n, e) => n + e.count, 0);
    const lines = [`\nSkipped ${total} test${total === 1 ? '' : 's'} for a reason they give:`];
    for (const [reason, { count, files }] of [...reasons].sort((a, b) => b[1].count - a[1].count)) {
      lines.push(`  ${String(count).padStart(4)} × ${reason}  (${[...files].sort().join(', ')})`);
    }
    if (unexplained > 0) lines.push(`  ${String(unexplained).padStart(4)} × not run without a reason (it.skip, or left out by -t / .only)`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
