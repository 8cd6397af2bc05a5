import { describe, expect, it } from 'vitest';
import { FailureStretchLog } from './failure-stretch-log.js';
import { type LogLine, recordingLogger } from './testing.js';

function stretchLog(lines: LogLine[], clock: { t: number }): FailureStretchLog {
  return new FailureStretchLog({ logger: recordingLogger(lines), what: 'retrying records', counting: 'records', summaryEveryMs: 30_000, now: () => clock.t, fields: { processor: 'router' } });
}

describe('failure stretch log', () => {
  it('a 1,000-record outage of 100 s: one failing line with the reason, one summary per 30 s, one recovery with the totals', () => {
    const lines: LogLine[] = [];
    const clock = { t: 1_000_000 };
    const log = stretchLog(lines, clock);
    // A record every 100 ms, each failing twice (its first attempt counts the record).
    for (let i = 0; i < 1_000; i++) {
      log.failed(new Error('connect ECONNREFUSED 127.0.0.1:6379'), 1);
      log.failed(new Error('connect ECONNREFUSED 127.0.0.1:6379'), 0);
      clock.t += 100;
    }
    log.recovered();
    log.recovered(); // nothing open: says nothing

    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'retrying records: failing'],
      ['warn', 'retrying records: still failing'],
      ['warn', 'retrying records: still failing'],
      ['warn', 'retrying records: still failing'],
      ['info', 'retrying records: recovered'],
    ]);
    expect(lines[0]!.fields).toEqual({ processor: 'router', reason: 'connect ECONNREFUSED 127.0.0.1:6379', records: 1 });
    // The first summary at 30 s: the 300 records after the first one, two failures each, less the first's second.
    expect(lines[1]!.fields).toEqual({ processor: 'router', reason: 'connect ECONNREFUSED 127.0.0.1:6379', failingForMs: 30_000, failures: 600, records: 300 });
    expect(lines[2]!.fields).toMatchObject({ failingForMs: 60_000, failures: 600, records: 300 });
    expect(lines[3]!.fields).toMatchObject({ failingForMs: 90_000, failures: 600, records: 300 });
    expect(lines[4]!.fields).toEqual({ processor: 'router', failedForMs: 100_000, failures: 2_000, records: 1_000 });
    expect(log.failing).toBe(false);
  });

  it('a new stretch after a recovery starts with its own failing line and counts', () => {
    const lines: LogLine[] = [];
    const clock = { t: 0 };
    const log = stretchLog(lines, clock);
    log.failed(new Error('broker down'), 5);
    clock.t += 1_000;
    log.recovered();
    clock.t += 60_000;
    log.failed(new Error('timeout'), 2);
    expect(log.failing).toBe(true);
    clock.t += 500;
    log.recovered();
    expect(lines.map((l) => l.msg)).toEqual(['retrying records: failing', 'retrying records: recovered', 'retrying records: failing', 'retrying records: recovered']);
    expect(lines[2]!.fields).toMatchObject({ reason: 'timeout', records: 2 });
    expect(lines[3]!.fields).toMatchObject({ failedForMs: 500, failures: 1, records: 2 });
  });
});
