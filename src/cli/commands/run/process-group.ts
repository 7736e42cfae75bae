/**
 * A command's process group, as `leasehold run` and its watchdog see it: signal it, and tell whether anything in it
 * still runs. On Linux the answer comes from /proc, where a process that has exited but was not yet reaped (a zombie:
 * where PID 1 does not reap, it stays one) does not count; elsewhere a group counts as running while it can be
 * signalled.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Sends `signal` to every process of group `pgid`; returns whether the group was there to receive it. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone.
    return false;
  }
}

/** Whether any process of group `pgid` may still run (zombies excluded where the system shows them: Linux). */
export function groupRunning(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    // EPERM: a member exists (it changed its user); ESRCH: none.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}
