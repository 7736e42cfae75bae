/**
 * leasehold: leader election for short-lived, stateless workers over the database you already use.
 * The core: `tryLead`, `release`, `getLeader`, the `Elector` for long-lived processes, the Store
 * interface, clocks and errors. Stores live in subpath exports (`leasehold/postgres`, `leasehold/memory`).
 * @module
 */
export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export { Elector, type ElectorEvent, type ElectorOptions, type LostReason, PREFER_REQUEST_SUFFIX } from './elector.js';
export { isLeaseholdError, LeaseholdError, type LeaseholdErrorCode } from './errors.js';
export { identityOf, storeIdentity } from './identity.js';
export {
  compareSlots,
  type JobContext,
  type JobStatus,
  type JobStatusOptions,
  jobStatus,
  type NotRunReason,
  type RunExclusiveOptions,
  type RunExclusiveResult,
  runExclusive,
  type Schedule,
  SLOT_RECORD_SUFFIX,
  type Slot,
  slotOf,
} from './jobs.js';
export {
  type GetLeaderOptions,
  getLeader,
  type HandOverOptions,
  handOver,
  type LeaderInfo,
  type LeadResult,
  type ReleaseOptions,
  release,
  type TryLeadOptions,
  tryLead,
} from './lead.js';
export {
  checkHolder,
  checkName,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_TTL_MS,
  MAX_CLOCK_SKEW_MS,
  MAX_DATA_LENGTH,
  MAX_HOLDER_LENGTH,
  MAX_NAME_LENGTH,
  MAX_TTL_MS,
} from './options.js';
export { type ClaimPlan, isLive, planClaim } from './rule.js';
export type { ClaimRequest, LeaseRecord, LeaseWrite, ReadResult, ReleaseCallOptions, Store, StoreCallOptions, WriteOutcome } from './store.js';
export { LeadershipTerm, type TermEndReason } from './term.js';
export {
  MAX_CONTENDERS,
  MAX_TRACKED_NAMES,
  type TrackedLease,
  Tracker,
  type TrackerEvent,
  type TrackerLostReason,
  type TrackerOptions,
} from './tracker/index.js';
