import { sleep } from '../../core/retry.js';

/**
 * A token bucket: `ratePerSec` tokens a second, up to `burst` saved. `tryTake` answers at once
 * (drop when over the limit, e.g. typing indicators); `take` waits for a token (pace calls to
 * a vendor instead of failing them).
 */
export interface TokenBucketConfig {
  ratePerSec: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly config: TokenBucketConfig, private readonly now: () => number = Date.now) {
    this.tokens = config.burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.config.burst, this.tokens + ((t - this.last) / 1000) * this.config.ratePerSec);
    this.last = t;
  }

  tryTake(): boolean {
    this.refill();
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

  /** True when the bucket is full again (an idle key can be forgotten). */
  get idle(): boolean {
    this.refill();
    return this.tokens >= this.config.burst;
  }
}

/** One bucket per key (per user), forgetting keys whose bucket refilled, so memory stays bounded. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private sweeps = 0;

  constructor(private readonly config: TokenBucketConfig, private readonly now: () => number = Date.now) {}

  tryTake(key: string): boolean {
    if (++this.sweeps % 1000 === 0) for (const [k, b] of this.buckets) if (b.idle) this.buckets.delete(k);
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.config, this.now)));
    return bucket.tryTake();
  }
}
