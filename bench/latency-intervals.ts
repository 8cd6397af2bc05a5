import { createHistogram, decodeHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.js';

/**
 * Latency over time within a step: one pair of histograms (send→ack, send→delivery) per
 * wall-clock second in which the answer arrived. Workers ship them encoded; the parent adds the
 * same second of every worker and of every collect (a burst is collected several times while it
 * drains) before taking percentiles, which do not add.
 */
export type LatencyKind = 'ack' | 'delivery';

/** One second of one worker, as shipped over IPC. `t`: epoch second. */
export interface EncodedInterval {
  t: number;
  ack: string;
  delivery: string;
}

/** Histograms by epoch second. */
export type IntervalHistograms = Map<number, Record<LatencyKind, Histogram>>;

/** The worker's side: records into the current second's histograms; `take` ships and resets. */
export class IntervalRecorder {
  private intervals: IntervalHistograms = new Map();

  record(kind: LatencyKind, atMs: number, latencyMs: number): void {
    const t = Math.floor(atMs / 1000);
    let h = this.intervals.get(t);
    if (!h) this.intervals.set(t, (h = { ack: createHistogram(), delivery: createHistogram() }));
    recordMs(h[kind], latencyMs);
  }

  take(): EncodedInterval[] {
    const out = [...this.intervals].map(([t, h]) => ({ t, ack: encodeHistogram(h.ack), delivery: encodeHistogram(h.delivery) }));
    this.intervals = new Map();
    return out;
  }
}

/** Adds encoded seconds (from workers) into `into`, second by second. */
export function addEncodedIntervals(into: IntervalHistograms, encoded: readonly EncodedInterval[]): IntervalHistograms {
  for (const e of encoded) addInterval(into, e.t, { ack: decodeHistogram(e.ack), delivery: decodeHistogram(e.delivery) });
  return into;
}

/** Adds decoded seconds (another collect of the same step) into `into`. */
export function addIntervals(into: IntervalHistograms, from: IntervalHistograms): IntervalHistograms {
  for (const [t, h] of from) addInterval(into, t, h);
  return into;
}

function addInterval(into: IntervalHistograms, t: number, h: Record<LatencyKind, Histogram>): void {
  const mine = into.get(t);
  if (!mine) {
    const fresh = { ack: createHistogram(), delivery: createHistogram() };
    fresh.ack.add(h.ack);
    fresh.delivery.add(h.delivery);
    into.set(t, fresh);
    return;
  }
  mine.ack.add(h.ack);
  mine.delivery.add(h.delivery);
}

/** One second's percentiles of one kind, in ms. */
export interface SecondLatency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** One second of a step: `t` in seconds since the step's first second; null where nothing arrived. */
export interface LatencyInterval {
  t: number;
  ack: SecondLatency | null;
  delivery: SecondLatency | null;
}

const ms = (us: number): number => Math.round(us) / 1000;

function second(h: Histogram): SecondLatency | null {
  if (h.totalCount === 0) return null;
  return { count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) };
}

/** Per-second p50/p99/max, in order, every second from the first to the last (empty seconds kept: a stall shows as a gap). */
export function latencyOverTime(intervals: IntervalHistograms): LatencyInterval[] {
  const seconds = [...intervals.keys()];
  if (seconds.length === 0) return [];
  const first = Math.min(...seconds);
  const last = Math.max(...seconds);
  const out: LatencyInterval[] = [];
  for (let t = first; t <= last; t++) {
    const h = intervals.get(t);
    out.push({ t: t - first, ack: h ? second(h.ack) : null, delivery: h ? second(h.delivery) : null });
  }
  return out;
}
