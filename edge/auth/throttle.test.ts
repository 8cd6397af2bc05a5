import { describe, expect, it } from 'vitest';
import { LoginThrottle, SlidingWindowThrottle } from './throttle.js';

describe('SlidingWindowThrottle', () => {
  it('blocks after maxFailures inside the window and unblocks when the oldest ages out', () => {
    const t = new SlidingWindowThrottle({ maxFailures: 3, windowMs: 1000 });
    t.recordFailure('k', 0);
    t.recordFailure('k', 100);
    expect(t.retryAfterMs('k', 200)).toBe(0);
    t.recordFailure('k', 200);
    expect(t.retryAfterMs('k', 300)).toBe(700); // failure at 0 leaves the window at 1000
    expect(t.retryAfterMs('k', 999)).toBe(1);
    expect(t.retryAfterMs('k', 1000)).toBe(0);
  });

  it('slides: a steady trickle below the rate is never blocked', () => {
    const t = new SlidingWindowThrottle({ maxFailures: 3, windowMs: 1000 });
    for (let now = 0; now < 10_000; now += 400) {
      expect(t.retryAfterMs('k', now)).toBe(0);
      t.recordFailure('k', now);
    }
  });

  it('bounds the number of tracked keys', () => {
    const t = new SlidingWindowThrottle({ maxFailures: 1, windowMs: 1000, maxKeys: 10 });
    for (let i = 0; i < 50; i++) t.recordFailure(`k${i}`, 0);
    expect(t.size).toBe(10);
    expect(t.retryAfterMs('k49', 1)).toBeGreaterThan(0);
    expect(t.retryAfterMs('k0', 1)).toBe(0);
  });
});

describe('LoginThrottle', () => {
  it('limits per username across addresses, case-insensitively, and resets on success', () => {
    const t = new LoginThrottle({ maxFailuresPerUser: 2, maxFailuresPerAddress: 100, windowMs: 60_000 });
    t.failure('Ann', '10.0.0.1', 0);
    t.failure('ann', '10.0.0.2', 1);
    expect(t.check('ANN', '10.0.0.3', 2)).toBeGreaterThan(0);
    expect(t.check('bob', '10.0.0.3', 2)).toBe(0);
    t.success('ann');
    expect(t.check('ann', '10.0.0.3', 3)).toBe(0);
  });

  it('limits per address across usernames', () => {
    const t = new LoginThrottle({ maxFailuresPerUser: 100, maxFailuresPerAddress: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) t.failure(`user${i}`, '10.0.0.9', i);
    expect(t.check('fresh', '10.0.0.9', 10)).toBeGreaterThan(0);
    expect(t.check('fresh', '10.0.0.8', 10)).toBe(0);
  });
});
