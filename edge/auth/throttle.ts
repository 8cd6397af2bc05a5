/**
 * Login throttling by a sliding-window log of failures per key. A key is blocked while it has
 * `maxFailures` failures younger than `windowMs`; it unblocks when the oldest of them ages out,
 * which is the Retry-After we report. Only failures count, so a user who types the password
 * right is never slowed down; a success clears the username key.
 *
 * The log lives in memory (one process: tests, `make run`) or in Redis (throttle-redis.ts),
 * where every auth instance counts into the same keys: N gateways do not allow N times the
 * failures. A per-username limit lets an attacker lock a victim out for one window; the
 * per-address limit is what stops a single source, the per-username one stops a distributed
 * guess at one account.
 */
export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  /** Upper bound on tracked keys, so a flood of fresh usernames cannot exhaust memory. */
  maxKeys?: number;
}

export class SlidingWindowThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly maxKeys: number;

  constructor(private readonly options: ThrottleOptions) {
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string, now: number): number {
    const log = this.live(key, now);
    if (!log || log.length < this.options.maxFailures) return 0;
    const oldest = log[log.length - this.options.maxFailures] ?? now;
    return Math.max(1, oldest + this.options.windowMs - now);
  }

  recordFailure(key: string, now: number): void {
    const log = this.live(key, now) ?? [];
    log.push(now);
    // Older entries beyond the limit can never matter again.
    if (log.length > this.options.maxFailures) log.splice(0, log.length - this.options.maxFailures);
    this.failures.delete(key); // re-insert: Map order is then least-recently-failed first
    this.failures.set(key, log);
    if (this.failures.size > this.maxKeys) {
      const first = this.failures.keys().next();
      if (!first.done) this.failures.delete(first.value);
    }
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }

  private live(key: string, now: number): number[] | undefined {
    const log = this.failures.get(key);
    if (!log) return undefined;
    const cutoff = now - this.options.windowMs;
    while (log.length > 0 && (log[0] ?? 0) <= cutoff) log.shift();
    if (log.length === 0) {
      this.failures.delete(key);
      return undefined;
    }
    return log;
  }
}

/** One sliding-window log of failures, wherever it is kept. */
export interface FailureLog {
  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string, now: number): Promise<number>;
  recordFailure(key: string, now: number): Promise<void>;
  reset(key: string): Promise<void>;
}

/** Makes the log of one scope (per username, per address) with its limits. */
export type FailureLogs = (scope: 'user' | 'address', options: ThrottleOptions) => FailureLog;

/** Failure logs in this process's memory. */
export const memoryFailureLogs: FailureLogs = (_scope, options) => {
  const t = new SlidingWindowThrottle(options);
  return {
    retryAfterMs: async (key, now) => t.retryAfterMs(key, now),
    recordFailure: async (key, now) => t.recordFailure(key, now),
    reset: async (key) => t.reset(key),
  };
};

export interface LoginThrottleOptions {
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  windowMs: number;
}

/** The two throttles a login passes: per username (case-insensitive) and per remote address. */
export class LoginThrottle {
  private readonly byUser: FailureLog;
  private readonly byAddress: FailureLog;

  constructor(options: LoginThrottleOptions, logs: FailureLogs = memoryFailureLogs) {
    this.byUser = logs('user', { maxFailures: options.maxFailuresPerUser, windowMs: options.windowMs });
    this.byAddress = logs('address', { maxFailures: options.maxFailuresPerAddress, windowMs: options.windowMs });
  }

  /** Milliseconds to wait before this attempt may be judged; 0 to go ahead. */
  async check(username: string, address: string, now: number): Promise<number> {
    const [user, source] = await Promise.all([this.byUser.retryAfterMs(username.toLowerCase(), now), this.byAddress.retryAfterMs(address, now)]);
    return Math.max(user, source);
  }

  async failure(username: string, address: string, now: number): Promise<void> {
    await Promise.all([this.byUser.recordFailure(username.toLowerCase(), now), this.byAddress.recordFailure(address, now)]);
  }

  async success(username: string): Promise<void> {
    await this.byUser.reset(username.toLowerCase());
  }
}
