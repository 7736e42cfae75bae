/**
 * `leasehold release --help`: what `release` does (and when not to use it), its options, exit codes and examples (the README's copy is kept in step by scripts/readme-cli-help.mjs).
 * @module
 */
import { STORE_FLAG_HELP } from '../../store-flag.js';

/** `leasehold release --help`. */
export const RELEASE_HELP = `Usage: leasehold release <name> --holder <id> --store <url> [--json]

Releases the lease <name> if <id> holds it (an operator's cleanup after a run was stopped by hand):
the next run can claim it at once, with a new fencing token. The release is conditional on the holder,
so it never takes a lease from anyone else.

Releasing the lease of a leasehold run whose command is still running lets another host start its
command at once, while that one still runs: the running leasehold notices within ttl/12 (at most 1s),
stops its command (SIGTERM, then SIGKILL after its --kill-grace) and exits 80, but the two commands
overlap until then. To stop a job, send SIGTERM to its leasehold (or the command) instead; release only
the lease of a holder that is gone.

Options:
${STORE_FLAG_HELP}
  --holder <id>          The holder to release (leasehold status shows it)
  --json                 Print { name, holder, released } as JSON
  -h, --help             Show this help

Exit codes: 0 released, 1 that holder did not hold it (nothing changed), 64 bad usage, 69 store unreachable.

Examples:
  leasehold release nightly-report --holder web-2:4711 --store postgres://localhost/ops
`;
