/**
 * `leasehold watch --help`: what `watch` shows, its options, exit codes and examples (the README's copy is kept in
 * step by scripts/readme-cli-help.mjs).
 * @module
 */

/** `leasehold watch --help`. */
export const WATCH_HELP = `Usage: leasehold watch <name…> --store <url> [--interval <duration>] [--json]

A live view of each lease: holder, fencing token and a bar of the time left, redrawn in place, with a
line for every change of holder as it happens (claimed, taken over, released, expired). Press q or
Ctrl-C to quit. When stdout is not a terminal, prints one line per change instead (one JSON object per
change with --json).

Options:
  --store <url>          The store (default: $LEASEHOLD_STORE): postgres://…, redis://…,
                         dynamodb://<table>?region=…, firestore://<project>/<collection>
  --interval <duration>  How often to read each lease (default 1s; one read per lease and interval). On
                         Postgres a release or a handover is also shown at once (LISTEN/NOTIFY)
  --max-clock-skew <d>   Skew margin for DynamoDB (default 1s)
  --json                 One JSON object per change: the status fields plus { event, at }
  -h, --help             Show this help

Exit codes: 0 on q/Ctrl-C/SIGTERM, 64 bad usage, 69 store unreachable at the start.

Examples:
  leasehold watch nightly-report backup --store postgres://localhost/ops
  leasehold watch deploy --store 'dynamodb://leases?region=eu-west-1' --json | tee leases.log
`;
