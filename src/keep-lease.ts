/**
 * The renewals of a job's term while the job runs (`runExclusive`): one `tryLead` every `renewEveryMs` on the
 * clock's timers, each answer applied to the term (`LeadershipTerm.apply`).
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';
import { tryLead } from './lead.js';
import type { Store } from './store.js';
import type { LeadershipTerm } from './term.js';

/** Renews the term's lease every `renewEveryMs` until stopped; ends the term when leadership is lost. */
export function keepLease(
  store: Store,
  leadOptions: Parameters<typeof tryLead>[1],
  term: LeadershipTerm,
  clock: Clock,
  renewEveryMs: number,
): { stop(): Promise<void> } {
  let timer: TimerHandle | undefined;
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  const schedule = (ms: number) => {
    if (stopped || term.ended) return;
    timer = clock.setTimeout(() => {
      inFlight = renew().finally(() => {
        inFlight = undefined;
      });
    }, ms);
  };
  const renew = async () => {
    timer = undefined;
    if (stopped || term.ended) return;
    try {
      const result = await tryLead(store, leadOptions);
      if (stopped || term.ended) return;
      if (term.apply(result) === 'renewed') {
        schedule(renewEveryMs);
      } else if (result.isLeader) {
        // A lease the job's term cannot use (a new term: the old one lapsed in the store; or an answer past its
        // validity): the job's term is over; give this one back.
        term.end('expired');
        await result.release().catch(() => false);
      }
    } catch {
      // Keep the validity already earned and retry sooner; the term ends by itself when it runs out.
      schedule(renewEveryMs / 2);
    }
  };
  schedule(renewEveryMs);
  return {
    /** Stops renewing; settles once a renewal already in flight has settled (within its call bound). */
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
