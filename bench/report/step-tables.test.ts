import { describe, expect, it } from 'vitest';
import type { LatencySummary } from '../histogram.js';
import type { Validity } from '../validity.js';
import { cpuByProcess } from './cpu.js';
import { cpuRows, cpuTable, intervalTable, peerTable, percentileTable, stepTables, TABLE_TITLES, type PeerConnection, type PeerFanout } from './step-tables.js';
import { invalidStep, latency, validStep } from './test-fixtures.js';

const ok: Validity = { valid: true, reasons: [], missingDeliveries: 0 };
const bad: Validity = { valid: false, reasons: ['3 sends on sockets that were not open'], missingDeliveries: null };

describe('the per-step markdown tables', () => {
  it('gives each valid step a row per latency and an INVALID step one row with its reasons and no figures', () => {
    expect(percentileTable([validStep('500/s'), invalidStep('1000/s')])).toEqual([
      '| step | latency | count | p50 | p90 | p99 | p99.9 | max |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      '| 500/s | send→ack | 1000 | 1 | 2 | 4 | 8 | 12 |',
      '| 500/s | send→delivery | 1000 | 2 | 4 | 8 | 16 | 24 |',
      '| 1000/s | INVALID (only 990 of 1000 sockets open) | — | — | — | — | — | — |',
    ]);
  });

  it('summarises the seconds of a step: how many had samples, the spread of p50 and p99, the worst second', () => {
    const lines = intervalTable([validStep('500/s'), invalidStep('1000/s')]);
    expect(lines[2]).toBe('| 500/s | send→ack | 2 of 3 | 1 / 1.25 / 1.5 | 3 / 4 / 5 | 5 at 2 s (500 samples) |');
    expect(lines[3]).toBe('| 500/s | send→delivery | 2 of 3 | 2 / 2.25 / 2.5 | 6 / 8 / 10 | 10 at 2 s (500 samples) |');
    expect(lines[4]).toBe('| 1000/s | INVALID (only 990 of 1000 sockets open) | — | — | — | — |');
  });

  it('names CPU by role, sums the generator workers, keeps one column order across steps, and marks INVALID steps', () => {
    expect(cpuByProcess({ 'bench-worker-1': 0.2, 'sut-pipeline': 0.5, redis: 0.1, kafka: 0.3, 'bench-worker-0': 0.1, 'machine:busy': 1.5, 'machine:other': 0.3 })).toEqual([
      { name: 'broker (Kafka)', cores: 0.3 },
      { name: 'Redis', cores: 0.1 },
      { name: 'sut-pipeline', cores: 0.5 },
      { name: 'load generator', cores: 0.3 },
      { name: 'other (outside bench and SUT)', cores: 0.3 },
    ]);
    const lines = cpuTable(cpuRows([validStep('500/s'), invalidStep('1000/s')], { kafka: 0.2, 'sut-persistence': 0.05, 'machine:busy': 0.9 }));
    expect(lines).toEqual([
      '| step | broker (Kafka) | registry | database (FerretDB) | Redis | sut-gateway | sut-persistence | sut-pipeline | load generator | other (outside bench and SUT) | machine busy |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      '| 500/s | 0.4 | 0.01 | 0.1 | 0.05 | 0.3 | — | 0.6 | 0.25 | 0.19 | 1.9 |',
      '| 1000/s | INVALID (only 990 of 1000 sockets open) | — | — | — | — | — | — | — | — | — | — |',
      '| whole scenario | 0.2 | — | — | — | — | 0.05 | — | — | — | 0.9 |',
    ]);
  });

  it('gives a scenario without steps only its CPU table, and one without either nothing', () => {
    expect(stepTables([], { kafka: 0.1 }).map((t) => t.title)).toEqual([TABLE_TITLES.cpu]);
    expect(stepTables([])).toEqual([]);
    expect(stepTables([validStep('500/s')]).map((t) => t.title)).toEqual([TABLE_TITLES.percentiles, TABLE_TITLES.intervals, TABLE_TITLES.cpu]);
  });
});

const conn = (kib: number, rate: number, p99: number, validity = ok): PeerConnection => ({
  rss: { baselineBytes: 0, loadedBytes: 0, perConnectionBytes: kib * 1024 },
  connect: { requested: 100, opened: 100, failed: 0, failures: {}, seconds: 1, ratePerSec: rate, handshake: latency(1, p99) },
  validity,
});
const fan = (members: number, p50: number, max: number, perSec: number, validity = ok): PeerFanout => {
  const last: LatencySummary = { ...latency(p50, max), max };
  return { members, latency: { messages: 5, complete: 5, timeToLastMember: last, sendToDelivery: last }, throughput: { messages: 20, deliveries: 2000, expected: 2000, seconds: 1, deliveriesPerSec: perSec }, validity };
};

describe('the peer side by side', () => {
  it('shows both sides, the ratio and who is ahead by the figure\'s direction; an INVALID side gives no ratio', () => {
    const lines = peerTable({
      im: { connections: conn(5, 2000, 40), fanout: [fan(100, 30, 50, 40_000), fan(1000, 90, 140, 17_000, bad)] },
      centrifugo: { connections: conn(30, 4000, 20), fanout: [fan(100, 60, 70, 20_000), fan(1000, 20, 30, 22_000)] },
      ratios: { rssPerConnection: 0.17, connectRate: 0.5, connectP99: 2, 'fanout100.timeToLastP50': 0.5, 'fanout100.timeToLastMax': 0.71, 'fanout100.deliveriesPerSec': 2, 'fanout1000.timeToLastP50': 4.5, 'fanout1000.timeToLastMax': 4.67, 'fanout1000.deliveriesPerSec': 0.77 },
    });
    expect(lines).toEqual([
      '| figure | IM | Centrifugo | IM ÷ Centrifugo | better is | ahead |',
      '| --- | --- | --- | --- | --- | --- |',
      '| server RSS per connection | 5 KiB | 30 KiB | ×0.17 | lower | **IM** |',
      '| connect rate | 2000 conn/s | 4000 conn/s | ×0.5 | higher | Centrifugo |',
      '| handshake p99 | 40 ms | 20 ms | ×2 | lower | Centrifugo |',
      '| 100 members: last member p50 | 30 ms | 60 ms | ×0.5 | lower | **IM** |',
      '| 100 members: last member max | 50 ms | 70 ms | ×0.71 | lower | **IM** |',
      '| 100 members: deliveries/s in a burst | 40000 /s | 20000 /s | ×2 | higher | **IM** |',
      '| 1000 members: last member p50 | INVALID | 20 ms | INVALID on IM: no ratio | lower | — |',
      '| 1000 members: last member max | INVALID | 30 ms | INVALID on IM: no ratio | lower | — |',
      '| 1000 members: deliveries/s in a burst | INVALID | 22000 /s | INVALID on IM: no ratio | higher | — |',
    ]);
  });
});
