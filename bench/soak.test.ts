import { describe, expect, it } from 'vitest';
import { combine, median, soakOutput, soakSummary, type SoakFigures, type SoakWindow } from './scenarios/soak.js';
import { stepValidity } from './validity.js';

const MiB = 2 ** 20;

function window(i: number, o: { gatewayRss: number; lag?: number; valid?: boolean }): SoakWindow {
  const sent = 3000;
  return {
    tSec: 60 * (i + 1),
    sent,
    delivered: sent,
    validity: stepValidity({ connections: { requested: 200, open: o.valid === false ? 150 : 200 }, sent, acked: sent, sendErrors: {}, unanswered: 0, delivered: sent, expectedDeliveries: sent }),
    deliveryP50Ms: 20,
    deliveryP99Ms: 60,
    rssBytes: { 'sut-gateway': o.gatewayRss, 'sut-pipeline': 300 * MiB, kafka: 900 * MiB },
    heapUsedBytes: { 'sut-gateway': 60 * MiB },
    activeHandles: { 'sut-gateway': 220 },
    openFds: { 'sut-gateway': 240 },
    eventLoopP99Sec: { 'sut-gateway': 0.011 },
    consumerLag: { 'sut-pipeline': o.lag ?? 3 },
    persistenceLag: 12,
    redisUsedBytes: 4 * MiB,
  };
}

const run = (windows: SoakWindow[]): SoakFigures => soakOutput({ rate: 50, rateSource: 'test', minutes: windows.length, windowSec: 60, windows }).figures as unknown as SoakFigures;

describe('soak verdict', () => {
  it('passes when every sampled figure stays flat', () => {
    const f = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB })));
    expect(f.validity.valid).toBe(true);
    expect(f.growing).toEqual([]);
    expect(f.passes).toBe(true);
    expect(f.growth.map((g) => g.series)).toContain('RSS sut-gateway');
    expect(f.growth.map((g) => g.series)).toContain('Redis used memory');
    // The stack's JVMs grow towards -Xmx by design: recorded, not judged.
    expect(f.growth.map((g) => g.series)).not.toContain('RSS kafka');
    expect(soakSummary(f)).toMatch(/every figure flat; pass/);
  });

  it('fails on a process whose memory keeps climbing, and names it', () => {
    const f = run(Array.from({ length: 30 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 2 * MiB })));
    expect(f.growing).toEqual(['RSS sut-gateway']);
    expect(f.passes).toBe(false);
    expect(soakSummary(f)).toMatch(/GROWING RSS sut-gateway.*FAIL/);
  });

  it('fails on a consumer lag that builds up', () => {
    const f = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB, lag: i * 100 })));
    expect(f.growing).toEqual(['consumer lag sut-pipeline']);
  });

  it('is INVALID, not a pass, when a window lost sockets or too few windows were sampled', () => {
    const lost = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB, valid: i !== 5 })));
    expect(lost.validity.valid).toBe(false);
    expect(lost.passes).toBe(false);
    expect(lost.validity.reasons[0]).toMatch(/window at 360 s: only 150 of 200 sockets open/);
    // No slope is called flat or growing over an INVALID window: the table says INVALID and why.
    expect(lost.growing).toEqual([]);
    const slopes = soakOutput({ rate: 50, rateSource: 'test', minutes: 12, windowSec: 60, windows: Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 8 * MiB, valid: i !== 5 })) }).tables![0]!.lines;
    expect(slopes.find((l) => l.startsWith('| RSS sut-gateway'))).toMatch(/\| INVALID \|$/);
    expect(slopes.filter((l) => l.includes('flat') || l.includes('GROWING'))).toEqual([]);
    expect(slopes[slopes.length - 1]).toBe('- INVALID, no verdict: window at 360 s: only 150 of 200 sockets open');
    const short = run(Array.from({ length: 3 }, (_, i) => window(i, { gatewayRss: 180 * MiB })));
    expect(short.validity.valid).toBe(false);
    expect(short.validity.reasons.join()).toMatch(/too few windows/);
  });
});

describe('samples within a window', () => {
  it('keep each process\'s lowest memory and median delay, over the samples that have it', () => {
    const samples: Record<string, number>[] = [{ a: 120, b: 7 }, { a: 80 }, { a: 100, b: 5 }];
    expect(combine(samples, Math.min)).toEqual({ a: 80, b: 5 });
    expect(combine(samples, median)).toEqual({ a: 100, b: 6 });
    expect(combine([], Math.min)).toEqual({});
  });
});
