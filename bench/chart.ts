/**
 * The latency chart of BENCHMARKS.md, as a self-contained SVG (no chart service, no fonts to fetch): one row per
 * case, latency ÷ its floor's median on a log axis, a box from p25 to p75, whiskers to p1 and p99, a mark at p50.
 */
import type { Measured } from './measure.js';

const COLORS: Record<Measured['kind'], string> = { floor: '#6b7280', reference: '#9ca3af', leasehold: '#2563eb', peer: '#d97706' };

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function q(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/** An SVG of every group's latency distributions, each case relative to its floor's median. */
export function latencyChart(groups: { title: string; rows: Measured[] }[]): string {
  const width = 960;
  const left = 380;
  const right = 30;
  const rowHeight = 18;
  const min = 0.5;
  const max = 32;
  const x = (ratio: number) =>
    left + ((Math.log(Math.min(max, Math.max(min, ratio))) - Math.log(min)) / (Math.log(max) - Math.log(min))) * (width - left - right);
  const parts: string[] = [];
  let y = 30;
  parts.push(
    `<text x="8" y="18" font-size="12" fill="#111">latency ÷ its floor's median (log scale): box p25–p75, whiskers p1–p99, bar p50; blue leasehold, orange peers, grey floors</text>`,
  );
  for (const group of groups) {
    y += 14;
    parts.push(`<text x="8" y="${y}" font-size="13" font-weight="bold" fill="#111">${escapeXml(group.title)}</text>`);
    y += 8;
    const top = y;
    const byLabel = new Map(group.rows.map((r) => [r.label, r]));
    for (const row of group.rows) {
      const f = byLabel.get(row.floor) ?? row;
      const s = row.samples.map((v) => v / f.p50);
      const mid = y + rowHeight / 2;
      const color = COLORS[row.kind];
      parts.push(`<text x="${left - 8}" y="${mid + 4}" font-size="11" text-anchor="end" fill="#111">${escapeXml(row.label)}</text>`);
      parts.push(`<line x1="${x(q(s, 0.01))}" x2="${x(q(s, 0.99))}" y1="${mid}" y2="${mid}" stroke="${color}" stroke-width="1"/>`);
      parts.push(
        `<rect x="${x(q(s, 0.25))}" y="${mid - 5}" width="${Math.max(1, x(q(s, 0.75)) - x(q(s, 0.25)))}" height="10" fill="${color}" fill-opacity="0.35" stroke="${color}"/>`,
      );
      parts.push(`<line x1="${x(q(s, 0.5))}" x2="${x(q(s, 0.5))}" y1="${mid - 7}" y2="${mid + 7}" stroke="${color}" stroke-width="2.5"/>`);
      y += rowHeight;
    }
    for (const tick of [0.5, 1, 1.1, 1.3, 2, 4, 8, 16, 32]) {
      parts.push(
        `<line x1="${x(tick)}" x2="${x(tick)}" y1="${top}" y2="${y}" stroke="#d1d5db" stroke-dasharray="${tick === 1 ? '' : '3,3'}"/><text x="${x(tick)}" y="${y + 12}" font-size="10" text-anchor="middle" fill="#374151">×${tick}</text>`,
      );
    }
    y += 20;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" viewBox="0 0 ${width} ${y + 10}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}
