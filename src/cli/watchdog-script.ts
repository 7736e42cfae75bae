/**
 * Where the watchdog of `leasehold run` is started from. Its executable (./watchdog.ts) is an entry of its own beside
 * bin.ts at the CLI's root, and so is this module, in every layout: `dist/cli/`, a bundle's folder (entries and shared
 * chunks sit side by side there), `src/cli/` under tsx. The command that starts it lives deeper
 * (./commands/run/watchdog-link.ts), so the script is found from here.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** How `node` runs the watchdog: its script beside this module, or from sources under tsx its `.ts` (with this process's loader flags). */
export function watchdogArgs(): string[] {
  const js = fileURLToPath(new URL('./watchdog.js', import.meta.url));
  if (existsSync(js)) return [js];
  return [...process.execArgv, fileURLToPath(new URL('./watchdog.ts', import.meta.url))];
}
