/**
 * The start/stop serialisation shared by the Elector and the Tracker (src/start-stop.ts): no engine needed.
 */
import { describe, expect, it } from 'vitest';
import { StartStop } from '../../src/start-stop.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('StartStop', () => {
  it('starts at once when idle (synchronously)', async () => {
    const lifecycle = new StartStop();
    const log: string[] = [];
    const started = lifecycle.start(() => log.push('start'));
    expect(log).toEqual(['start']);
    await expect(started).resolves.toBeUndefined();
  });

  it('runs a start asked for during a stop once the stop has settled', async () => {
    const lifecycle = new StartStop();
    const log: string[] = [];
    const gate = deferred();
    const stopped = lifecycle.stop(async () => {
      log.push('stop begins');
      await gate.promise;
      log.push('stop ends');
    });
    expect(lifecycle.busy).toBe(true);
    const started = lifecycle.start(() => log.push('start'));
    expect(log).toEqual(['stop begins']);
    gate.resolve();
    await started;
    await stopped;
    expect(log).toEqual(['stop begins', 'stop ends', 'start']);
    expect(lifecycle.busy).toBe(false);
  });

  it('a second stop joins the first and cancels a start queued between them', async () => {
    const lifecycle = new StartStop();
    const log: string[] = [];
    const gate = deferred();
    const first = lifecycle.stop(async () => {
      log.push('stop');
      await gate.promise;
    });
    const started = lifecycle.start(() => log.push('start'));
    const second = lifecycle.stop(async () => {
      log.push('second stop');
    });
    expect(second).toBe(first);
    gate.resolve();
    await Promise.all([first, second, started]);
    expect(log).toEqual(['stop']);
  });

  it('a queued start still runs after a stop that rejects, and its own promise does not reject', async () => {
    const lifecycle = new StartStop();
    const log: string[] = [];
    const stopped = lifecycle.stop(async () => {
      throw new Error('store down');
    });
    const started = lifecycle.start(() => log.push('start'));
    await expect(stopped).rejects.toThrow('store down');
    await expect(started).resolves.toBeUndefined();
    expect(log).toEqual(['start']);
  });
});
