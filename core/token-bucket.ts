import { sleep } from './retry.js';

/**
 * A token bucket: `ratePerSec` tokens a second, up to `burst` saved; a new bucket is full.
 * `tryTake` answers at once (refuse or drop when over the limit: the gateway's frames, the
 * router, typing indicators); `take` waits for a token (pace calls to a push vendor instead of
 * failing them).
 *
 * Time is the caller's: `now` by default, or the instant passed in, such as a record's receive
 * time, so a backlog replayed after a restart is judged by when it was sent, not by how fast
 * it is drained. Such times may arrive out of order; one earlier than the last seen adds
 * nothing and does not move the bucket back.
 */
export interface TokenBucketConfig {
  ratePerSec: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  /** `startAt`: when the bucket is made, full (the caller's time, as for `tryTake`). */
  constructor(private readonly config: TokenBucketConfig, private readonly now: () => number = Date.now, startAt = now()) {
    this.tokens = config.burst;
    this.last = startAt;
  }

  private refill(at: number): void {
    const elapsedSec = Math.max(0, at - this.last) / 1000;
    this.tokens = Math.min(this.config.burst, this.tokens + elapsedSec * this.config.ratePerSec);
    this.last = Math.max(this.last, at);
  }

  /** Takes one token at `at` (ms); false when the bucket is empty. */
  tryTake(at = this.now()): boolean {
    this.refill(at);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Waits until a token is available, then takes it. */
  async take(): Promise<void> {
    while (!this.tryTake()) {
      const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) / this.config.ratePerSec) * 1000));
      await sleep(waitMs);
    }
  }

  /** True when the bucket is full again at `at` (an idle key can be forgotten). */
  idle(at = this.now()): boolean {
    this.refill(at);
    return this.tokens >= this.config.burst;
  }
}

/**
 * One bucket per key (per user). Memory stays bounded: keys whose bucket refilled are swept now
 * and then, and past `maxKeys` the oldest key is forgotten (it starts again with a full bucket).
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private takes = 0;

  constructor(private readonly config: TokenBucketConfig, private readonly now: () => number = Date.now, private readonly maxKeys = 100_000) {}

  /** Takes one token of `key` at `at` (ms); false when its bucket is empty. */
  tryTake(key: string, at = this.now()): boolean {
    if (++this.takes % 1000 === 0) for (const [k, b] of this.buckets) if (b.idle(at)) this.buckets.delete(k);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(key, (bucket = new TokenBucket(this.config, this.now, at)));
    }
    return bucket.tryTake(at);
  }

  get size(): number {
    return this.buckets.size;
  }
}
