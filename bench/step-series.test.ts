import { describe, expect, it } from 'vitest';
import { createHistogram, recordMs } from './histogram.js';
import { addEncodedIntervals, IntervalRecorder } from './latency-intervals.js';
import { measured, StepRecorder, type CollectedPhase } from './step-series.js';

/** A collect with `n` acks and deliveries of `ms`, arriving in epoch second `second`. */
function phase(n: number, ms: number, second: number): CollectedPhase {
  const ack = createHistogram();
  const delivery = createHistogram();
  const r = new IntervalRecorder();
  for (let i = 0; i < n; i++) {
    recordMs(ack, ms / 2);
    recordMs(delivery, ms);
    r.record('ack', second * 1000, ms / 2);
    r.record('delivery', second * 1000, ms);
  }
  return { ackHistogram: ack, deliveryHistogram: delivery, intervals: addEncodedIntervals(new Map(), r.take()) };
}

const valid = { valid: true, reasons: [], missingDeliveries: 0 };

describe('a step series', () => {
  it('adds the collects of one step: counts, percentiles, curves and seconds of both', () => {
    const s = new StepRecorder().add(phase(90, 1, 100)).add(phase(10, 2, 101)).series('im 100 members', valid, { kafka: 0.5 }, ['fanout:im 100 latency', 'fanout:im 100 burst']);
    expect(s.label).toBe('im 100 members');
    expect(s.sendToDelivery.summary).toMatchObject({ count: 100, p50: 1, p99: 2, max: 2 });
    expect(s.sendToAck.summary).toMatchObject({ count: 100, p50: 0.5, max: 1 });
    expect(s.sendToDelivery.curve[0]).toEqual([0, 1]);
    expect(s.sendToDelivery.curve.at(-1)).toEqual([99, 2]);
    expect(s.overTime.map((i) => [i.t, i.delivery?.count])).toEqual([
      [0, 90],
      [1, 10],
    ]);
    expect(s.cpu).toEqual({ kafka: 0.5 });
    expect(s.phases).toEqual(['fanout:im 100 latency', 'fanout:im 100 burst']);
    expect(measured(s)).toBe(true);
  });

  it('keeps none of an INVALID step\'s figures: no curve, no seconds, no CPU', () => {
    const invalid = { valid: false, reasons: ['only 3 of 4 sockets open'], missingDeliveries: null };
    const s = new StepRecorder().add(phase(10, 1, 5)).series('1000/s', invalid, { kafka: 0.5 }, ['direct 1000/s']);
    expect(measured(s)).toBe(false);
    expect(s.sendToAck.curve).toEqual([]);
    expect(s.sendToDelivery.curve).toEqual([]);
    expect(s.sendToDelivery.summary.count).toBe(0);
    expect(s.overTime).toEqual([]);
    expect(s.cpu).toEqual({});
    expect(s.validity?.reasons).toEqual(['only 3 of 4 sockets open']);
    // Its phases stay known, so the throughput chart can blank them too.
    expect(s.phases).toEqual(['direct 1000/s']);
  });
});
