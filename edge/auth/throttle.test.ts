import { afterEach, describe, expect, it } from 'vitest';
import { openTestRedis } from '../../connectors/message-store/testing.js';
import { createLogger } from '../../core/logger.js';
import { LoginThrottle, memoryFailureLogs, SlidingWindowThrottle, type FailureLogs } from './throttle.js';
import { redisFailureLogs } from './throttle-redis.js';

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

/** The same throttle on each store: this process's memory, and Redis (shared by every auth instance). */
const stores: { name: string; open: () => Promise<{ logs: FailureLogs; close: () => Promise<void> }> }[] = [
  { name: 'memory', open: async () => ({ logs: memoryFailureLogs, close: async () => {} }) },
  {
    name: 'redis',
    open: async () => {
      const r = await openTestRedis('throttle');
      return { logs: redisFailureLogs({ redis: r.redis, logger: createLogger('throttle-test'), keyPrefix: r.prefix }), close: r.close };
    },
  },
];

describe.each(stores)('LoginThrottle on $name', ({ open }) => {
  let close = async (): Promise<void> => {};
  afterEach(async () => close());

  it('limits per username across addresses, case-insensitively, and resets on success', async () => {
    const store = await open();
    close = store.close;
    const t = new LoginThrottle({ maxFailuresPerUser: 2, maxFailuresPerAddress: 100, windowMs: 60_000 }, store.logs);
    await t.failure('Ann', '10.0.0.1', 0);
    await t.failure('ann', '10.0.0.2', 1);
    expect(await t.check('ANN', '10.0.0.3', 2)).toBe(59_998);
    expect(await t.check('bob', '10.0.0.3', 2)).toBe(0);
    await t.success('ann');
    expect(await t.check('ann', '10.0.0.3', 3)).toBe(0);
  });

  it('limits per address across usernames, and lets the window slide', async () => {
    const store = await open();
    close = store.close;
    const t = new LoginThrottle({ maxFailuresPerUser: 100, maxFailuresPerAddress: 3, windowMs: 1_000 }, store.logs);
    for (let i = 0; i < 4; i++) await t.failure(`user${i}`, '10.0.0.9', i * 100);
    // The last three failures (100, 200, 300) count: free once the one at 100 ages out.
    expect(await t.check('fresh', '10.0.0.9', 400)).toBe(700);
    expect(await t.check('fresh', '10.0.0.8', 400)).toBe(0);
    expect(await t.check('fresh', '10.0.0.9', 1_100)).toBe(0);
  });
});
