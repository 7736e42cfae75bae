/**
 * The library alone: what a call costs with no database (MemoryStore: validation, the decision, the call bound and
 * the result), against a bare async Map update.
 */
import { lead, MemoryStore } from '../harness.js';
import { compare } from '../measure.js';
import { emptyPart, type ReportPart } from '../report.js';
import { SCALE } from '../settings.js';

/** Runs the MemoryStore cases. */
export async function libraryAlone(): Promise<ReportPart> {
  const part = emptyPart();
  const memory = new MemoryStore();
  const map = new Map<string, { holder: string; n: number }>();
  const rounds = Math.ceil(5000 * SCALE);
  const rows = await compare('MemoryStore (no I/O: the library alone)', rounds, 1000, [
    {
      label: 'floor: async Map read-modify-write',
      kind: 'floor',
      run: async () => {
        await Promise.resolve();
        const r = map.get('x');
        map.set('x', { holder: 'leader', n: (r?.n ?? 0) + 1 });
      },
    },
    { label: 'tryLead renew on MemoryStore', kind: 'leasehold', run: () => lead(memory, 'steady', 'leader') },
    { label: 'tryLead refused on MemoryStore', kind: 'leasehold', run: () => lead(memory, 'steady', 'follower') },
  ]);
  part.sections.push({
    title: 'The library alone (MemoryStore, no I/O)',
    intro: 'What a call costs with no database: validation, the decision, the call bound and the result, against a bare async Map update.',
    rows,
  });
  return part;
}
