/** Inline SVG line charts: no scripts, no external assets, so the report is one file. */
export interface Series {
  label: string;
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Maps x for placement (e.g. percentile to "nines"); ticks are labelled with the raw x. */
  xTransform?: (x: number) => number;
  xTicks?: number[];
  logY?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const step0 = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number): string => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toPrecision(3)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toPrecision(3)}k` : String(Number(v.toPrecision(3))));

export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 320;
  const m = { l: 64, r: 16, t: 28, b: 44 };
  const tx = o.xTransform ?? ((x: number) => x);
  const ty = o.logY ? (y: number) => Math.log10(Math.max(y, 1e-3)) : (y: number) => y;
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="40"><text x="4" y="24">${escapeXml(o.title)}: no data</text></svg>`;
  const xs = pts.map(([x]) => tx(x));
  const ys = pts.map(([, y]) => ty(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y0 = o.logY ? Math.floor(Math.min(...ys)) : Math.min(0, ...ys);
  const y1 = o.logY ? Math.ceil(Math.max(...ys)) : Math.max(...ys) * 1.05 || 1;
  const sx = (x: number): number => m.l + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((ty(y) - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(o.title)}</text>`);
  const yTicks = o.logY ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i)) : niceTicks(y0, y1);
  for (const v of yTicks) {
    const y = sy(v);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/><text x="${m.l - 4}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  // Explicit ticks (percentiles) are labelled exactly: 99.99 must not round to 100.
  const xLabel = o.xTicks ? (v: number) => String(v) : fmt;
  const xTicks = o.xTicks ?? niceTicks(Math.min(...pts.map(([x]) => x)), Math.max(...pts.map(([x]) => x)));
  for (const v of xTicks) {
    const x = sx(v);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/><text x="${x.toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle">${xLabel(v)}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${escapeXml(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.6"/>`);
    parts.push(`<rect x="${m.l + 8}" y="${m.t + 4 + i * 14}" width="10" height="3" fill="${c}"/><text x="${m.l + 22}" y="${m.t + 9 + i * 14}">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Percentile to "nines" (90 -> 1, 99 -> 2, 99.9 -> 3), capped at 5. */
export const nines = (p: number): number => Math.min(5, -Math.log10(Math.max(1e-5, 1 - p / 100)));
