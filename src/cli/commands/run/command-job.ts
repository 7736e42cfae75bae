/**
 * The job `leasehold run` hands to `runExclusive`: the command, started by its watchdog (./watchdog-link.ts) and seen
 * through to its end, which becomes a result or a {@link JobEnded} with the exit code `run` exits with.
 * @module
 */

import { isLeaseholdError } from '../../../errors.js';
import type { JobContext } from '../../../jobs.js';
import { getLeader } from '../../../lead.js';
import type { Store } from '../../../store.js';
import { formatDuration } from '../../args.js';
import { EXIT } from '../../exit-codes.js';
import type { Output } from '../../output.js';
import type { RunOptions } from './args.js';
import { type SignalRelay, signalExit } from './signal-relay.js';
import { type CommandEnd, type Deadline, killAheadMs, sharedMonotonicMs, Watchdog } from './watchdog-link.js';

/** How the command ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The job ended without completing: the command failed, could not start, was interrupted, or leadership was lost. */
export class JobEnded extends Error {
  constructor(
    readonly exitCode: number,
    readonly kind: 'failed' | 'spawn' | 'lost' | 'interrupted' | 'watchdog',
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The validity end of the term `lead` on the clocks its watchdog reads (see {@link Deadline}). */
function deadlineOf(lead: JobContext['lead'], offset: number): Deadline {
  return { monotonic: lead.validUntil + offset, wall: lead.validUntilWall };
}

/**
 * The job: the command, started by its watchdog and seen through. leasehold renews (through `runExclusive`) and hands
 * each renewal's validity end to the watchdog; the watchdog stops the command by that end if no renewal follows,
 * whatever happens to leasehold. leasehold asks it to stop the command at once when leadership is lost (a renewal
 * found another holder) or when a read of the lease between renewals finds it released or taken.
 */
export function commandJob(options: RunOptions, relay: SignalRelay, out: Output, store: Store) {
  return ({ signal, token, lead }: JobContext): Promise<ChildExit> =>
    new Promise<ChildExit>((resolve, reject) => {
      if (relay.received) {
        reject(new JobEnded(signalExit(relay.received), 'interrupted', `received ${relay.received} before the command started; it was not run`));
        return;
      }
      const [file, ...args] = options.command as [string, ...string[]];
      // runExclusive's monotonic clock is performance.now(), which counts from this process's start.
      const offset = sharedMonotonicMs() - globalThis.performance.now();
      const watchdog = new Watchdog({
        file,
        args,
        env: {
          ...process.env,
          LEASEHOLD_FENCING_TOKEN: String(token),
          LEASEHOLD_NAME: options.name,
          LEASEHOLD_SLOT: options.slot ?? '',
          LEASEHOLD_HOLDER: options.holder,
        },
        name: options.name,
        killGraceMs: options.killGraceMs,
        leaveChildren: options.leaveChildren,
        json: out.json,
        until: deadlineOf(lead, offset),
      });
      relay.attach((sig) => watchdog.signal(sig));
      let stopping: string | undefined;
      let settled = false;
      const validityLeft = () => Math.min(lead.validUntil - globalThis.performance.now(), lead.validUntilWall - Date.now());
      const stop = (why: string) => {
        if (stopping || settled) return;
        stopping = why;
        const killIn = Math.max(0, Math.min(options.killGraceMs, validityLeft() - killAheadMs(options.killGraceMs)));
        out.event('stopping', `${why}: sending SIGTERM to the command (process group ${watchdog.group}), SIGKILL in ${formatDuration(killIn)}`, {
          reason: why,
          by: 'leasehold',
          processGroup: watchdog.group,
          killGraceMs: options.killGraceMs,
          validUntil: lead.validUntilWall,
          leaseCheckMs: options.leaseCheckMs,
        });
        watchdog.stop(why);
      };
      // runExclusive renews on its own timers: each new validity goes to the watchdog within 20 ms (it stops the
      // command --kill-grace before the old one ends, and a renewal comes well before that).
      const sync = setInterval(() => watchdog.deadline(deadlineOf(lead, offset)), 20);
      // Between renewals, read the lease: an operator's release (or a takeover) is noticed within leaseCheckMs, not
      // at the next renewal, while another host may already run the job.
      let checkTimer: ReturnType<typeof setTimeout> | undefined;
      const check = async () => {
        if (settled || stopping) return;
        try {
          const now = await getLeader(store, options.name, { maxClockSkewMs: options.maxClockSkewMs });
          if (settled || stopping) return;
          if (now === null && validityLeft() > 0) {
            stop(`lost leadership of ${options.name} (released): the lease was released by another process (leasehold release?)`);
          } else if (now !== null && now.holder !== options.holder) {
            stop(`lost leadership of ${options.name} (taken-over): ${now.holder} holds it now (token ${now.token})`);
          } else if (now !== null && now.token !== token) {
            stop(`lost leadership of ${options.name} (released): it was released and claimed again (token ${now.token})`);
          }
        } catch {
          // A read that fails says nothing: renewals judge the store, and the watchdog holds the deadline.
        }
        if (!settled && !stopping) checkTimer = setTimeout(check, options.leaseCheckMs);
      };
      checkTimer = setTimeout(check, options.leaseCheckMs);
      const onLost = () => {
        let reason: string = (isLeaseholdError(signal.reason) ? signal.reason.reason : undefined) ?? 'lost';
        // A renewal that found a new term while validity was left on the clocks: the lease was released meanwhile.
        if (reason === 'expired' && validityLeft() > 0) reason = 'released';
        // Past the validity end the watchdog sends SIGKILL at once.
        stop(`lost leadership of ${options.name} (${reason})`);
      };
      const finish = (end: CommandEnd | JobEnded) => {
        if (settled) return;
        settled = true;
        relay.attach(undefined);
        clearInterval(sync);
        clearTimeout(checkTimer);
        signal.removeEventListener('abort', onLost);
        watchdog.close();
        if (end instanceof JobEnded) {
          reject(end);
          return;
        }
        if (end.spawnError !== undefined) {
          const notFound = end.spawnError === 'ENOENT';
          reject(
            new JobEnded(
              notFound ? EXIT.NOT_FOUND : EXIT.NOT_EXECUTABLE,
              'spawn',
              `${notFound ? 'command not found' : 'cannot execute'}: ${file} (${end.spawnError})`,
            ),
          );
          return;
        }
        if (end.interrupted !== undefined) {
          reject(new JobEnded(signalExit(end.interrupted), 'interrupted', `received ${end.interrupted} before the command started; it was not run`));
          return;
        }
        if (end.notStarted !== undefined) {
          reject(new JobEnded(EXIT.LOST, 'lost', `${end.notStarted}; the command was not started`, { sent: [] }));
          return;
        }
        const group = end.processGroup;
        if (end.leftBehind) {
          const { sent, survived } = end.leftBehind;
          out.event(
            'left-behind',
            `the command left processes running in its process group ${group}: ended them (${sent.join(', then ')}) before releasing the lease${survived ? ', but some outlived SIGKILL' : ''} (--leave-children keeps them)`,
            { processGroup: group, sent, survived },
          );
        }
        const detail = { commandExitCode: end.code, commandSignal: end.signal, processGroup: group };
        const stopped = end.stopped ?? (stopping === undefined ? undefined : { reason: stopping, sent: [] });
        if (stopped) {
          const how = stopped.sent.length > 0 ? `the command was stopped (${stopped.sent.join(', then ')})` : 'the command had ended';
          reject(new JobEnded(EXIT.LOST, 'lost', `${stopped.reason}; ${how}`, { ...detail, sent: stopped.sent }));
        } else if (end.signal) {
          reject(new JobEnded(signalExit(end.signal), 'failed', `the command was ended by ${end.signal}`, detail));
        } else if (end.code !== 0) {
          reject(new JobEnded(end.code ?? EXIT.SOFTWARE, 'failed', `the command exited with code ${end.code}`, detail));
        } else {
          resolve({ code: end.code, signal: end.signal });
        }
      };
      watchdog.ended.then(finish, (error: Error) =>
        finish(
          new JobEnded(EXIT.SOFTWARE, 'watchdog', `the command's watchdog failed: ${error.message}; the command's process group was killed`, {
            processGroup: watchdog.group,
          }),
        ),
      );
      if (signal.aborted) onLost();
      else signal.addEventListener('abort', onLost, { once: true });
    });
}
