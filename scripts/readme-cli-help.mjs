// Rewrites the README's `leasehold … --help` blocks from the built CLI (run `npm run build` first):
// node scripts/readme-cli-help.mjs. test/cli/cli.test.ts checks that each block matches the CLI's help verbatim.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let readme = readFileSync('README.md', 'utf8');
for (const command of ['', 'run', 'status', 'release', 'watch', 'init']) {
  const title = `leasehold ${command ? `${command} ` : ''}--help`;
  const help = execFileSync(process.execPath, ['dist/cli/bin.js', ...(command ? [command] : []), '--help'], { encoding: 'utf8' }).trimEnd();
  const block = new RegExp(`(<summary><code>${title.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}</code></summary>\\n\\n\`\`\`text\\n)[\\s\\S]*?(\\n\`\`\`)`);
  if (!block.test(readme)) throw new Error(`README has no block for ${title}`);
  readme = readme.replace(block, (_, head, tail) => `${head}${help}${tail}`);
}
writeFileSync('README.md', readme);
