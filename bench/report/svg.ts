/** Inline SVG line charts: no scripts, no external assets, so the report is one file. */
export interface Series {
  label: string;
  /** A NaN y is a gap: the line stops there and starts again at the next point. */
  points: [number, number][];
  dashed?: boolean;
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
  /** x ranges drawn as INVALID (a red band, labelled) behind the lines: steps whose figures are not plotted. */
  invalidBands?: { from: number; to: number; label: string }[];
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
  const pts = series.flatMap((s) => s.points).filter(([, y]) => !Number.isNaN(y));
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="40"><text x="4" y="24">${escapeXml(o.title)}: no data</text></svg>`;
  // The x range covers the gaps and the INVALID bands too: a blanked step at the end still shows.
  const rawXs = [...series.flatMap((s) => s.points.map(([x]) => x)), ...(o.invalidBands ?? []).flatMap((b) => [b.from, b.to])];
  const xs = rawXs.map(tx);
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
  const xTicks = o.xTicks ?? niceTicks(Math.min(...rawXs), Math.max(...rawXs));
  for (const v of xTicks) {
    const x = sx(v);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/><text x="${x.toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle">${xLabel(v)}</text>`);
  }
  for (const b of o.invalidBands ?? []) {
    const [a, z] = [sx(b.from), sx(b.to)];
    parts.push(`<rect class="invalid-step" x="${a.toFixed(1)}" y="${m.t}" width="${Math.max(2, z - a).toFixed(1)}" height="${H - m.t - m.b}" fill="#fde0e0" stroke="#900" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${((a + z) / 2).toFixed(1)}" y="${H - m.b - 6}" text-anchor="middle" fill="#900" font-weight="bold">${escapeXml(b.label)}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${escapeXml(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    let gap = true;
    const d = s.points
      .map(([x, y]) => {
        if (Number.isNaN(y)) return ((gap = true), '');
        const move = gap ? 'M' : 'L';
        gap = false;
        return `${move}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      })
      .filter(Boolean)
      .join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    // Few points (a short step, a fan-out of a few seconds): marked, so a lone point still shows.
    const shown = s.points.filter(([, y]) => !Number.isNaN(y));
    if (shown.length < 20) for (const [x, y] of shown) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.2" fill="${c}"/>`);
    parts.push(`<rect x="${m.l + 8}" y="${m.t + 4 + i * 14}" width="10" height="3" fill="${c}"/><text x="${m.l + 22}" y="${m.t + 9 + i * 14}">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One bar of a stacked bar chart; `segments: null` is a step that measured nothing (INVALID): drawn as such, no figures. */
export interface StackedBar {
  label: string;
  segments: { name: string; value: number }[] | null;
}

/** Bars of stacked segments (CPU per process per step); a segment name keeps its colour across bars. */
export function stackedBarChart(bars: readonly StackedBar[], o: { title: string; yLabel: string; width?: number; height?: number }): string {
  const names = [...new Set(bars.flatMap((b) => (b.segments ?? []).map((s) => s.name)))];
  const W = o.width ?? Math.max(480, 220 + bars.length * 70);
  const H = o.height ?? 320;
  const m = { l: 56, r: 190, t: 28, b: 52 };
  if (bars.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="40"><text x="4" y="24">${escapeXml(o.title)}: no data</text></svg>`;
  const total = (b: StackedBar): number => (b.segments ?? []).reduce((a, s) => a + s.value, 0);
  const top = Math.max(...bars.map(total)) * 1.1 || 1;
  const sy = (v: number): number => H - m.b - (v / top) * (H - m.t - m.b);
  const band = (W - m.l - m.r) / bars.length;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${(W - m.r + m.l) / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(o.title)}</text>`);
  for (const v of niceTicks(0, top)) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${m.l - 4}" y="${Number(y) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(`<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${escapeXml(o.yLabel)}</text>`);
  bars.forEach((b, i) => {
    const x = m.l + i * band + band * 0.2;
    const w = band * 0.6;
    const cx = (x + w / 2).toFixed(1);
    parts.push(`<text x="${cx}" y="${H - m.b + 14}" text-anchor="middle">${escapeXml(b.label)}</text>`);
    if (!b.segments) {
      parts.push(`<rect class="invalid-step" x="${x.toFixed(1)}" y="${m.t}" width="${w.toFixed(1)}" height="${H - m.t - m.b}" fill="#fde0e0" stroke="#900" stroke-dasharray="4 3"/>`);
      parts.push(`<text x="${cx}" y="${(m.t + H - m.b) / 2}" text-anchor="middle" fill="#900" font-weight="bold" transform="rotate(-90 ${cx} ${(m.t + H - m.b) / 2})">INVALID: not measured</text>`);
      return;
    }
    let acc = 0;
    for (const s of b.segments) {
      if (!(s.value > 0)) continue;
      const c = COLORS[names.indexOf(s.name) % COLORS.length]!;
      parts.push(`<rect x="${x.toFixed(1)}" y="${sy(acc + s.value).toFixed(1)}" width="${w.toFixed(1)}" height="${(sy(acc) - sy(acc + s.value)).toFixed(1)}" fill="${c}"><title>${escapeXml(`${b.label}: ${s.name} ${s.value}`)}</title></rect>`);
      acc += s.value;
    }
    parts.push(`<text x="${cx}" y="${(sy(acc) - 3).toFixed(1)}" text-anchor="middle">${fmt(acc)}</text>`);
  });
  names.forEach((n, i) => {
    const c = COLORS[i % COLORS.length]!;
    parts.push(`<rect x="${W - m.r + 12}" y="${m.t + i * 15}" width="10" height="10" fill="${c}"/><text x="${W - m.r + 26}" y="${m.t + 9 + i * 15}">${escapeXml(n)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One row of a ratio chart: `good` colours the bar (green when the platform is ahead); no ratio, `note` says why. */
export interface RatioBar {
  label: string;
  ratio: number | null;
  good: boolean | null;
  note: string | null;
}

/** Horizontal bars from ×1 to each ratio on a log axis, so ×0.5 and ×2 are the same length. */
export function ratioChart(bars: readonly RatioBar[], o: { title: string; width?: number }): string {
  // Room for the longest label (about 6 px a character at this font size).
  const m = { l: Math.min(440, 16 + 6.2 * Math.max(0, ...bars.map((b) => b.label.length))), r: 60, t: 30, b: 30 };
  const W = o.width ?? m.l + 460;
  const rowH = 22;
  const H = m.t + m.b + rowH * Math.max(1, bars.length);
  const logs = bars.flatMap((b) => (b.ratio !== null && b.ratio > 0 ? [Math.abs(Math.log10(b.ratio))] : []));
  const decades = Math.max(1, Math.ceil(Math.max(0, ...logs)));
  const sx = (r: number): number => m.l + ((Math.log10(r) + decades) / (2 * decades)) * (W - m.l - m.r);
  const one = sx(1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(o.title)}</text>`);
  for (let k = -decades; k <= decades; k++) {
    const x = sx(10 ** k).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${H - m.b}" stroke="${k === 0 ? '#444' : '#ddd'}"/><text x="${x}" y="${H - m.b + 14}" text-anchor="middle">×${fmt(10 ** k)}</text>`);
  }
  bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    parts.push(`<text x="${m.l - 6}" y="${y + 15}" text-anchor="end">${escapeXml(b.label)}</text>`);
    if (b.ratio === null || !(b.ratio > 0)) {
      parts.push(`<text x="${one + 6}" y="${y + 15}" fill="${b.note?.startsWith('INVALID') ? '#900' : '#777'}" font-style="italic">${escapeXml(b.note ?? 'no ratio')}</text>`);
      return;
    }
    const x = sx(b.ratio);
    const fill = b.good === null ? '#999' : b.good ? '#2ca02c' : '#d62728';
    parts.push(`<rect x="${Math.min(one, x).toFixed(1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x - one)).toFixed(1)}" height="${rowH - 8}" fill="${fill}"/>`);
    parts.push(`<text x="${(x >= one ? x + 4 : x - 4).toFixed(1)}" y="${y + 15}" text-anchor="${x >= one ? 'start' : 'end'}">×${b.ratio}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Percentile axis ticks, labelled exactly. */
export const PERCENTILE_TICKS = [0, 90, 99, 99.9, 99.99, 99.999];

/** Percentile to "nines" (90 -> 1, 99 -> 2, 99.9 -> 3), capped at 5. */
export const nines = (p: number): number => Math.min(5, -Math.log10(Math.max(1e-5, 1 - p / 100)));
