/**
 * The tracker of many leases: {@link Tracker} holds a fair share of a list of names among the processes of a group.
 * @module
 */
export { MAX_CONTENDERS, MAX_TRACKED_NAMES, type TrackerOptions } from './options.js';
export type { TrackedLease, TrackerEvent, TrackerLostReason } from './tracked-lease.js';
export { Tracker } from './tracker.js';
