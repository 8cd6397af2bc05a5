import { describe, expect, it } from 'vitest';
import { createHistogram, encodeHistogram, mergeEncoded, percentileCurve, recordMs, summarize } from './histogram.js';

describe('histograms', () => {
  it('merges encoded histograms from several workers into the same distribution', () => {
    const a = createHistogram();
    const b = createHistogram();
    for (let i = 1; i <= 900; i++) recordMs(a, 1);
    for (let i = 1; i <= 100; i++) recordMs(b, 100);
    const merged = mergeEncoded([encodeHistogram(a), encodeHistogram(b)]);
    const s = summarize(merged);
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(1, 1);
    expect(s.p90).toBeCloseTo(1, 1);
    expect(s.p99).toBeCloseTo(100, 0);
    expect(s.max).toBeCloseTo(100, 0);
  });

  it('keeps sub-millisecond resolution and clamps negative latencies to zero', () => {
    const h = createHistogram();
    recordMs(h, 0.25);
    recordMs(h, -3);
    expect(summarize(h).max).toBeCloseTo(0.25, 3);
    expect(summarize(h).count).toBe(2);
  });

  it('summarizes an empty histogram as zeros and gives an empty curve', () => {
    expect(summarize(createHistogram()).p99).toBe(0);
    expect(percentileCurve(createHistogram())).toEqual([]);
  });

  it('gives a non-decreasing percentile curve ending at the maximum', () => {
    const h = createHistogram();
    for (let i = 1; i <= 10_000; i++) recordMs(h, i / 100);
    const curve = percentileCurve(h);
    for (let i = 1; i < curve.length; i++) expect(curve[i]![1]).toBeGreaterThanOrEqual(curve[i - 1]![1]);
    expect(curve.at(-1)![0]).toBe(100);
    expect(curve.at(-1)![1]).toBeGreaterThanOrEqual(summarize(h).max);
  });
});
