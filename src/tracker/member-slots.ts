/**
 * How trackers see each other through the store, with no new store primitive: each holds one member slot, an
 * ordinary lease named `${group}.member.${i}` (`i` below `maxContenders`), renewed at every round like a name, and
 * reads the other slots (`getLeader`) to count the live contenders. A crashed process's slot runs out with its
 * names, so the survivors raise their share exactly when its names become free.
 * @module
 */
import type { Clock } from '../clock.js';
import { getLeader, type LeadResult, tryLead } from '../lead.js';
import type { Store } from '../store.js';
import { pickFreeSlot, type Random } from './decisions.js';
import { leadOptionsOf, type TrackerParams } from './options.js';

/** What one round learned from the member slots. */
export interface Census {
  /** False when a slot could not be read: the round then renews only (no claim, no resignation). */
  known: boolean;
  /** Live contenders, this tracker included. */
  contenders: number;
}

/** This tracker's member slot (if it holds one) and the census of the others. */
export class MemberSlots {
  private slot: number | undefined;
  private slotLead: LeadResult | undefined;

  constructor(
    private readonly store: Store,
    private readonly p: TrackerParams,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  /** The lease name of member slot `i`. */
  name(i: number): string {
    return `${this.p.group}.member.${i}`;
  }

  /** Whether this tracker holds a member slot now (and is so counted by the others). */
  get held(): boolean {
    return this.slot !== undefined;
  }

  /** Forgets the slot (the tracker stops); returns its lease name to release, if one was held. */
  drop(): string | undefined {
    const slot = this.slot;
    this.slot = this.slotLead = undefined;
    return slot === undefined ? undefined : this.name(slot);
  }

  /**
   * Renews this tracker's member slot (or takes a free one, while `stillCurrent()`) and counts the live slots of
   * the others. `onError` hears the first failing call of the census only.
   */
  async census(stillCurrent: () => boolean, onError: (error: unknown) => void): Promise<Census> {
    const free: number[] = [];
    let others = 0;
    let known = true;
    let reported = false;
    const report = (error: unknown) => {
      known = false;
      if (!reported) onError(error);
      reported = true;
    };
    const slots = Array.from({ length: this.p.maxContenders }, (_, i) => i);
    await Promise.all(
      slots.map(async (i) => {
        const name = this.name(i);
        if (i === this.slot) {
          try {
            const lead = await tryLead(this.store, leadOptionsOf(this.p, this.clock, name));
            if (lead.isLeader) this.slotLead = lead;
            else if (lead.leader !== null) {
              // Taken over (it had run out): count its new holder, and look for another slot.
              others++;
              this.slot = this.slotLead = undefined;
            }
          } catch (error) {
            report(error);
          }
          if (this.slot === i && !this.slotLead?.stillLeader()) this.slot = this.slotLead = undefined;
          return;
        }
        try {
          const leader = await getLeader(this.store, name, { maxClockSkewMs: this.p.maxClockSkewMs, clock: this.clock });
          // A slot under this holder's own id (an earlier run of this process) is this tracker, not another contender.
          if (leader === null || leader.holder === this.p.holder) free.push(i);
          else others++;
        } catch (error) {
          report(error);
        }
      }),
    );
    if (this.slot === undefined && free.length > 0 && stillCurrent()) {
      const pick = pickFreeSlot(free, this.random) as number;
      try {
        const lead = await tryLead(this.store, leadOptionsOf(this.p, this.clock, this.name(pick)));
        if (lead.isLeader && lead.stillLeader()) {
          this.slot = pick;
          this.slotLead = lead;
        } else if (lead.leader !== null && lead.leader !== this.p.holder) {
          others++; // another tracker took it meanwhile
        }
      } catch (error) {
        report(error);
      }
    }
    return { known, contenders: others + 1 };
  }
}
