import type { LatencyInterval } from '../latency-intervals.js';
import { measured, type StepSeries } from '../step-series.js';
import { cpuByProcess } from './cpu.js';
import { imAhead, type CpuRow, type PeerRow } from './step-tables.js';
import { escapeXml, lineChart, nines, PERCENTILE_TICKS, ratioChart, stackedBarChart, type Series } from './svg.js';

/**
 * The report's per-step charts as inline SVG: the HDR percentile plot, latency per second and
 * CPU per process stacked. An INVALID step is drawn as such (a red box, an INVALID bar) and
 * none of its figures are plotted.
 */
const countLabel = (name: string, s: StepSeries['sendToAck']): string => `${name} (n=${s.summary.count}, max ${s.summary.max} ms)`;

/** Latency against percentile on the 1/(1-p) axis (90, 99, 99.9 evenly spaced), send→ack and send→delivery. */
export function hdrChart(step: StepSeries): string {
  const series: Series[] = [
    { label: countLabel('send→ack', step.sendToAck), points: step.sendToAck.curve, dashed: true },
    { label: countLabel('send→delivery', step.sendToDelivery), points: step.sendToDelivery.curve },
  ].filter((s) => s.points.length > 0);
  const top = Math.max(0, ...series.flatMap((s) => s.points.map(([p]) => p)));
  // Only ticks the curves reach: a tick past the last resolved percentile would stretch the axis.
  const xTicks = PERCENTILE_TICKS.filter((t) => nines(t) <= nines(top) + 1e-9);
  return lineChart(series, { title: `${step.label}: latency by percentile`, xLabel: 'percentile (1/(1-p) axis)', yLabel: 'ms', xTransform: nines, xTicks });
}

const at = (overTime: readonly LatencyInterval[], kind: 'ack' | 'delivery', q: 'p50' | 'p99'): [number, number][] => overTime.map((i) => [i.t, i[kind]?.[q] ?? Number.NaN]);

/** Per-second p50 and p99 of both latencies through the step; a second without samples is a gap. */
export function overTimeChart(step: StepSeries): string {
  const series: Series[] = [
    { label: 'send→ack p50', points: at(step.overTime, 'ack', 'p50'), dashed: true },
    { label: 'send→ack p99', points: at(step.overTime, 'ack', 'p99'), dashed: true },
    { label: 'send→delivery p50', points: at(step.overTime, 'delivery', 'p50') },
    { label: 'send→delivery p99', points: at(step.overTime, 'delivery', 'p99') },
  ];
  return lineChart(series, { title: `${step.label}: latency per second`, xLabel: 'seconds into the step (by arrival)', yLabel: 'ms (log)', logY: true });
}

/** CPU per process, one stacked bar per step (and the whole scenario); INVALID steps as empty red bars. */
export function cpuChart(scenario: string, rows: readonly CpuRow[]): string {
  const bars = rows.map((r) => ({ label: r.label, segments: r.cpu ? cpuByProcess(r.cpu).map((p) => ({ name: p.name, value: p.cores })) : null }));
  return stackedBarChart(bars, { title: `${scenario}: CPU per process`, yLabel: 'cores' });
}

/** One step's charts, or for an INVALID step the reasons in their place. */
export function stepCard(step: StepSeries): string {
  if (!measured(step)) {
    return `<div class="step invalid-step"><h4>${escapeXml(step.label)}: INVALID</h4><p class="invalid">not a measurement, nothing plotted: ${escapeXml(step.validity?.reasons.join('; ') ?? '')}</p></div>`;
  }
  return `<div class="step"><h4>${escapeXml(step.label)}</h4>${hdrChart(step)}${overTimeChart(step)}</div>`;
}

/** IM ÷ Centrifugo per figure: green where the platform is ahead, red where it is behind, the reason where there is no ratio. */
export function peerChart(rows: readonly PeerRow[]): string {
  const bars = rows.map((r) => ({ label: `${r.figure} (${r.better} is better)`, ratio: r.ratio, good: imAhead(r), note: r.why }));
  return ratioChart(bars, { title: 'IM ÷ Centrifugo (log axis; green: the platform ahead)' });
}
