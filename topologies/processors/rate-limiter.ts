/**
 * Per-key token buckets, held by one processor instance. Keys are users and the input is
 * partitioned by user, so each user's bucket lives on exactly one instance. Time comes from
 * the caller (the frame's gateway timestamp), so a backlog replayed after a restart is judged
 * by when it was sent, not by how fast it is drained.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly maxKeys = 100_000) {}

  /** Takes one token for `key` at time `now` (ms); false when the bucket is empty. */
  take(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      // Bounded memory: forget the oldest users; they start again with a full bucket.
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(key, (b = { tokens: this.burst, at: now }));
    }
    const elapsed = Math.max(0, now - b.at) / 1000;
    b.tokens = Math.min(this.burst, b.tokens + elapsed * this.ratePerSec);
    b.at = Math.max(b.at, now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
