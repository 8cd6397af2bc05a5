import { describe, expect, it } from 'vitest';
import { cpuByProcess } from './cpu.js';
import { peerRatios } from '../scenarios/peer.js';
import { cpuRows, cpuTable, intervalTable, peerRows, peerTable, percentileTable, stepTables, TABLE_TITLES } from './step-tables.js';
import { invalidStep, peerFigures, validStep } from './test-fixtures.js';

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

describe('the peer side by side', () => {
  it('shows both sides, the ratio and who is ahead by the figure\'s direction; an INVALID side gives no ratio', () => {
    const lines = peerTable(peerFigures());
    expect(lines).toEqual([
      '| figure | IM | Centrifugo | IM ÷ Centrifugo | better is | ahead |',
      '| --- | --- | --- | --- | --- | --- |',
      '| server memory per connection | 5 KiB | 30 KiB | ×0.17 | lower | **IM** |',
      '| connect rate | 2000 conn/s | 4000 conn/s | ×0.5 | higher | Centrifugo |',
      '| handshake p99 | 40 ms | 20 ms | ×2 | lower | Centrifugo |',
      '| 100 members: last member p50 | 30 ms | 60 ms | ×0.5 | lower | **IM** |',
      '| 100 members: last member max | 50 ms | 70 ms | ×0.71 | lower | **IM** |',
      '| 100 members: deliveries/s in a burst | 40000 /s | 20000 /s | ×2 | higher | **IM** |',
      '| 1000 members: last member p50 | INVALID | 20 ms | INVALID (IM: 3 sends on sockets that were not open) | lower | — |',
      '| 1000 members: last member max | INVALID | 30 ms | INVALID (IM: 3 sends on sockets that were not open) | lower | — |',
      '| 1000 members: deliveries/s in a burst | INVALID | 22000 /s | INVALID (IM: 3 sends on sockets that were not open) | higher | — |',
    ]);
  });

  it('computes no ratio over an INVALID step, and says which side and why', () => {
    const f = peerFigures();
    const centrifugoBad = { ...f.centrifugo.connections, validity: { valid: false, reasons: ['only 900 of 1000 sockets opened (ECONNREFUSED 100)'], missingDeliveries: null } };
    const { ratios, invalid } = peerRatios({ conn: f.im.connections, fanout: f.im.fanout }, { conn: centrifugoBad, fanout: f.centrifugo.fanout });
    // Connections INVALID on Centrifugo, the 1000-member fan-out INVALID on the platform.
    expect(ratios).toEqual({
      rssPerConnection: null, connectRate: null, connectP99: null,
      'fanout100.timeToLastP50': 0.5, 'fanout100.timeToLastMax': 0.71, 'fanout100.deliveriesPerSec': 2,
      'fanout1000.timeToLastP50': null, 'fanout1000.timeToLastMax': null, 'fanout1000.deliveriesPerSec': null,
    });
    expect(invalid).toEqual({
      rssPerConnection: 'INVALID (Centrifugo: only 900 of 1000 sockets opened (ECONNREFUSED 100))',
      connectRate: 'INVALID (Centrifugo: only 900 of 1000 sockets opened (ECONNREFUSED 100))',
      connectP99: 'INVALID (Centrifugo: only 900 of 1000 sockets opened (ECONNREFUSED 100))',
      'fanout1000.timeToLastP50': 'INVALID (IM: 3 sends on sockets that were not open)',
      'fanout1000.timeToLastMax': 'INVALID (IM: 3 sends on sockets that were not open)',
      'fanout1000.deliveriesPerSec': 'INVALID (IM: 3 sends on sockets that were not open)',
    });
    // The table reads the validity itself, so a ratio an older result kept is not shown either.
    const rows = peerRows({ ...f, centrifugo: { ...f.centrifugo, connections: centrifugoBad } });
    expect(rows[0]).toMatchObject({ figure: 'server memory per connection', ratio: null, why: 'INVALID (Centrifugo: only 900 of 1000 sockets opened (ECONNREFUSED 100))' });
  });
});
