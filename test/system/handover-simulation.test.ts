/**
 * A seeded simulation of handovers under faults (issue 22), apart from the main fault simulation: three Electors on
 * one lease (memory store, injected clock, push wake-ups on), one of them preferred, take random steps — resign,
 * handover to a live or a stopped successor, stop and restart, lost answers, writes the network holds and delivers
 * late, outages, time passing — and after every step: at most one elector says it leads, every `elected` token is
 * larger than the one before (or the same holder's same term, which lapsed here while it stayed live at the store), and a successor named while alive leads next unless a fault hit the handover.
 * A failure names its seed; replay it with HANDOVER_SEED=<seed>.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Elector, type ElectorEvent } from '../../src/elector.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { type WriteFault, withFaults } from '../../src/testing/faults.js';

const TTL = 3_000;
const SKEW = 300;
const RETRY = 1_000;
const STEPS = 250;
const SEEDS = process.env.HANDOVER_SEED ? [Number(process.env.HANDOVER_SEED)] : Array.from({ length: 24 }, (_, i) => 1_000 + i);

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function simulate(seed: number): Promise<{ handovers: number; namedLedNext: number; violations: string[] }> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const clock = new ManualClock();
  const store = withFaults(new MemoryStore({ clock }));
  const holders = ['a', 'b', 'c'] as const;
  const electors = new Map<string, Elector>();
  const running = new Set<string>();
  const violations: string[] = [];
  let lastToken = 0;
  let lastHolder = '';
  let step = 0;
  for (const holder of holders) {
    const elector = new Elector(store, {
      name: 'sim',
      holder,
      ttlMs: TTL,
      maxClockSkewMs: SKEW,
      retryEveryMs: RETRY,
      clock,
      keepAlive: false,
      // c prefers itself; a and b yield to it.
      preferred: holder === 'c',
    });
    elector.on((e: ElectorEvent) => {
      if (e.type !== 'elected') return;
      // A holder whose term lapsed here while its lease stayed live at the store is elected again with the same
      // token (the same term at the store); any other holder's term must carry a larger one.
      const same = e.lead.token === lastToken && holder === lastHolder;
      if (e.lead.token <= lastToken && !same)
        violations.push(`seed ${seed} step ${step}: ${holder} elected with token ${e.lead.token} after ${lastHolder}'s ${lastToken}`);
      if (e.lead.token >= lastToken) {
        lastToken = e.lead.token;
        lastHolder = holder;
      }
    });
    electors.set(holder, elector);
  }
  const check = () => {
    const leading = holders.filter((h) => electors.get(h)?.isLeader());
    if (leading.length > 1) violations.push(`seed ${seed} step ${step}: ${leading.join(' and ')} lead at once`);
  };
  const start = (h: string) => {
    running.add(h);
    electors.get(h)?.start();
  };
  for (const h of holders) start(h);
  let handovers = 0;
  let namedLedNext = 0;
  for (step = 0; step < STEPS; step++) {
    const leader = holders.find((h) => electors.get(h)?.isLeader());
    const roll = random();
    if (roll < 0.25 && leader) {
      // A handover, to a running contender (it must lead next, unless a fault hits) or to any (maybe stopped).
      const others = holders.filter((h) => h !== leader);
      const successor = random() < 0.7 ? pick(others.filter((h) => running.has(h)).length ? others.filter((h) => running.has(h)) : others) : pick(others);
      const faulty = random() < 0.25;
      if (faulty) store.failNextWrite(pick<WriteFault>(['lose-answer', 'fail-before', 'hold']));
      const alive = running.has(successor);
      const handed = await electors.get(leader)?.handover(successor, { windowMs: RETRY * 2 });
      handovers++;
      await clock.tick(20, 1);
      check();
      const now = holders.filter((h) => electors.get(h)?.isLeader());
      if (handed && alive && !faulty) {
        if (now[0] === successor) namedLedNext++;
        else violations.push(`seed ${seed} step ${step}: ${leader} handed over to live ${successor}, but ${now.join(',') || 'nobody'} leads`);
      }
    } else if (roll < 0.35 && leader) {
      await electors.get(leader)?.resign({ pauseMs: RETRY });
    } else if (roll < 0.45) {
      const h = pick(holders);
      if (running.has(h)) {
        running.delete(h);
        await electors.get(h)?.stop({ release: random() < 0.5 });
      } else start(h);
    } else if (roll < 0.55) {
      store.failNextWrite(pick<WriteFault>(['lose-answer', 'fail-before', 'hold']));
    } else if (roll < 0.6) {
      await store.deliverHeld();
    } else if (roll < 0.63) {
      store.failAll(true);
      await clock.tick(Math.floor(random() * TTL), 10);
      check();
      store.failAll(false);
    }
    await clock.tick(Math.floor(random() * 400), 10);
    check();
  }
  await store.deliverHeld();
  await clock.tick(TTL, 10);
  check();
  for (const h of holders) await electors.get(h)?.stop();
  return { handovers, namedLedNext, violations };
}

describe('handover simulation under faults (memory store, injected clock)', () => {
  it(`${SEEDS.length} seeds × ${STEPS} steps: never two leaders, tokens rise, a live named successor leads next`, async () => {
    let handovers = 0;
    let namedLedNext = 0;
    const violations: string[] = [];
    for (const seed of SEEDS) {
      const r = await simulate(seed);
      handovers += r.handovers;
      namedLedNext += r.namedLedNext;
      violations.push(...r.violations);
    }
    console.log(`[handover simulation] ${SEEDS.length} seeds: ${handovers} handovers, ${namedLedNext} to a live successor without a fault, each led next`);
    expect(violations.slice(0, 10)).toEqual([]);
    // The simulation did exercise what it claims to.
    expect(handovers).toBeGreaterThan(SEEDS.length * 10);
    expect(namedLedNext).toBeGreaterThan(SEEDS.length);
  }, 120_000);
});
