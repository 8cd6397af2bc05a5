import type { BenchResult } from '../results.js';
import { measured } from '../step-series.js';
import { invalidSteps } from '../validity.js';
import { cpuChart, peerChart, stepCard } from './step-charts.js';
import { cpuRows, peerRows, TABLE_TITLES, type PeerFigures } from './step-tables.js';
import { escapeXml, lineChart, nines, PERCENTILE_TICKS, type Series } from './svg.js';

/** Numeric leaves of a figures object as dotted paths (arrays by index or by `rate`/`members`). */
export function flattenFigures(value: unknown, prefix = ''): [string, number][] {
  if (typeof value === 'number') return [[prefix, value]];
  if (Array.isArray(value)) {
    return value.flatMap((v, i) => {
      const o = v as Record<string, unknown> | null;
      const key = o && typeof o === 'object' ? (o.rate ?? o.members ?? o.target ?? i) : i;
      const name = o && typeof o === 'object' && 'target' in o && 'members' in o ? `${String(o.target)}${String(o.members)}` : String(key);
      return flattenFigures(v, prefix ? `${prefix}[${name}]` : `[${name}]`);
    });
  }
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flattenFigures(v, prefix ? `${prefix}.${k}` : k));
  }
  return [];
}

/** The throughput phases of INVALID steps, blanked in the chart, and the time each spans (a point is the second before its t). */
export function invalidPhases(r: Pick<BenchResult, 'series'>): { blanked: Set<string>; bands: { from: number; to: number; label: string }[] } {
  const blanked = new Set<string>();
  const bands: { from: number; to: number; label: string }[] = [];
  for (const s of (r.series.steps ?? []).filter((x) => !measured(x))) {
    const ts = r.series.throughput.filter((p) => s.phases.includes(p.phase)).map((p) => p.t);
    for (const p of s.phases) blanked.add(p);
    if (ts.length > 0) bands.push({ from: Math.min(...ts) - 1, to: Math.max(...ts), label: `${s.label} INVALID` });
  }
  return { blanked, bands };
}

function charts(r: BenchResult): string[] {
  const out: string[] = [];
  if (r.series.latency.length > 0) {
    const series: Series[] = r.series.latency.map((l) => ({ label: l.label, points: l.curve.filter(([p]) => p < 100) }));
    out.push(lineChart(series, { title: `${r.scenario}: latency by percentile`, xLabel: 'percentile', yLabel: 'ms (log)', xTransform: nines, xTicks: PERCENTILE_TICKS, logY: true }));
  }
  const phases = [...new Set(r.series.throughput.map((p) => p.phase))];
  if (r.series.throughput.length > 1) {
    const { blanked, bands } = invalidPhases(r);
    const pick = (k: 'sent' | 'delivered' | 'open'): Series => ({ label: k === 'open' ? 'open connections' : `${k}/s`, points: r.series.throughput.map((p) => [p.t, blanked.has(p.phase) ? Number.NaN : p[k]]) });
    const kinds = r.scenario === 'connections' ? [pick('open')] : [pick('sent'), pick('delivered')];
    out.push(lineChart(kinds, { title: `${r.scenario}: throughput over time (${phases.length} phases)`, xLabel: 'seconds', yLabel: r.scenario === 'connections' ? 'connections' : 'per second', invalidBands: bands }));
  }
  if (r.series.memory.length > 1) {
    const targets = [...new Set(r.series.memory.map((m) => m.target))];
    const series = targets.map((t) => ({ label: `${t} RSS`, points: r.series.memory.filter((m) => m.target === t).map((m) => [m.connections, m.rssBytes / 2 ** 20] as [number, number]) }));
    out.push(lineChart(series, { title: 'server memory against connections', xLabel: 'connections', yLabel: 'RSS MiB' }));
  }
  return out;
}

/** A verdict cell is coloured, so a table's passes and failures show at a glance. */
function verdictClass(text: string): string | null {
  const t = text.trim().replace(/^\*\*(.*)\*\*$/, '$1');
  if (t === 'GOAL' || t === 'PASS') return 'pass';
  if (t === 'FAIL' || t.startsWith('INVALID')) return 'fail';
  if (t === 'NOT MEASURED') return 'unmeasured';
  return null;
}

/** A report table's markdown lines as HTML: `|` rows make a table (the first its head), `**x**` is a winner, other lines paragraphs. */
export function markdownTable(lines: readonly string[]): string {
  const cell = (text: string): string => escapeXml(text.trim()).replace(/\*\*(.+?)\*\*/g, '<b>$1</b>');
  const td = (text: string): string => {
    const v = verdictClass(text);
    return v ? `<td class="${v}">${cell(text)}</td>` : `<td>${cell(text)}</td>`;
  };
  const out: string[] = [];
  let rows: string[][] = [];
  const flush = (): void => {
    if (rows.length === 0) return;
    const [head, ...body] = rows;
    out.push(`<table><tr>${head!.map((c) => `<th>${cell(c)}</th>`).join('')}</tr>${body.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('')}</table>`);
    rows = [];
  };
  for (const line of lines) {
    if (line.startsWith('|')) {
      const cells = line.replace(/^\|/, '').replace(/\|$/, '').split('|');
      if (!cells.every((c) => /^\s*:?-+:?\s*$/.test(c))) rows.push(cells);
      continue;
    }
    flush();
    if (line.trim()) out.push(`<p>${cell(line.replace(/^- /, ''))}</p>`);
  }
  flush();
  return out.join('\n');
}

/** Per step: the HDR plot and latency per second (or why a step is not plotted), and CPU per process stacked. */
function stepSection(r: BenchResult): string {
  const steps = r.series.steps ?? [];
  const rows = cpuRows(steps, r.figures.cpuScenario as Record<string, number> | undefined);
  if (steps.length === 0 && rows.length === 0) return '';
  return `<h3>per step</h3>
<div class="charts">${steps.map(stepCard).join('\n')}</div>
${rows.length > 0 ? `<div class="charts">${cpuChart(r.scenario, rows)}</div>` : ''}`;
}

/** The top of the page: what a reader judges first (targets, the peer, invalid steps), copied from the sections below. */
function atAGlance(results: readonly BenchResult[]): string {
  const tables = results.flatMap((r) => (r.tables ?? []).filter((t) => t.title.startsWith("issue 8's targets") || t.title === TABLE_TITLES.peer).map((t) => ({ scenario: r.scenario, t })));
  const invalid = results.flatMap((r) => invalidSteps(r.figures).map((s) => `${r.scenario} ${s}`));
  const steps = results.reduce((n, r) => n + (r.series.steps?.length ?? 0), 0);
  const verdict = invalid.length
    ? `<p class="invalid">${invalid.length} INVALID step(s), not measurements (not plotted):<br>${invalid.map(escapeXml).join('<br>')}</p>`
    : `<p class="valid">no INVALID step: every checked step (${steps} charted) had all its connections open and every message accounted for</p>`;
  const peer = results.map(peerFigures).find((f) => f !== null);
  return `<section><h2>at a glance</h2>${verdict}
${tables.map(({ scenario, t }) => `<h3>${escapeXml(scenario)}: ${escapeXml(t.title)}</h3>\n${markdownTable(t.lines)}`).join('\n')}
${peer ? `<div class="charts">${peerChart(peerRows(peer))}</div>` : ''}</section>`;
}

/** The peer scenario's figures when it measured both sides (bench/scenarios/peer.ts writes them). */
function peerFigures(r: BenchResult): PeerFigures | null {
  const f = r.figures;
  return r.scenario === 'peer' && !f.failed && f.im && f.centrifugo && f.ratios ? (f as unknown as PeerFigures) : null;
}

function section(r: BenchResult): string {
  const figures = flattenFigures(r.figures).filter(([k]) => !/\.(before|after)\./.test(k) && !k.includes('series'));
  const rows = figures.map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${Number.isInteger(v) ? v : v.toFixed(3)}</td></tr>`).join('');
  const invalid = invalidSteps(r.figures);
  const banner = invalid.length ? `<p class="invalid">INVALID, not measurements: ${invalid.map(escapeXml).join('<br>')}</p>` : '';
  return `<section><h2>${escapeXml(r.scenario)}</h2>
${banner}
<p>${escapeXml(r.startedAt)} · ${r.durationSec.toFixed(0)} s · commit ${escapeXml(r.git.commit.slice(0, 10))}${r.git.dirty ? ' (dirty)' : ''}</p>
${r.notes.map((n) => `<p class="note">${escapeXml(n)}</p>`).join('')}
${(r.tables ?? []).map((t) => `<h3>${escapeXml(t.title)}</h3>\n${markdownTable(t.lines)}`).join('\n')}
${stepSection(r)}
<div class="charts">${charts(r).join('\n')}</div>
<details><summary>figures (${figures.length})</summary><table>${rows}</table></details>
<details><summary>configuration</summary><pre>${escapeXml(JSON.stringify(r.configuration, null, 2))}</pre></details>
</section>`;
}

/** One self-contained HTML page for the results of a run. */
export function renderReport(results: readonly BenchResult[], summary: string): string {
  const first = results[0];
  const head = first
    ? `<p>machine: ${first.machine.cpus} × ${escapeXml(first.machine.cpuModel)}, ${(first.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, kernel ${escapeXml(first.machine.kernel)}</p>
<p>versions: ${escapeXml(Object.entries(first.versions).map(([k, v]) => `${k} ${v}`).join(', '))}</p>
<p>command: <code>${escapeXml(first.command)}</code></p>`
    : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>IM platform bench</title>
<style>body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:12px}.note{background:#fff7e0;padding:4px}.invalid{background:#fde0e0;color:#900;font-weight:bold;padding:4px}.valid{background:#e0f4e0;padding:4px}td.pass{background:#d8f0d8;font-weight:bold}td.fail{background:#fde0e0;color:#900;font-weight:bold}td.unmeasured{background:#eee;color:#555}.step{border:1px solid #ddd;padding:4px}.step h4{margin:2px 4px}pre{background:#f4f4f4;padding:6px;overflow:auto}</style>
</head><body><h1>IM platform bench</h1>${head}
${atAGlance(results)}
<h2>summary</h2><pre>${escapeXml(summary)}</pre>
${results.map(section).join('\n')}
</body></html>`;
}
