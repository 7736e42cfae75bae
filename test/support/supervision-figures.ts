/**
 * What `test/cli/cli-supervision.test.ts` records (kind `supervision`, one file per scenario, one sample per run of the
 * test since `.tmp/safety` was last cleared) and the SAFETY.md section that `scripts/safety-report.ts` renders from
 * it: how long a command run by `leasehold run` ran on, against the validity of its lease and against the next host's
 * command.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { recordFigures } from './safety-figures.js';

/** The scenarios, as the section names them. */
const TITLES = {
  stopped: '`leasehold` SIGSTOPped while its command runs (no more renewals; the watchdog holds the deadline)',
  'term-ignored': 'the command traps SIGTERM; renewals fail, and `leasehold` is SIGSTOPped right after its SIGTERM',
  'left-behind': 'the command exits 0 and leaves two background processes, one of them ignoring SIGTERM',
  released: 'an operator runs `leasehold release` while the command runs',
} as const;
const TARGET: Record<Scenario, string> = {
  stopped: '0 ms',
  'term-ignored': '0 ms',
  'left-behind': '0 ms',
  released: 'the time to notice (one lease check) and the command’s own exit',
};

export type Scenario = keyof typeof TITLES;

/** One run of one scenario; times are epoch ms on this machine's clock (the store's clock is the same one). */
export interface SupervisionSample {
  scenario: Scenario;
  /** The lease length and kill grace the run was given. */
  ttlMs: number;
  killGraceMs: number;
  /** The validity end leasehold reported when it stopped the command (`null` where it reported none). */
  validUntil: number | null;
  /** The last sign of life of the command or anything it left (a line it writes every 50 ms). */
  lastSignOfLife: number;
  /** The first sign of life of the next host's command, which started once the lease was free. */
  nextStartedAt: number;
  /** `lastSignOfLife - nextStartedAt`, or 0: how long both ran at once. */
  overlapMs: number;
  /** How long before the end of validity the command was gone (from the reported end, else the store's expiry - skew). */
  marginMs: number | null;
  /** `released`: from the operator's release (the store's timestamp) to the command's last sign of life. */
  stopDelayMs?: number;
  /** `released`: how often the run checks its lease between renewals, as it reported. */
  leaseCheckMs?: number;
  /** The 1-minute load average when the run ended, and the cores it had. */
  loadAverage: number;
  cores: number;
  /** Anything worth a word. */
  note: string;
}

/** What the file of one scenario holds. */
export interface SupervisionFigures {
  scenario: Scenario;
  samples: SupervisionSample[];
}

/** Adds a run's sample to its scenario's figures (`.tmp/safety/supervision-<scenario>.json`). */
export function recordSupervision(sample: Omit<SupervisionSample, 'loadAverage' | 'cores'>): SupervisionSample {
  const full = { ...sample, loadAverage: Math.round((loadavg()[0] ?? 0) * 10) / 10, cores: cpus().length };
  const file = `.tmp/safety/supervision-${sample.scenario}.json`;
  const earlier = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { figures: SupervisionFigures }).figures.samples : [];
  recordFigures(sample.scenario, 'supervision', { scenario: sample.scenario, samples: [...earlier, full] } satisfies SupervisionFigures);
  return full;
}

const range = (xs: number[]) => (xs.length === 0 ? '–' : Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);

/** The "Command supervision" section of SAFETY.md, from the recorded figures (empty when none were recorded). */
export function supervisionSection(figures: SupervisionFigures[]): string {
  if (figures.length === 0) return '';
  const order = Object.keys(TITLES);
  const rows = [...figures]
    .sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario))
    .map(({ scenario, samples }) => {
      const first = samples[0] as SupervisionSample;
      const margins = samples.map((s) => s.marginMs).filter((m): m is number => m !== null);
      const delays = samples.map((s) => s.stopDelayMs).filter((d): d is number => d !== undefined);
      const worst = Math.max(...samples.map((s) => s.overlapMs));
      const gaps = samples.map((s) => Math.round(s.nextStartedAt - s.lastSignOfLife));
      const notes = [`the next host started ${range(gaps)} ms after the last sign of life`];
      if (delays.length)
        notes.unshift(`stopped ${range(delays)} ms after the release (lease read every ${first.leaseCheckMs} ms, renewed every ${first.ttlMs / 3} ms)`);
      return `| ${TITLES[scenario]} | ${first.ttlMs} / ${first.killGraceMs} | ${samples.length} (load ${range(samples.map((s) => s.loadAverage))} on ${first.cores} cores) | ${margins.length ? range(margins) : '–'} | **${worst}** | ${TARGET[scenario]} | ${notes.join('; ')} |`;
    });
  return `### Command supervision (\`leasehold run\`, \`test/cli/cli-supervision.test.ts\`)

DESIGN.md, "Nothing leasehold supervises outlives the lease": \`leasehold run\` in real process trees on the real
PostgreSQL. The command writes a timestamp every 50 ms (and so does every process it starts); a second host waits
for the lease with \`--wait\` and its command writes its own first timestamp. *Overlap* is how long the first command
(or anything it left) still wrote after the second one had started; *margin* is how long before the end of the
validity leasehold reported the first command's last timestamp was. The command is started by a watchdog, a small
process in a session of its own that \`leasehold\` tells each new validity end after a renewal: it sends SIGTERM
\`--kill-grace\` before the end and SIGKILL just before it, whatever \`leasehold\` itself is doing. When the command
exits, what it left in its process group is ended before the lease is released (\`--leave-children\` keeps it).
Between renewals \`leasehold\` reads its lease (every ttl/12, at most 1 s apart) to notice a release or a takeover.

| scenario | ttl / kill grace (ms) | runs (load average) | margin before validity end (ms) | worst overlap with the next host (ms) | target | notes |
| --- | --- | --- | ---: | ---: | --- | --- |
${rows.join('\n')}

`;
}
