import { describe, expect, it } from 'vitest';
import { addEncodedIntervals, addIntervals, IntervalRecorder, latencyOverTime } from './latency-intervals.js';

describe('latency per second', () => {
  it('adds the same second of several workers before taking percentiles, and keeps an empty second as a gap', () => {
    const a = new IntervalRecorder();
    const b = new IntervalRecorder();
    // Second 1000: worker a has 98 fast deliveries, worker b two slow ones; second 1002: one ack.
    // (Values under 2.048 ms are exact in a 3-digit µs histogram.)
    for (let i = 0; i < 98; i++) a.record('delivery', 1_000_100, 0.5);
    b.record('delivery', 1_000_900, 1.9);
    b.record('delivery', 1_000_999, 2);
    a.record('ack', 1_002_000, 1.25);
    const merged = addEncodedIntervals(new Map(), [...a.take(), ...b.take()]);
    expect(latencyOverTime(merged)).toEqual([
      { t: 0, ack: null, delivery: { count: 100, p50: 0.5, p99: 1.9, max: 2 } },
      { t: 1, ack: null, delivery: null },
      { t: 2, ack: { count: 1, p50: 1.25, p99: 1.25, max: 1.25 }, delivery: null },
    ]);
  });

  it('ships each second once: take resets the recorder', () => {
    const r = new IntervalRecorder();
    r.record('ack', 5000, 1);
    expect(r.take()).toHaveLength(1);
    expect(r.take()).toEqual([]);
    expect(latencyOverTime(new Map())).toEqual([]);
  });

  it('adds a second collected twice (a burst collected while it drains) into one', () => {
    const first = new IntervalRecorder();
    const second = new IntervalRecorder();
    first.record('delivery', 10_000, 1);
    second.record('delivery', 10_500, 100);
    const total = addIntervals(addEncodedIntervals(new Map(), first.take()), addEncodedIntervals(new Map(), second.take()));
    const [only] = latencyOverTime(total);
    expect(only?.delivery?.count).toBe(2);
    expect(only?.delivery?.max).toBeCloseTo(100, 0);
  });
});
