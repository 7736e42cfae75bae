/**
 * How the bench measures: cases of a group run interleaved (one call of each per round, in rotating order, after
 * warm-up rounds), each call timed and its process CPU taken; requests are counted by the caller's counters.
 * Every figure is reported as a ratio to a floor measured in the same rounds.
 */

/** One case of a group. */
export interface Case {
  /** What is measured. */
  label: string;
  /** One call. `i` is the round (for unique names). */
  run: (i: number) => Promise<unknown>;
  /** Label of the case this one is compared with (default: the group's first case). */
  floor?: string;
  /** Who wrote the code: `floor`, `leasehold` or `peer`. */
  kind: 'floor' | 'leasehold' | 'peer' | 'reference';
}

/** What was measured for one case. */
export interface Measured {
  label: string;
  kind: Case['kind'];
  floor: string;
  /** Latency samples in ms, sorted. */
  samples: number[];
  p50: number;
  p99: number;
  /** Median process CPU per call (user + system), in ms. */
  cpu: number;
  /** Requests (round trips) per call, as counted. */
  requests: number;
}

/** A counter of requests, bumped by a driver hook. */
export const requests = { n: 0 };

const say = (line: string) => process.stdout.write(`${line}\n`);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Runs `cases` interleaved for `rounds` rounds after `warmup` rounds; prints progress. */
export async function compare(title: string, rounds: number, warmup: number, cases: Case[]): Promise<Measured[]> {
  say(`\n${title}: ${cases.length} cases × ${rounds} calls (after ${warmup} warm-up rounds), interleaved`);
  const samples = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  const counted = cases.map(() => 0);
  const started = performance.now();
  for (let i = 0; i < warmup + rounds; i++) {
    for (let k = 0; k < cases.length; k++) {
      const c = (i + k) % cases.length;
      const run = (cases[c] as Case).run;
      const n0 = requests.n;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await run(i);
      const t1 = performance.now();
      const used = process.cpuUsage(cpu0);
      if (i >= warmup) {
        samples[c]?.push(t1 - t0);
        cpu[c]?.push((used.user + used.system) / 1000);
        counted[c] = (counted[c] ?? 0) + requests.n - n0;
      }
    }
    const done = i + 1 - warmup;
    if (done > 0 && done % Math.ceil(rounds / 4) === 0)
      say(`  … ${Math.round((done / rounds) * 100)}% (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  const first = cases[0]?.label ?? '';
  return cases.map((c, i) => {
    const s = (samples[i] ?? []).sort((a, b) => a - b);
    const u = (cpu[i] ?? []).sort((a, b) => a - b);
    return {
      label: c.label,
      kind: c.kind,
      floor: c.floor ?? first,
      samples: s,
      p50: quantile(s, 0.5),
      p99: quantile(s, 0.99),
      cpu: quantile(u, 0.5),
      requests: (counted[i] ?? 0) / rounds,
    };
  });
}

/** `rows` with ratios to their floors, for tables and the summary. */
export function ratios(rows: Measured[]): (Measured & { r50: number; r99: number; rcpu: number; libCpu: number })[] {
  const byLabel = new Map(rows.map((r) => [r.label, r]));
  return rows.map((r) => {
    const f = byLabel.get(r.floor) ?? r;
    return { ...r, r50: r.p50 / f.p50, r99: r.p99 / f.p99, rcpu: r.cpu / f.cpu, libCpu: (r.cpu - f.cpu) / f.cpu };
  });
}

/** Sustained throughput: `workers` loops calling `run(worker, i)` for `ms`; calls/s and requests/s. */
export async function throughput(
  workers: number,
  ms: number,
  run: (worker: number, i: number) => Promise<unknown>,
): Promise<{ calls: number; requests: number }> {
  const n0 = requests.n;
  let calls = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        await run(w, i);
        calls++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { calls: calls / seconds, requests: (requests.n - n0) / seconds };
}

/** One side of an A/B pair. */
export interface Side {
  /** What is measured. */
  label: string;
  /** One call. `i` is the round (for unique names). */
  run: (i: number) => Promise<unknown>;
}

/** What an A/B run measured: each side's latency and requests, and the per-round pairing. */
export interface ABMeasured {
  a: { label: string; p50: number; p99: number; requests: number };
  b: { label: string; p50: number; p99: number; requests: number };
  /** p50(a) ÷ p50(b), p99(a) ÷ p99(b). */
  r50: number;
  r99: number;
  /** Median over rounds of a's time ÷ b's time in the same round (a paired ratio: drift between rounds cancels). */
  paired: number;
  rounds: number;
  warmup: number;
}

/**
 * Two cases only, alternating in rotating order (A B, then B A, then A B …), `warmup` rounds first and then
 * `rounds` measured rounds, so each case runs right after the other as often as before it. `a` is compared with
 * `b` (the floor). Prints progress as it goes.
 */
export async function abCompare(title: string, a: Side, b: Side, rounds: number, warmup: number): Promise<ABMeasured> {
  say(`\n${title}: A/B, ${rounds} rounds after ${warmup} warm-up rounds, A B then B A alternating`);
  say(`  A: ${a.label}\n  B: ${b.label}`);
  const ta = new Float64Array(rounds);
  const tb = new Float64Array(rounds);
  let na = 0;
  let nb = 0;
  const time = async (side: Side, i: number) => {
    const n0 = requests.n;
    const t0 = performance.now();
    await side.run(i);
    return [performance.now() - t0, requests.n - n0] as const;
  };
  const started = performance.now();
  const step = Math.max(1, Math.ceil(rounds / 4));
  for (let i = 0; i < warmup + rounds; i++) {
    let da: readonly [number, number];
    let db: readonly [number, number];
    if (i % 2 === 0) {
      da = await time(a, i);
      db = await time(b, i);
    } else {
      db = await time(b, i);
      da = await time(a, i);
    }
    const k = i - warmup;
    if (k >= 0) {
      ta[k] = da[0];
      tb[k] = db[0];
      na += da[1];
      nb += db[1];
      if ((k + 1) % step === 0 || k + 1 === rounds) {
        const sa = quantile(
          [...ta.subarray(0, k + 1)].sort((x, y) => x - y),
          0.5,
        );
        const sb = quantile(
          [...tb.subarray(0, k + 1)].sort((x, y) => x - y),
          0.5,
        );
        say(`  … ${k + 1}/${rounds} rounds (${((performance.now() - started) / 1000).toFixed(1)} s): p50 A ÷ B so far ×${(sa / sb).toFixed(3)}`);
      }
    }
  }
  const paired = [...ta].map((x, k) => x / (tb[k] as number)).sort((x, y) => x - y);
  const sa = [...ta].sort((x, y) => x - y);
  const sb = [...tb].sort((x, y) => x - y);
  const m: ABMeasured = {
    a: { label: a.label, p50: quantile(sa, 0.5), p99: quantile(sa, 0.99), requests: na / rounds },
    b: { label: b.label, p50: quantile(sb, 0.5), p99: quantile(sb, 0.99), requests: nb / rounds },
    r50: quantile(sa, 0.5) / quantile(sb, 0.5),
    r99: quantile(sa, 0.99) / quantile(sb, 0.99),
    paired: quantile(paired, 0.5),
    rounds,
    warmup,
  };
  const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  say(`  A p50 ${us(m.a.p50)}, p99 ${us(m.a.p99)}, ${m.a.requests.toFixed(2)} requests/call`);
  say(`  B p50 ${us(m.b.p50)}, p99 ${us(m.b.p99)}, ${m.b.requests.toFixed(2)} requests/call`);
  say(`  A ÷ B: p50 ×${m.r50.toFixed(3)}, p99 ×${m.r99.toFixed(3)}, median of paired rounds ×${m.paired.toFixed(3)}`);
  return m;
}
