import { createHistogram, hdrCurve, summarize, type Histogram, type LatencySummary, type PercentileCurve } from './histogram.js';
import { addIntervals, latencyOverTime, type IntervalHistograms, type LatencyInterval } from './latency-intervals.js';
import type { Validity } from './validity.js';

/**
 * What the report draws for one step of a scenario (a direct rate, a fan-out group size): the
 * latency distributions, latency per second and CPU per process. An INVALID step keeps only its
 * label and validity: its figures are no measurement, so there is nothing to plot.
 */
export interface StepSeries {
  /** The step as the reader knows it: "1000/s", "im 100 members". */
  label: string;
  validity: Validity | null;
  sendToAck: StepLatency;
  sendToDelivery: StepLatency;
  overTime: LatencyInterval[];
  /** Cores used by each process over the step (CpuMeter names, `machine:busy`/`machine:other` included). */
  cpu: Record<string, number>;
  /** The throughput-over-time phases (Progress) the step ran as: an INVALID step's are blanked there too. */
  phases: string[];
}

export interface StepLatency {
  summary: LatencySummary;
  /** [percentile, ms] for the HDR percentile plot (hdrCurve). */
  curve: PercentileCurve;
}

/** The PhaseSummary parts a step is made of (a step can span several collects). */
export interface CollectedPhase {
  ackHistogram: Histogram;
  deliveryHistogram: Histogram;
  intervals: IntervalHistograms;
}

const nothing = (): StepLatency => ({ summary: summarize(createHistogram()), curve: [] });

/** Adds the collects of one step, then gives its series. */
export class StepRecorder {
  private readonly ack = createHistogram();
  private readonly delivery = createHistogram();
  private readonly intervals: IntervalHistograms = new Map();

  add(phase: CollectedPhase): this {
    this.ack.add(phase.ackHistogram);
    this.delivery.add(phase.deliveryHistogram);
    addIntervals(this.intervals, phase.intervals);
    return this;
  }

  series(label: string, validity: Validity | null, cpu: Record<string, number>, phases: string[]): StepSeries {
    if (validity && !validity.valid) return { label, validity, sendToAck: nothing(), sendToDelivery: nothing(), overTime: [], cpu: {}, phases };
    return {
      label,
      validity,
      sendToAck: { summary: summarize(this.ack), curve: hdrCurve(this.ack) },
      sendToDelivery: { summary: summarize(this.delivery), curve: hdrCurve(this.delivery) },
      overTime: latencyOverTime(this.intervals),
      cpu,
      phases,
    };
  }
}

/** True when the step's figures may be plotted and tabulated as a measurement. */
export const measured = (s: StepSeries): boolean => !s.validity || s.validity.valid;
