import { describe, expect, it } from 'vitest';
import { judgeGrowth, leastSquaresSlope, MIN_JUDGED_SAMPLES, SOAK_TOLERANCE } from './slopes.js';

const line = (n: number, at0: number, perSec: number, everySec = 60): { tSec: number; value: number }[] =>
  Array.from({ length: n }, (_, i) => ({ tSec: i * everySec, value: at0 + perSec * i * everySec }));

describe('leastSquaresSlope', () => {
  it('is the slope of a straight line, and of noise around it', () => {
    expect(leastSquaresSlope(line(10, 5, 2))).toBeCloseTo(2);
    const noisy = line(10, 100, 0.5).map((p, i) => ({ ...p, value: p.value + (i % 2 === 0 ? 3 : -3) }));
    expect(leastSquaresSlope(noisy)).toBeCloseTo(0.5, 1);
  });

  it('is null with fewer than two distinct times', () => {
    expect(leastSquaresSlope([])).toBeNull();
    expect(leastSquaresSlope([{ tSec: 1, value: 3 }])).toBeNull();
    expect(leastSquaresSlope([{ tSec: 1, value: 3 }, { tSec: 1, value: 4 }])).toBeNull();
  });
});

describe('judgeGrowth', () => {
  const MiB = 2 ** 20;

  it('calls a flat series flat and a climbing one growing', () => {
    const flat = judgeGrowth('rss', 'bytes', line(30, 200 * MiB, 0), SOAK_TOLERANCE.bytes);
    expect(flat?.growing).toBe(false);
    expect(flat?.projectedGrowth).toBe(0);
    // 1 MiB a minute for half an hour: 20+ MiB over the judged span, over 16 MiB and 10 %.
    const leak = judgeGrowth('rss', 'bytes', line(30, 150 * MiB, MiB / 60), SOAK_TOLERANCE.bytes);
    expect(leak?.growing).toBe(true);
    expect(leak?.slopePerHour).toBeCloseTo(60 * MiB);
  });

  it('judges after the warm-up: a process filling its caches at the start is not a leak', () => {
    const warm = [...line(8, 100 * MiB, MiB / 2)].map((p, i) => (i < 2 ? p : { ...p, value: 160 * MiB }));
    expect(judgeGrowth('rss', 'bytes', warm, SOAK_TOLERANCE.bytes)?.growing).toBe(false);
    expect(judgeGrowth('rss', 'bytes', warm, SOAK_TOLERANCE.bytes)?.samples).toBe(6);
  });

  it('gives no verdict on too few samples', () => {
    expect(judgeGrowth('rss', 'bytes', line(MIN_JUDGED_SAMPLES, 1, 1), SOAK_TOLERANCE.bytes)).toBeNull();
    expect(judgeGrowth('rss', 'bytes', line(MIN_JUDGED_SAMPLES + 1, 1, 1), SOAK_TOLERANCE.bytes)).not.toBeNull();
  });

  it('tolerates a consumer lag of a second of traffic, not a growing backlog', () => {
    const tol = SOAK_TOLERANCE.lagRecords(500);
    expect(judgeGrowth('lag', 'records', line(10, 0, 0.5), tol)?.growing).toBe(false);
    expect(judgeGrowth('lag', 'records', line(10, 0, 5), tol)?.growing).toBe(true);
  });
});
