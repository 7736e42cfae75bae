/**
 * `leasehold run --help`: what `run` does, its options, exit codes and examples (the README's copy is kept in step by
 * scripts/readme-cli-help.mjs).
 * @module
 */

/** `leasehold run --help`. */
export const RUN_HELP = `Usage: leasehold run --store <url> --name <name> --ttl <duration> [options] -- <command> [args…]

Runs <command> only on the host that holds the lease <name>, renewing the lease while it runs and
releasing it when the command has exited: the same crontab line on several hosts runs the job once.
The command is spawned directly (no shell), in its own process group, by a small watchdog process that
holds the lease's deadline; SIGINT, SIGTERM and SIGHUP are passed on to that group. leasehold exits
with the command's exit code (128 + n if signal n ended it), or with one of its own codes below.
Nothing is printed on success; messages go to stderr.

Options:
  --store <url>              The store (default: $LEASEHOLD_STORE): postgres://user@host/db[?table=t],
                             redis://[user:password@]host[:6379][/db], dynamodb://<table>?region=<r>[&endpoint=<url>],
                             firestore://<project>/<collection>,
                             memory: (this process only: for trying it out)
  --name <name>              Lease name: 1-128 of A-Z a-z 0-9 _ . : @ - (at most 123 with --slot)
  --ttl <duration>           Lease length, e.g. 30s, 2m: how long a crashed host blocks the job. Renewed
                             every ttl/3 while the command runs; choose it well above a renewal round trip
  --slot <key>               Run at most once per slot, e.g. the scheduled time: "$(date -u +%Y-%m-%dT%H:%M)".
                             A later slot counts as done for earlier ones; a failed run does not complete it
  --schedule <cron>          Or let leasehold name the slot from the job's schedule (5 fields, the crontab's
                             own line, e.g. '0 2 * * *'): the latest scheduled instant at or before now +
                             --early, now by the store's clock where it has one (Postgres, Firestore), else
                             this host's; so hosts firing seconds apart agree. Not with --slot
  --timezone <zone>          The time zone --schedule is read in (default UTC), e.g. Europe/Paris: as the
                             crontab's (CRON_TZ, or the host's zone)
  --every <duration>         Or a fixed period, e.g. 5m: slots at whole multiples of it since the epoch
  --early <duration>         A host firing up to this long before a slot (a clock running fast) runs that slot
                             (default 5s; under half the gap between slots)
  --wait <duration>          Keep trying until leader or the duration passes (polling well inside the
                             lease); default: do not wait
  --holder <id>              This run's holder id (default: <hostname>:<pid>)
  --kill-grace <duration>    After SIGTERM, SIGKILL the group this long later (default: 10s, or less to fit
                             the lease). Shorter than the validity left when a renewal falls due
  --max-clock-skew <d>       Clock-skew margin (default 1s): subtracted from validity; DynamoDB waits it out
  --leave-children           When the command exits, leave what it started in its process group running
                             (default: SIGTERM it, then SIGKILL after --kill-grace, before the release)
  --conflict-exit-code <n>   Exit code when another host holds the lease (default 75)
  --done-exit-code <n>       Exit code when the slot is already done (default 79)
  --quiet                    Print nothing when the command is not run because the lease is held or the
                             slot is done (the exit code still says so): cron then mails nothing
  --json                     Print leasehold's own messages as JSON lines on stderr (stdout is the command's)
  -h, --help                 Show this help

Losing leadership: when validity is about to run out with no renewal (the store unreachable, or
leasehold itself stopped, paused or starved: the watchdog holds the deadline, and a SIGSTOP or Ctrl-Z
sent to leasehold does not reach it), the command's group gets SIGTERM --kill-grace before the end of
validity and SIGKILL just before it. When a renewal, or a read of the lease between renewals (every
ttl/12, at most 1s apart), finds it taken or released, SIGTERM comes at once and SIGKILL after
--kill-grace, no later than the end of validity. So the command never runs past its lease, even if it
ignores SIGTERM, and if leasehold is killed the watchdog stops it. When the command exits, what it left
in its process group is ended before the lease is released (--leave-children keeps it; a process that
leaves the group, e.g. with setsid, is not followed). Releasing a running lease with leasehold release
lets another host start at once: both commands run until this run notices (ttl/12, at most 1s) and its
command exits. The command sees LEASEHOLD_FENCING_TOKEN (pass it to what it writes), LEASEHOLD_NAME,
LEASEHOLD_SLOT and LEASEHOLD_HOLDER.

Exit codes:
  <n>   the command's own exit code (128 + signal number when a signal ended it)
  64    bad usage: unknown flag, bad duration, unknown store scheme, missing SDK (nothing ran)
  69    the store could not be reached or failed: fail closed, the command did not run
  75    another holder has the lease (--conflict-exit-code); stderr says who and until when
  79    --slot/--schedule: this slot (or a later one) is already done (--done-exit-code)
  80    leadership was lost (taken, released, or not renewed in time) while the command ran; it was stopped
  126   the command could not be executed; 127: the command was not found

Examples:
  # crontab, the same on every host (LEASEHOLD_STORE=… at its top): the report runs once per trigger
  */5 * * * * leasehold run --quiet --name report --ttl 2m --slot "$(date -u +\\%Y-\\%m-\\%dT\\%H:\\%M)" -- /opt/report/run.sh
  # the same, the slot named from the schedule (no date arithmetic in the crontab)
  0 2 * * * leasehold run --quiet --name nightly --ttl 10m --schedule '0 2 * * *' -- /opt/nightly.sh
  leasehold run --store postgres://localhost/ops --name deploy --ttl 30s --wait 5m -- ./deploy.sh --prod
  leasehold run --store 'dynamodb://leases?region=eu-west-1' --name backup --ttl 10m -- pg_dump -f /backups/db.sql ops
  leasehold run --store memory: --name try --ttl 5s -- sh -c 'echo "token $LEASEHOLD_FENCING_TOKEN"'
`;
