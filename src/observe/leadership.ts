/**
 * Leadership as one decorated store sees it, per lease name: which holder won which term through it, until when
 * that is valid, and when it began or ended. What the `leasehold.leadership` gauge and the transition counter
 * (and the logger's "gained"/"lost" lines) report. Not a public entry point.
 * @module
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { LeaseRecord } from '../store.js';

/** Why leadership through a store ended for a name. */
export type LeadershipLostReason =
  /** Its holder released it (`release()`, `LeadResult.release()`, an Elector stopping). */
  | 'released'
  /** Its validity ran out with no renewal won through this store (renewals failed, or none was tried). */
  | 'expired'
  /** An answer showed a newer term: another holder took the lease over, or the same holder began a new term. */
  | 'superseded';

/** Leadership through one store began (`gained`) or ended (`lost`) for a name. */
export interface LeadershipTransition {
  /** Whether leadership began or ended. */
  readonly direction: 'gained' | 'lost';
  /** The store's `kind`. */
  readonly storeKind: string;
  /** Election name. */
  readonly name: string;
  /** The holder whose term began or ended. */
  readonly holder: string;
  /** The term's fencing token. */
  readonly token: number;
  /** Why it ended (`lost` only). */
  readonly reason?: LeadershipLostReason;
}

interface Term {
  holder: string;
  token: number;
  /** The version this store last saw the holder write (what a generic release compares). */
  version: string;
  untilMono: number;
  untilWall: number;
  timer: TimerHandle | undefined;
}

/** Names kept for the gauge (each reports 0 once its term ends); past this, the oldest idle name is forgotten. */
const NAMES_LIMIT = 1_024;

/**
 * Terms won through one store. A term is one holder's lease with one token: renewals extend it; it ends on a
 * release, on an answer showing a newer term, or when its validity runs out (`ttlMs - maxClockSkewMs` from the
 * claim's send, on both the monotonic and the wall clock, as `tryLead()` measures it). A failed claim does not end a
 * term: the caller's earlier result stays valid until then, in the core too.
 */
export class LeadershipTracker {
  private readonly terms = new Map<string, Term>();
  /** Every name a claim was seen for (leading or not), most recent last: the gauge reports each. */
  private readonly names = new Set<string>();

  constructor(
    readonly storeKind: string,
    private readonly clock: Clock,
    private readonly tell: (transition: LeadershipTransition) => void,
  ) {}

  /** Whether a term won through this store for `name` is valid now (re-checked on both clocks). */
  leading(name: string): boolean {
    const term = this.terms.get(name);
    return term !== undefined && this.remaining(term) > 0;
  }

  /** Names seen, with whether each is led through this store now: what the gauge observes. */
  snapshot(): { name: string; leading: boolean }[] {
    return [...this.names].map((name) => ({ name, leading: this.leading(name) }));
  }

  /** A claim by `holder` won `record`, sent at (`sendMono`, `sendWall`) with a validity window of `windowMs`. */
  won(name: string, holder: string, record: LeaseRecord, sendMono: number, sendWall: number, windowMs: number): void {
    this.see(name);
    const term = this.terms.get(name);
    const untilMono = sendMono + windowMs;
    const untilWall = sendWall + windowMs;
    if (term && term.holder === holder && term.token === record.token && this.remaining(term) > 0) {
      // A renewal of the same term: validity moves on (never back: answers may arrive out of order).
      term.version = record.version;
      term.untilMono = Math.max(term.untilMono, untilMono);
      term.untilWall = Math.max(term.untilWall, untilWall);
      // The pending wake-up (at most a second away) re-checks the extended validity: no new timer per renewal.
      if (term.timer === undefined) this.schedule(name, term);
      return;
    }
    if (term) {
      // An older answer (a lower token) never replaces a newer term.
      if (record.token < term.token) return;
      this.end(name, term, this.remaining(term) > 0 ? 'superseded' : 'expired');
    }
    const next: Term = { holder, token: record.token, version: record.version, untilMono, untilWall, timer: undefined };
    if (this.remaining(next) <= 0) return; // won, but its validity was gone by the time the answer came
    this.terms.set(name, next);
    this.tell({ direction: 'gained', storeKind: this.storeKind, name, holder, token: record.token });
    this.schedule(name, next);
  }

  /**
   * An answer showed `record` for `name` (a read, a lost claim, a release's answer). It ends the term it
   * contradicts: a larger token, or the same token with another holder or none (released). An older answer (a
   * smaller token) is ignored: it may have been read before the term began.
   */
  observed(name: string, record: LeaseRecord | null): void {
    const term = this.terms.get(name);
    if (!term || record === null) return;
    if (record.token > term.token || (record.token === term.token && record.holder !== term.holder)) {
      this.end(name, term, record.holder === null && record.token === term.token ? 'released' : 'superseded');
    }
  }

  /**
   * A release of `name` starts: by `holder` (fused), or of the state with `version` (generic). It ends the matching
   * term at once, whatever the store answers, as the core ends that holder's results at once.
   */
  releasing(name: string, by: { holder: string } | { version: string }): void {
    const term = this.terms.get(name);
    if (!term) return;
    if ('holder' in by ? term.holder === by.holder : term.version === by.version) this.end(name, term, 'released');
  }

  private remaining(term: Term): number {
    const left = Math.min(term.untilMono - this.clock.monotonic(), term.untilWall - this.clock.now());
    return Number.isFinite(left) && left > 0 ? left : 0;
  }

  private end(name: string, term: Term, reason: LeadershipLostReason): void {
    if (term.timer !== undefined) this.clock.clearTimeout(term.timer);
    term.timer = undefined;
    if (this.terms.get(name) === term) this.terms.delete(name);
    this.tell({ direction: 'lost', storeKind: this.storeKind, name, holder: term.holder, token: term.token, reason });
  }

  /** Ends the term when its validity runs out, re-checking both clocks at each wake-up (at least every second). */
  private schedule(name: string, term: Term): void {
    if (term.timer !== undefined) this.clock.clearTimeout(term.timer);
    const check = () => {
      term.timer = undefined;
      if (this.terms.get(name) !== term) return;
      const left = this.remaining(term);
      if (left <= 0) this.end(name, term, 'expired');
      else term.timer = this.clock.setTimeout(check, Math.min(left, 1_000));
    };
    term.timer = this.clock.setTimeout(check, Math.min(this.remaining(term), 1_000));
  }

  private see(name: string): void {
    this.names.delete(name);
    this.names.add(name);
    if (this.names.size <= NAMES_LIMIT) return;
    for (const old of this.names) {
      if (this.terms.has(old)) continue;
      this.names.delete(old);
      break;
    }
  }

  /** Records that a claim was seen for `name` (so the gauge reports it, 0 while not led). */
  seen(name: string): void {
    this.see(name);
  }
}
