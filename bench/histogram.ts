import * as hdr from 'hdr-histogram-js';

/** HDR histograms in microseconds (3 significant digits), shipped between processes as compressed base64. */
export type Histogram = hdr.Histogram;

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** [percentile, milliseconds] points for the percentile curve. */
export type PercentileCurve = [number, number][];

const CURVE_PERCENTILES = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];

export function createHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a latency given in milliseconds (fractions kept to the microsecond; negatives clamp to 0). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(0, Math.round(ms * 1000)));
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded);
}

/** Sums encoded histograms from several workers into one. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const total = createHistogram();
  for (const e of encoded) total.add(decodeHistogram(e));
  return total;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: Math.round(h.mean) / 1000,
  };
}

/**
 * The HDR percentile plot's points: `perDecade` per decade of 1/(1-p) (90, 99, 99.9 ... are
 * evenly spaced on that axis), up to the last percentile the count resolves (at most `maxNines`),
 * then the maximum when the count reaches it. [percentile, ms].
 */
export function hdrCurve(h: Histogram, perDecade = 10, maxNines = 5): PercentileCurve {
  if (h.totalCount === 0) return [];
  const resolved = Math.log10(h.totalCount);
  const top = Math.min(maxNines, resolved);
  const out: PercentileCurve = [];
  for (let i = 0; i < top * perDecade - 1e-9; i++) {
    const p = 100 * (1 - 10 ** (-i / perDecade));
    out.push([Number(p.toFixed(6)), ms(h.getValueAtPercentile(p))]);
  }
  const last = 100 * (1 - 10 ** -top);
  out.push([Number(last.toFixed(6)), resolved <= maxNines ? ms(h.maxValue) : ms(h.getValueAtPercentile(last))]);
  return out;
}

export function percentileCurve(h: Histogram): PercentileCurve {
  if (h.totalCount === 0) return [];
  // Highest equivalent values throughout, so the curve never decreases at its end.
  return CURVE_PERCENTILES.map((p) => [p, ms(h.getValueAtPercentile(p))]);
}
