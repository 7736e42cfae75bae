/**
 * `leasehold status --help`: what `status` shows, its options, exit codes and examples (the README's copy is kept in step by scripts/readme-cli-help.mjs).
 * @module
 */
import { STORE_FLAG_HELP } from '../../store-flag.js';

/** `leasehold status --help`. */
export const STATUS_HELP = `Usage: leasehold status <name…> --store <url> [--schedule <cron> | --every <d>] [--json]

Shows who holds each lease: holder, fencing token, when it was acquired, when it expires and the time
left (by the store's clock where it has one), and the job's last completed slot. With a schedule, also
the job's last run, when the next slot is due, how many slots were missed and whether it is overdue.
One round trip per lease (its lease and its completed slot, read together); writes nothing.

Options:
${STORE_FLAG_HELP}
  --name <name>          A lease name (as the positional names; may be repeated)
  --schedule <cron>      The job's schedule, as run --schedule has it: 5 fields, e.g. '0 2 * * *'
  --timezone <zone>      The time zone the cron expression is read in (default UTC), e.g. Europe/Paris
  --every <duration>     Or a fixed period, e.g. 5m (slots at whole multiples of it since the epoch)
  --overdue-after <d>    A due slot not completed this long after it fell due is overdue (default 1m)
  --max-clock-skew <d>   Skew margin for DynamoDB (default 1s): a lease counts as held until expiry + margin
  --json                 One JSON object per lease, one per line: { name, state (held|free|never), holder,
                         lastHolder, token, acquiredAt, expiresAt, timeLeftMs, lastCompletedSlot, clock },
                         and with a schedule job: { schedule, lastSlot, lastCompletedAt, running, nextDue,
                         latestDue, missed, overdue, overdueAfterMs } (times in epoch ms)
  -h, --help             Show this help

Exit codes: 0 read (whatever the state, overdue included), 64 bad usage, 69 store unreachable.

Examples:
  leasehold status nightly-report --store postgres://localhost/ops
  leasehold status --name nightly --schedule '0 2 * * *' --timezone Europe/Paris --json
  LEASEHOLD_STORE='dynamodb://leases?region=eu-west-1' leasehold status backup deploy --json
`;
