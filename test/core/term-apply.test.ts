/**
 * LeadershipTerm.apply (src/term.ts): the one way the Elector, runExclusive and the Tracker judge a claim's answer
 * for a term. Pure: a ManualClock and hand-made results, no store.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { isLeaseholdError } from '../../src/errors.js';
import type { LeadResult } from '../../src/lead.js';
import { LeadershipTerm, type TermEndReason } from '../../src/term.js';

/** A result as tryLead gives it: leader or follower, with validity for `validMs` from now on `clock`. */
function result(clock: ManualClock, options: { isLeader?: boolean; token?: number; validMs?: number } = {}): LeadResult {
  const isLeader = options.isLeader ?? true;
  const validMs = isLeader ? (options.validMs ?? 1_000) : 0;
  const validUntil = clock.monotonic() + validMs;
  const validUntilWall = clock.now() + validMs;
  const remainingMs = () => Math.max(0, Math.min(validUntil - clock.monotonic(), validUntilWall - clock.now()));
  return {
    isLeader,
    leader: isLeader ? 'me' : 'other',
    token: options.token ?? 7,
    expiresAt: validUntilWall,
    acquiredAt: 0,
    data: null,
    validUntil,
    validUntilWall,
    remainingMs,
    stillLeader: () => remainingMs() > 0,
    signal: new AbortController().signal,
    release: async () => true,
  };
}

function setup(): { clock: ManualClock; term: LeadershipTerm; ends: TermEndReason[] } {
  const clock = new ManualClock();
  const ends: TermEndReason[] = [];
  const term = new LeadershipTerm(result(clock), clock, (reason) => ends.push(reason));
  return { clock, term, ends };
}

describe('LeadershipTerm.apply', () => {
  it('renewed: the same token with validity left; the term follows the answer', () => {
    const { clock, term, ends } = setup();
    clock.advance(500);
    const next = result(clock, { validMs: 1_000 });
    expect(term.apply(next)).toBe('renewed');
    expect(term.lead.validUntil).toBe(next.validUntil);
    expect(term.ended).toBe(false);
    expect(ends).toEqual([]);
  });

  it('taken-over: another holder ends the term', () => {
    const { clock, term, ends } = setup();
    expect(term.apply(result(clock, { isLeader: false, token: 8 }))).toBe('taken-over');
    expect(ends).toEqual(['taken-over']);
  });

  it('new-term: a different token ends the term as expired', () => {
    const { clock, term, ends } = setup();
    expect(term.apply(result(clock, { token: 8 }))).toBe('new-term');
    expect(ends).toEqual(['expired']);
  });

  it('late: a won answer with no validity left changes nothing', () => {
    const { clock, term, ends } = setup();
    const before = term.lead.validUntil;
    expect(term.apply(result(clock, { validMs: 0 }))).toBe('late');
    expect(term.ended).toBe(false);
    expect(term.lead.validUntil).toBe(before);
    expect(ends).toEqual([]);
  });

  it('lapsed: a term that ran out while the claim was away ends first, whatever the answer', () => {
    for (const answer of [{}, { isLeader: false }, { token: 9 }]) {
      const { clock, term, ends } = setup();
      // The process was stopped past the term's validity: no timer ran meanwhile.
      clock.pause(2_000);
      expect(term.apply(result(clock, answer))).toBe('lapsed');
      expect(ends).toEqual(['expired']);
    }
  });

  it('ended: an answer after the term ended changes nothing', () => {
    const { clock, term, ends } = setup();
    term.end('stopped');
    expect(term.apply(result(clock))).toBe('ended');
    expect(term.apply(result(clock, { isLeader: false }))).toBe('ended');
    expect(ends).toEqual(['stopped']);
  });

  it("the term's signal aborts with LEASE_EXPIRED carrying the reason as a typed field", () => {
    const { clock, term } = setup();
    const signal = term.lead.signal;
    term.apply(result(clock, { isLeader: false }));
    expect(signal.aborted).toBe(true);
    expect(isLeaseholdError(signal.reason, 'LEASE_EXPIRED')).toBe(true);
    expect((signal.reason as { reason?: unknown }).reason).toBe('taken-over');
  });
});
