import { describe, expect, it } from 'vitest';
import { OpenLoopSchedule, splitRate } from './scheduler.js';

describe('open-loop schedule', () => {
  it('issues sends at their intended times regardless of when it is polled', () => {
    const s = new OpenLoopSchedule(1000, 100, 1000); // 100/s for 1 s: every 10 ms
    expect(s.total).toBe(100);
    expect(s.due(999)).toEqual([]);
    expect(s.due(1000)).toEqual([1000]);
    // A stall of 45 ms: the late sends keep their intended times (no coordinated omission).
    expect(s.due(1045)).toEqual([1010, 1020, 1030, 1040]);
    expect(s.issued).toBe(5);
  });

  it('stops after the duration', () => {
    const s = new OpenLoopSchedule(0, 1000, 50);
    expect(s.due(10_000)).toHaveLength(50);
    expect(s.done).toBe(true);
    expect(s.due(20_000)).toEqual([]);
  });

  it('supports fractional intervals', () => {
    const s = new OpenLoopSchedule(0, 3000, 1);
    expect(s.due(1).length).toBe(3);
  });

  it('splits a rate into parts that add up exactly', () => {
    expect(splitRate(1000, 3)).toEqual([334, 333, 333]);
    expect(splitRate(2, 4)).toEqual([1, 1, 0, 0]);
    expect(splitRate(5000, 2).reduce((a, b) => a + b, 0)).toBe(5000);
  });
});
