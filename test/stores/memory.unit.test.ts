import { ManualClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { describeStoreConformance } from '../../src/testing/index.js';

describeStoreConformance('memory (store clock)', () => {
  const clock = new ManualClock();
  return { clock, store: new MemoryStore({ clock }) };
});

describeStoreConformance('memory (client clock)', () => {
  const clock = new ManualClock();
  return { clock, store: new MemoryStore({ clock, clockSource: 'client' }) };
});
