/**
 * The conformance suite's lease cases: claim, renewal, refusal, takeover, release, handover, validity on both clocks,
 * concurrent contenders and many names.
 * @module
 */
import { expect, it } from 'vitest';
import { getLeader, handOver, release, tryLead } from '../lead.js';
import { type ConformanceContext, SKEW, TTL } from './context.js';

/** Defines the lease cases of one path of the suite. */
export function leaseCases(suite: ConformanceContext): void {
  it('acquires a lease nobody ever held', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const lead = await tryLead(store, opts('a', { data: '{"job":1}' }));
    expect(lead.isLeader).toBe(true);
    expect(lead.leader).toBe('a');
    expect(lead.token).toBeGreaterThan(0);
    expect(lead.data).toBe('{"job":1}');
    expect(lead.remainingMs()).toBe(TTL - SKEW);
    expect(lead.validUntil).toBe(h.clock.monotonic() + TTL - SKEW);
    expect(lead.signal.aborted).toBe(false);
    const seen = await getLeader(store, name, { clock: h.clock, maxClockSkewMs: SKEW });
    expect(seen).toMatchObject({ holder: 'a', token: lead.token, data: '{"job":1}' });
  });

  it('reports nobody for a name never claimed', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name } = suite;
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
  });

  it('renewal keeps the token and the acquisition time', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, opts } = suite;
    const first = await tryLead(store, opts('a'));
    h.clock.advance(2_000);
    const second = await tryLead(store, opts('a'));
    expect(second.isLeader).toBe(true);
    expect(second.token).toBe(first.token);
    expect(second.acquiredAt).toBe(first.acquiredAt);
    expect(second.remainingMs()).toBe(TTL - SKEW);
  });

  it('does not take a live lease, and reports its holder', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { store, opts } = suite;
    const a = await tryLead(store, opts('a', { data: 'from-a' }));
    const b = await tryLead(store, opts('b'));
    expect(b.isLeader).toBe(false);
    expect(b.leader).toBe('a');
    expect(b.token).toBe(a.token);
    expect(b.data).toBe('from-a');
    expect(b.expiresAt).toBe(a.expiresAt);
    expect(b.remainingMs()).toBe(0);
    expect(b.signal.aborted).toBe(true);
    expect(b.signal.reason).toMatchObject({ code: 'LEASE_EXPIRED' });
    expect(await tryLead(store, opts('a'))).toMatchObject({ isLeader: true, token: a.token });
  });

  it('takes over an expired lease with a larger token; the old holder can neither renew nor release', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts, expire } = suite;
    const a = await tryLead(store, opts('a'));
    await expire(name);
    const b = await tryLead(store, opts('b'));
    expect(b.isLeader).toBe(true);
    expect(b.token).toBeGreaterThan(a.token);
    const staleRenew = await tryLead(store, opts('a'));
    expect(staleRenew).toMatchObject({ isLeader: false, leader: 'b', token: b.token });
    expect(await release(store, { name, holder: 'a', clock: h.clock })).toBe(false);
    expect(await getLeader(store, name, { clock: h.clock, maxClockSkewMs: SKEW })).toMatchObject({ holder: 'b', token: b.token });
  });

  it('a holder whose own lease ran out starts a new term with a larger token', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { store, name, opts, expire } = suite;
    const first = await tryLead(store, opts('a'));
    await expire(name);
    // The lapsed term may still have a paused run writing with the old token: the new token fences it off.
    const again = await tryLead(store, opts('a'));
    expect(again).toMatchObject({ isLeader: true, leader: 'a' });
    expect(again.token).toBeGreaterThan(first.token);
    const renewed = await tryLead(store, opts('a'));
    expect(renewed).toMatchObject({ isLeader: true, token: again.token, acquiredAt: again.acquiredAt });
  });

  it('client-clock stores wait out the skew bound before a takeover', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, opts } = suite;
    if (h.store.clockSource !== 'client') return ctx.skip('store judges expiry by its own clock; skew does not apply');
    await tryLead(store, opts('a'));
    h.clock.advance(TTL + SKEW);
    expect((await tryLead(store, opts('b'))).isLeader).toBe(false);
    h.clock.advance(1);
    expect((await tryLead(store, opts('b'))).isLeader).toBe(true);
  });

  it('release hands over at once and keeps the token counter', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const a = await tryLead(store, opts('a'));
    expect(await release(store, { name, holder: 'b', clock: h.clock })).toBe(false);
    expect(await getLeader(store, name, { clock: h.clock })).toMatchObject({ holder: 'a' });
    expect(await release(store, { name, holder: 'a', clock: h.clock })).toBe(true);
    expect(await release(store, { name, holder: 'a', clock: h.clock })).toBe(false);
    expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
    const b = await tryLead(store, opts('b'));
    expect(b.isLeader).toBe(true);
    expect(b.token).toBeGreaterThan(a.token);
    expect(await release(store, { name, holder: 'b', clock: h.clock })).toBe(true);
    const again = await tryLead(store, opts('b'));
    expect(again.isLeader).toBe(true);
    expect(again.token).toBeGreaterThan(b.token);
  });

  it('handOver reserves the lease for the named successor: others are refused, the successor leads with a larger token; past the window anyone may', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts, expire } = suite;
    const a = await tryLead(store, opts('a'));
    expect(await handOver(store, { name, holder: 'b', successor: 'c', windowMs: TTL, clock: h.clock })).toBe(false);
    expect(await getLeader(store, name, { clock: h.clock })).toMatchObject({ holder: 'a', token: a.token });
    const reserves = (suite.options.handover ?? 'reserves') === 'reserves';
    expect(await handOver(store, { name, holder: 'a', successor: 'b', windowMs: TTL, clock: h.clock })).toBe(reserves);
    // The moment it is called, the old holder's results stop leading.
    expect(a.stillLeader()).toBe(false);
    expect(a.signal.aborted).toBe(true);
    if (!reserves) {
      // Released instead: nobody holds it, the token is kept, and the next claim (anyone's) takes token + 1.
      expect(await getLeader(store, name, { clock: h.clock })).toBeNull();
      expect(await tryLead(store, opts('c'))).toMatchObject({ isLeader: true, token: a.token + 1 });
      return;
    }
    // Reserved: neither a third contender nor the old holder gets it during the window.
    expect(await tryLead(store, opts('c'))).toMatchObject({ isLeader: false, leader: 'b' });
    expect(await tryLead(store, opts('a'))).toMatchObject({ isLeader: false, leader: 'b' });
    const b = await tryLead(store, opts('b'));
    expect(b.isLeader).toBe(true);
    expect(b.token).toBe(a.token + 1);
    expect(b.remainingMs()).toBe(TTL - SKEW);
    // A successor that never claims: past the window the reservation is an expired lease, and anyone takes it.
    expect(await handOver(store, { name, holder: 'b', successor: 'gone', windowMs: TTL, clock: h.clock })).toBe(true);
    expect(await tryLead(store, opts('c'))).toMatchObject({ isLeader: false, leader: 'gone' });
    await expire(name);
    const c = await tryLead(store, opts('c'));
    expect(c.isLeader).toBe(true);
    expect(c.token).toBe(b.token + 2);
  });

  it('validity runs out on the monotonic clock, or earlier when the wall clock jumps', async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, opts } = suite;
    const lead = await tryLead(store, opts('a'));
    const signal = lead.signal;
    h.clock.advance(TTL - SKEW - 1);
    expect(lead.remainingMs()).toBe(1);
    expect(signal.aborted).toBe(false);
    h.clock.advance(1);
    expect(lead.stillLeader()).toBe(false);
    expect(signal.aborted).toBe(true);
    const renewed = await tryLead(store, opts('a'));
    expect(renewed.stillLeader()).toBe(true);
    // A frozen machine: the monotonic clock stood still while real (wall) time went on.
    h.clock.jumpWall(TTL);
    expect(renewed.remainingMs()).toBe(0);
  });

  it(`${suite.contenders} concurrent contenders: exactly one winner per round, tokens strictly rising`, async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts, expire } = suite;
    if (suite.options.skip?.race) return ctx.skip(suite.options.skip.race);
    let lastToken = 0;
    for (let round = 0; round < suite.rounds; round++) {
      const results = await Promise.all(Array.from({ length: suite.contenders }, (_, i) => tryLead(store, opts(`r${round}-c${i}`))));
      const winners = results.filter((r) => r.isLeader);
      expect(winners).toHaveLength(1);
      const winner = winners[0];
      if (!winner) throw new Error('unreachable');
      expect(winner.token).toBeGreaterThan(lastToken);
      lastToken = winner.token;
      for (const r of results) expect({ leader: r.leader, token: r.token }).toEqual({ leader: winner.leader, token: winner.token });
      // Alternate the two ways a lease falls vacant.
      if (round % 2 === 0) expect(await release(store, { name, holder: winner.leader ?? '', clock: h.clock })).toBe(true);
      else await expire(name);
    }
  });

  it(`${suite.nameCount} names do not interfere`, async (ctx) => {
    if (!(await suite.fresh())) return ctx.skip('store has no fused claim');
    const { h, store, name, opts } = suite;
    const names = Array.from({ length: suite.nameCount }, (_, i) => `${name}-${i}`);
    const leads = await Promise.all(names.map((n, i) => tryLead(store, { ...opts(`h${i}`), name: n })));
    expect(leads.every((l) => l.isLeader)).toBe(true);
    expect(await release(store, { name: names[0] ?? '', holder: 'h0', clock: h.clock })).toBe(true);
    const seen = await Promise.all(names.map((n) => getLeader(store, n, { clock: h.clock })));
    expect(seen[0]).toBeNull();
    seen.slice(1).forEach((s, i) => {
      expect(s?.holder).toBe(`h${i + 1}`);
    });
  });
}
