import { describe, expect, it } from 'vitest';
import { createHistogram, encodeHistogram, hdrCurve, mergeEncoded, percentileCurve, recordMs, summarize } from './histogram.js';

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

describe('the HDR percentile plot', () => {
  it('spaces points evenly on the 1/(1-p) axis up to the percentile the count resolves, then the maximum', () => {
    const h = createHistogram();
    for (let i = 1; i <= 1000; i++) recordMs(h, i);
    const curve = hdrCurve(h);
    // 10 points per decade of 1/(1-p) for 3 decades (1000 samples), then p99.9 carries the max.
    expect(curve).toHaveLength(31);
    expect(curve[0]).toEqual([0, 1]);
    expect(curve[10]![0]).toBeCloseTo(90, 6);
    expect(curve[10]![1]).toBeCloseTo(900, -1);
    expect(curve[20]![0]).toBeCloseTo(99, 6);
    expect(curve.at(-1)).toEqual([99.9, 1000]);
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i]![0]).toBeGreaterThan(curve[i - 1]![0]);
      expect(curve[i]![1]).toBeGreaterThanOrEqual(curve[i - 1]![1]);
    }
  });

  it('stops at five nines when the count resolves more, and has no points for an empty histogram', () => {
    const h = createHistogram();
    for (let i = 0; i < 200_000; i++) recordMs(h, 1 + (i % 100));
    const curve = hdrCurve(h);
    expect(curve.at(-1)![0]).toBe(99.999);
    expect(curve).toHaveLength(51);
    expect(hdrCurve(createHistogram())).toEqual([]);
  });
});
