import type { LatencySummary } from '../histogram.js';
import type { StepSeries } from '../step-series.js';
import type { Validity } from '../validity.js';
import type { PeerConnection, PeerFanout, PeerFigures } from './step-tables.js';

/** Known step series for the report's tests (not used by the bench itself). */
export const latency = (p50: number, p99: number, count = 1000): LatencySummary => ({ count, p50, p90: p50 * 2, p99, p999: p99 * 2, max: p99 * 3, mean: p50 });

/** A latency whose curve has `values` at percentiles 0, 90, 99 and 99.9. */
const side = (values: number[], p50: number, p99: number, scale: number): StepSeries['sendToAck'] => ({
  summary: latency(p50 * scale, p99 * scale),
  curve: values.map((v, i) => [[0, 90, 99, 99.9][i]!, v * scale]),
});

export function validStep(label: string, scale = 1): StepSeries {
  return {
    label,
    validity: { valid: true, reasons: [], missingDeliveries: 0 },
    sendToAck: side([0.5, 2, 4, 12], 1, 4, scale),
    sendToDelivery: side([1, 4, 8, 24], 2, 8, scale),
    overTime: [
      { t: 0, ack: { count: 500, p50: 1 * scale, p99: 3 * scale, max: 5 * scale }, delivery: { count: 500, p50: 2 * scale, p99: 6 * scale, max: 9 * scale } },
      { t: 1, ack: null, delivery: null },
      { t: 2, ack: { count: 500, p50: 1.5 * scale, p99: 5 * scale, max: 6 * scale }, delivery: { count: 500, p50: 2.5 * scale, p99: 10 * scale, max: 24 * scale } },
    ],
    cpu: { kafka: 0.4, registry: 0.01, mongo: 0.1, redis: 0.05, 'sut-gateway': 0.3, 'sut-pipeline': 0.6, 'bench-worker-0': 0.1, 'bench-worker-1': 0.15, 'machine:busy': 1.9, 'machine:other': 0.19 },
    phases: [`direct ${label}`],
  };
}

export function invalidStep(label: string): StepSeries {
  const none = { summary: latency(0, 0, 0), curve: [] };
  return { label, validity: { valid: false, reasons: ['only 990 of 1000 sockets open'], missingDeliveries: null }, sendToAck: none, sendToDelivery: none, overTime: [], cpu: {}, phases: [`direct ${label}`] };
}

const ok: Validity = { valid: true, reasons: [], missingDeliveries: 0 };
const bad: Validity = { valid: false, reasons: ['3 sends on sockets that were not open'], missingDeliveries: null };

const conn = (kib: number, rate: number, p99: number): PeerConnection => ({
  rss: { baselineBytes: 0, loadedBytes: 0, perConnectionBytes: kib * 1024 },
  connect: { requested: 100, opened: 100, failed: 0, failures: {}, seconds: 1, ratePerSec: rate, handshake: latency(1, p99) },
  validity: ok,
});
const fan = (members: number, p50: number, max: number, perSec: number, validity = ok): PeerFanout => {
  const last: LatencySummary = { ...latency(p50, max), max };
  return { members, latency: { messages: 5, complete: 5, timeToLastMember: last, sendToDelivery: last }, throughput: { messages: 20, deliveries: 2000, expected: 2000, seconds: 1, deliveriesPerSec: perSec }, validity };
};

/** The platform ahead on memory and the 100-member fan-out, behind on connecting, its 1000-member fan-out INVALID. */
export function peerFigures(): PeerFigures {
  return {
    im: { connections: conn(5, 2000, 40), fanout: [fan(100, 30, 50, 40_000), fan(1000, 90, 140, 17_000, bad)] },
    centrifugo: { connections: conn(30, 4000, 20), fanout: [fan(100, 60, 70, 20_000), fan(1000, 20, 30, 22_000)] },
    ratios: { rssPerConnection: 0.17, connectRate: 0.5, connectP99: 2, 'fanout100.timeToLastP50': 0.5, 'fanout100.timeToLastMax': 0.71, 'fanout100.deliveriesPerSec': 2, 'fanout1000.timeToLastP50': 4.5, 'fanout1000.timeToLastMax': 4.67, 'fanout1000.deliveriesPerSec': 0.77 },
  };
}
