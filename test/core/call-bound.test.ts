/**
 * The bound of one library call (README safety: "Fail closed, and every call settles"), as the store sees it: its abort signal is made only when
 * the store reads it, aborts at the bound whenever it is read, and on the system clock is the one real-time bound a
 * built-in store's request needs (`requestBound` adds no second timer to it). Also: a result's methods work unbound.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, requestBound } from '../../src/clock.js';
import { release, tryLead } from '../../src/lead.js';
import type { ClaimRequest, LeaseRecord, Store, StoreCallOptions } from '../../src/store.js';
import { MemoryStore } from '../../src/stores/memory.js';

/** A fused-claim store whose claim is answered by `answer` (with the options the core passed), for probing the bound. */
function probeStore(answer: (request: ClaimRequest, options: StoreCallOptions | undefined) => Promise<{ record: LeaseRecord }>, timeoutMs = 1_000): Store {
  const inner = new MemoryStore();
  return {
    kind: 'probe',
    clockSource: 'store',
    timeoutMs,
    read: (name) => inner.read(name),
    create: (w) => inner.create(w),
    replace: (v, w) => inner.replace(v, w),
    claim: (request, options) => answer(request, options),
  };
}

const leading = (r: ClaimRequest): { record: LeaseRecord } => ({
  record: { name: r.name, holder: r.holder, token: 1, acquiredAt: 0, expiresAt: Number.MAX_SAFE_INTEGER, version: r.version, data: r.data },
});

describe('the call bound, as the store sees it', () => {
  it('a signal read at the start of a request aborts at the bound, with STORE_UNAVAILABLE, and the call fails closed then', async () => {
    const clock = new ManualClock();
    let seen: AbortSignal | undefined;
    const store = probeStore(async (_r, o) => {
      seen = o?.signal;
      return new Promise(() => {}); // never answers
    });
    const call = tryLead(store, { name: 'n', holder: 'a', ttlMs: 60_000, clock });
    const outcome = call.then(
      () => 'resolved',
      (e: { code?: string }) => e.code,
    );
    await Promise.resolve();
    expect(seen?.aborted).toBe(false);
    clock.advance(999);
    expect(seen?.aborted).toBe(false);
    clock.advance(1);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await outcome).toBe('STORE_UNAVAILABLE');
  });

  it('a signal first read after the bound ran out is already aborted', async () => {
    const clock = new ManualClock();
    let options: StoreCallOptions | undefined;
    const store = probeStore(async (_r, o) => {
      options = o;
      return new Promise(() => {});
    });
    const outcome = tryLead(store, { name: 'n', holder: 'a', ttlMs: 60_000, clock }).catch((e: { code?: string }) => e.code);
    await Promise.resolve();
    clock.advance(1_000);
    expect(await outcome).toBe('STORE_UNAVAILABLE');
    const late = options?.signal;
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('a request that answers in time leaves the signal unaborted, and the call leads', async () => {
    let seen: AbortSignal | undefined;
    const store = probeStore(async (r, o) => {
      seen = o?.signal;
      return leading(r);
    });
    const lead = await tryLead(store, { name: 'n', holder: 'a', ttlMs: 60_000 });
    expect(lead.isLeader).toBe(true);
    expect(seen?.aborted).toBe(false);
  });

  it('on the system clock the call signal is the real-time bound: a store request bound of at least as long adds nothing to it', async () => {
    const signals: AbortSignal[] = [];
    const store = probeStore(async (r, o) => {
      const longer = requestBound(o?.signal, 5_000);
      const shorter = requestBound(o?.signal, 10);
      signals.push(longer.signal, shorter.signal, o?.signal as AbortSignal);
      longer.done();
      shorter.done();
      return leading(r);
    }, 1_000);
    await tryLead(store, { name: 'n', holder: 'a', ttlMs: 60_000 });
    const [longer, shorter, call] = signals;
    expect(longer).toBe(call);
    // A shorter request bound needs its own timer.
    expect(shorter).not.toBe(call);
  });

  it('on an injected clock the call signal aborts on that clock only, so a store request still gets its own real-time bound', async () => {
    const signals: AbortSignal[] = [];
    const store = probeStore(async (r, o) => {
      const bound = requestBound(o?.signal, 5_000);
      signals.push(bound.signal, o?.signal as AbortSignal);
      bound.done();
      return leading(r);
    });
    await tryLead(store, { name: 'n', holder: 'a', ttlMs: 60_000, clock: new ManualClock() });
    expect(signals[0]).not.toBe(signals[1]);
  });

  it('a request bound follows the call signal: aborted by it, and aborted on its own after its time', async () => {
    const controller = new AbortController();
    const viaCall = requestBound(controller.signal, 60_000);
    controller.abort(new Error('call bound'));
    expect(viaCall.signal.aborted).toBe(true);
    viaCall.done();
    const own = requestBound(undefined, 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(own.signal.aborted).toBe(true);
    expect((own.signal.reason as Error).name).toBe('TimeoutError');
  });
});

describe('a result', () => {
  it('has the documented fields as its own keys, and no internals', async () => {
    const store = new MemoryStore();
    const lead = await tryLead(store, { name: 'n', holder: 'a' });
    const documented = [
      'acquiredAt',
      'data',
      'expiresAt',
      'isLeader',
      'leader',
      'release',
      'remainingMs',
      'stillLeader',
      'token',
      'validUntil',
      'validUntilWall',
    ];
    expect(Object.keys(lead).sort()).toEqual(documented);
    expect(lead.signal).toBeInstanceOf(AbortSignal);
    const warm = await tryLead(store, { name: 'n', holder: 'a', renewBelow: 0.5 });
    const again = await tryLead(store, { name: 'n', holder: 'a', renewBelow: 0.5 });
    expect(warm.fromMemory).toBeUndefined();
    expect(again.fromMemory).toBe(true);
    expect(Object.keys(again).sort()).toEqual([...documented, 'fromMemory'].sort());
    expect(again.signal).toBe(warm.signal);
  });

  it('keeps its methods working when they are passed around unbound', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const {
      isLeader,
      stillLeader,
      remainingMs,
      signal,
      release: giveUp,
    } = await tryLead(store, { name: 'n', holder: 'a', ttlMs: 10_000, maxClockSkewMs: 1_000, clock });
    expect(isLeader).toBe(true);
    expect(stillLeader()).toBe(true);
    expect(remainingMs()).toBe(9_000);
    expect(signal.aborted).toBe(false);
    expect(await giveUp()).toBe(true);
    expect(stillLeader()).toBe(false);
    expect(signal.aborted).toBe(true);
    expect(await release(store, { name: 'n', holder: 'a', clock })).toBe(false);
  });
});
