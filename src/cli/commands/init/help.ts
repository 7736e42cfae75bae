/**
 * `leasehold init --help`: what `init` creates, its options, exit codes and examples (the README's copy is kept in step by scripts/readme-cli-help.mjs).
 * @module
 */
import { STORE_FLAG_HELP } from '../../store-flag.js';

/** `leasehold init --help`. */
export const INIT_HELP = `Usage: leasehold init --store <url>

Creates what the store needs, if missing: the Postgres table (as sql/postgres.sql), or the DynamoDB
table (on demand, partition key pk; for development: create production tables with your infrastructure
tool). Firestore and memory: need nothing. Safe to run again.

Options:
${STORE_FLAG_HELP}
  --json                 Print { store, message } as JSON
  -h, --help             Show this help

Exit codes: 0 ready, 64 bad usage, 69 store unreachable (or no right to create the table).

Examples:
  leasehold init --store postgres://localhost/ops
  leasehold init --store 'dynamodb://leases?region=us-east-1&endpoint=http://127.0.0.1:8000'
`;
