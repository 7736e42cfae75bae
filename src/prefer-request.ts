/**
 * The request lease of preferred leaders (`<name>@prefer`, see `ElectorOptions.preferred`): a preferred follower holds
 * it to ask the leader to hand over, withdraws it once it leads or stops, and a leader that yields reads it.
 * @module
 */
import type { Clock } from './clock.js';
import { getLeader, release, tryLead } from './lead.js';
import { type LeadParams, PREFER_REQUEST_SUFFIX, withInternalNames } from './options.js';
import type { Store } from './store.js';

/** One elector's request lease. Internal to leasehold. */
export class PreferRequest {
  /** Whether this process may hold a request lease now (preferred, and asked while following). */
  private requesting = false;

  constructor(
    private readonly store: Store,
    private readonly params: LeadParams,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
  ) {}

  private get name(): string {
    return `${this.params.name}${PREFER_REQUEST_SUFFIX}`;
  }

  /** A preferred follower asks the leader to hand over: it holds the request lease (renewed at each poll). */
  async request(): Promise<void> {
    this.requesting = true;
    try {
      await withInternalNames(() =>
        tryLead(this.store, {
          name: this.name,
          holder: this.params.holder,
          ttlMs: this.params.ttlMs,
          maxClockSkewMs: this.params.maxClockSkewMs,
          clock: this.clock,
        }),
      );
    } catch (error) {
      this.onError(error);
    }
  }

  /** A preferred process that leads (or stops) withdraws its request. */
  async withdraw(): Promise<void> {
    if (!this.requesting) return;
    this.requesting = false;
    try {
      await withInternalNames(() => release(this.store, { name: this.name, holder: this.params.holder, clock: this.clock }));
    } catch {
      // The request runs out on its own (its ttl); a leader that reads it meanwhile hands over to this very process.
    }
  }

  /** The request's live holder and token, or `null` (a leader that yields reads it at each renewal). Throws when unreadable. */
  read(): ReturnType<typeof getLeader> {
    return withInternalNames(() => getLeader(this.store, this.name, { maxClockSkewMs: this.params.maxClockSkewMs, clock: this.clock }));
  }
}
