/**
 * A vitest reporter that ends every run with what it skipped and why: each distinct reason (a test's
 * `ctx.skip(reason)` note, or its name for a static skip), with how many tests and in which files. Without it,
 * `npm test` says only "N skipped" unless run verbose.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SkipSummary implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const reasons = new Map<string, { count: number; files: Set<string> }>();
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) {
        const result = test.result();
        if (result.state !== 'skipped' || test.options.mode === 'todo') continue;
        const reason = result.note ?? (test.options.mode === 'skip' ? `skipped by the test itself: ${test.name}` : 'not selected (only / -t)');
        if (reason === 'not selected (only / -t)') continue;
        const entry = reasons.get(reason) ?? { count: 0, files: new Set<string>() };
        entry.count++;
        entry.files.add(module.relativeModuleId);
        reasons.set(reason, entry);
      }
    }
    if (reasons.size === 0) return;
    const total = [...reasons.values()].reduce((n, e) => n + e.count, 0);
    const lines = [`\nSkipped ${total} test${total === 1 ? '' : 's'}, by reason:`];
    for (const [reason, { count, files }] of [...reasons].sort((a, b) => b[1].count - a[1].count)) {
      lines.push(`  ${String(count).padStart(4)} × ${reason}  (${[...files].sort().join(', ')})`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
