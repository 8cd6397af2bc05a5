import { describe, expect, it } from 'vitest';
import { intFlag, listFlag, parseFlags } from './args.js';
import { benchContent, parseBenchContent } from './load/messages.js';
import { parseProcStat, parseSockstat, parseStatCpuTicks, parseStatusRss } from './procstat.js';
import { saturation } from './scenarios/common.js';
import { nextSearchRate, stepPasses } from './scenarios/direct.js';
import { lastMemberTimes } from './scenarios/fanout.js';
import { baselineRatios } from './scenarios/baseline.js';
import { summarize } from './summary.js';

const lat = (p50: number, p99: number) => ({ count: 1, p50, p90: p99, p99, p999: p99, max: p99, mean: p50 });

describe('bench pure pieces', () => {
  it('parses flags', () => {
    const f = parseFlags(['--scenario', 'direct', '--rates=1000,5k', '--search']);
    expect(f.get('scenario')).toBe('direct');
    expect(listFlag(f, 'rates', [])).toEqual([1000, 5000]);
    expect(f.get('search')).toBe('true');
    expect(intFlag(parseFlags(['--connections', '100_000']), 'connections', 1)).toBe(100_000);
    expect(() => parseFlags(['direct'])).toThrow();
  });

  it('carries the intended send time in message content', () => {
    expect(parseBenchContent(benchContent(1234.5678, 'f:lat:1'))).toEqual({ intendedMs: 1234.568, tag: 'f:lat:1' });
    expect(parseBenchContent('hello')).toBeNull();
  });

  it('reads /proc stat, status and sockstat', () => {
    const stat = '42 (node (tsx) x) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 1000 5000';
    expect(parseStatCpuTicks(stat)).toBe(300);
    expect(parseStatusRss('Name:\tnode\nVmRSS:\t  2048 kB\n')).toBe(2 * 1024 * 1024);
    expect(parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n')).toEqual({ busy: 150, total: 1000 });
    expect(parseSockstat('sockets: used 125\nTCP: inuse 30 orphan 0 tw 20 alloc 67 mem 20\n')).toMatchObject({ 'sockets.used': 125, 'TCP.inuse': 30, 'TCP.mem': 20 });
  });

  it('quotes saturation only when the SUT, not the generator, is the limit', () => {
    expect(saturation({ 'sut-gateway': 0.95, 'bench-worker-0': 0.3 }, 2).saturated).toBe(true);
    expect(saturation({ 'sut-gateway': 0.95, 'bench-worker-0': 0.97 }, 2).saturated).toBe(false);
    expect(saturation({ 'sut-gateway': 0.5, kafka: 0.8, mongo: 0.6, 'bench-worker-0': 0.1 }, 2).saturated).toBe(true);
    expect(saturation({ 'sut-gateway': 0.2 }, 2).saturated).toBe(false);
    const shared = saturation({ 'sut-gateway': 0.3, 'machine:busy': 1.9, 'machine:other': 1.2 }, 2);
    expect(shared.saturated).toBe(true);
    expect(shared.reason).toContain('outside the bench');
  });

  it('searches rates: grow until a failure, then bisect', () => {
    expect(nextSearchRate(1000, null)).toBe(1500);
    expect(nextSearchRate(1000, 2000)).toBe(1500);
    expect(nextSearchRate(1000, 1100)).toBeNull();
    expect(nextSearchRate(null, 200)).toBe(100);
    expect(stepPasses({ sent: 1000, delivered: 1000, sendToDelivery: lat(5, 99) }, 100)).toBe(true);
    expect(stepPasses({ sent: 1000, delivered: 990, sendToDelivery: lat(5, 20) }, 100)).toBe(false);
  });

  it('finds the last member time per fanout message', () => {
    const tags = new Map([
      ['f:lat:1', { n: 100, maxMs: 40, firstAt: 0, lastAt: 0 }],
      ['f:lat:2', { n: 99, maxMs: 50, firstAt: 0, lastAt: 0 }],
      ['f:probe0:1', { n: 100, maxMs: 900, firstAt: 0, lastAt: 0 }],
    ]);
    expect(lastMemberTimes(tags, 100, 'lat')).toEqual({ complete: 1, times: [40, 50] });
  });

  it('summarizes a failed scenario by its notes', () => {
    expect(summarize([{ scenario: 'persist', configuration: {}, figures: { failed: 1 }, latencyCurves: [], notes: ['failed: boom'] }])).toBe('## persist\n- failed: boom');
  });

  it('divides pipeline by baseline latency at equal rates', () => {
    const r = baselineRatios([{ rate: 100, sendToDelivery: lat(40, 200) }, { rate: 200, sendToDelivery: lat(1, 1) }], [{ rate: 100, sendToDelivery: lat(10, 100) }]);
    expect(r).toEqual([{ rate: 100, p50: 4, p99: 2 }]);
    // A pipeline step that was INVALID gives no ratio, and says why.
    const invalid = { valid: false, reasons: ['only 9 of 10 sockets open'], missingDeliveries: null };
    const none = baselineRatios([{ rate: 100, sendToDelivery: lat(40, 200), validity: invalid }], [{ rate: 100, sendToDelivery: lat(10, 100) }]);
    expect(none).toEqual([{ rate: 100, p50: null, p99: null, invalid: 'INVALID (direct 100/s: only 9 of 10 sockets open)' }]);
  });
});
