import { describe, expect, it } from 'vitest';
import { KeyedRateLimiter, TokenBucket } from './token-bucket.js';

/** Takes until refused at `at`; how many were granted. */
function drain(take: () => boolean): number {
  let n = 0;
  while (take()) n++;
  return n;
}

describe('token bucket', () => {
  it('starts full, grants the burst, then refills at the rate up to the burst', () => {
    let now = 1_000;
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 5 }, () => now);
    expect(drain(() => bucket.tryTake())).toBe(5);
    now += 250; // 2.5 tokens
    expect(drain(() => bucket.tryTake())).toBe(2);
    now += 60_000; // long idle: capped at the burst
    expect(bucket.idle()).toBe(true);
    expect(drain(() => bucket.tryTake())).toBe(5);
  });

  it('judges by the time it is given, and an earlier time adds nothing', () => {
    const bucket = new TokenBucket({ ratePerSec: 1, burst: 2 }, () => 0, 10_000);
    expect(drain(() => bucket.tryTake(10_000))).toBe(2);
    // A record received earlier arrives late (another gateway, a replay): no tokens from going back...
    expect(bucket.tryTake(9_000)).toBe(false);
    // ...and the bucket did not move back either: one second after the latest time is one token.
    expect(drain(() => bucket.tryTake(11_000))).toBe(1);
  });

  it('take waits for a token instead of refusing', async () => {
    const bucket = new TokenBucket({ ratePerSec: 100, burst: 1 });
    await bucket.take();
    const started = performance.now();
    await bucket.take(); // the next token is 10 ms away
    expect(performance.now() - started).toBeGreaterThanOrEqual(5);
  });
});

describe('keyed rate limiter', () => {
  it('keeps one bucket per key', () => {
    const limiter = new KeyedRateLimiter({ ratePerSec: 1, burst: 2 }, () => 0);
    expect(drain(() => limiter.tryTake('ann'))).toBe(2);
    expect(drain(() => limiter.tryTake('ben'))).toBe(2);
    expect(limiter.tryTake('ann', 1_000)).toBe(true);
    expect(limiter.tryTake('ann', 1_000)).toBe(false);
  });

  it('forgets the oldest key past maxKeys, which starts again full', () => {
    const limiter = new KeyedRateLimiter({ ratePerSec: 1, burst: 1 }, () => 0, 2);
    expect(limiter.tryTake('ann')).toBe(true);
    expect(limiter.tryTake('ben')).toBe(true);
    expect(limiter.tryTake('cy')).toBe(true);
    expect(limiter.size).toBe(2);
    expect(limiter.tryTake('ann')).toBe(true); // forgotten, so full again
    expect(limiter.tryTake('cy')).toBe(false); // still remembered, still empty
  });

  it('sweeps keys whose bucket refilled, so idle users cost no memory', () => {
    let now = 0;
    const limiter = new KeyedRateLimiter({ ratePerSec: 10, burst: 1 }, () => now);
    for (let i = 0; i < 500; i++) limiter.tryTake(`user-${i}`);
    expect(limiter.size).toBe(500);
    now += 1_000;
    for (let i = 0; i < 500; i++) limiter.tryTake('busy');
    expect(limiter.size).toBe(1);
  });
});
