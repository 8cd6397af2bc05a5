import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { FailureLog, FailureLogs } from './throttle.js';

export interface RedisFailureLogsOptions {
  redis: Redis;
  logger: Logger;
  /** Key prefix; tests use their own so runs never collide. */
  keyPrefix?: string;
}

/**
 * Failed logins counted in Redis, so every auth instance (each gateway process) throttles on
 * the same counts. Per key, a sorted set of failure times (score = time, member unique), trimmed
 * to the window and to the last `maxFailures` on each failure and expiring with the window: the
 * same sliding-window log as the memory one, bounded the same way.
 *
 * A Redis that does not answer lets logins through unthrottled (one warning when it starts, one
 * line when it is back): logging in must not depend on the throttle's store, and /readyz
 * already reports Redis.
 */
export function redisFailureLogs(options: RedisFailureLogsOptions): FailureLogs {
  const { redis, logger } = options;
  const prefix = options.keyPrefix ?? 'im:auth:login:';
  let failing = false;
  const tolerate = async <T>(what: string, op: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      const out = await op();
      if (failing) logger.info('login throttle store answers again', { what });
      failing = false;
      return out;
    } catch (err) {
      if (!failing) logger.warn('login throttle store unavailable; logins are not throttled meanwhile', { err, what });
      failing = true;
      return fallback;
    }
  };

  return (scope, { maxFailures, windowMs }): FailureLog => {
    const keyOf = (key: string): string => `${prefix}${scope}:${key}`;
    return {
      retryAfterMs: (key, now) =>
        tolerate('check', async () => {
          // Failures at or before now - window have aged out (as in the memory log).
          const flat = await redis.zrangebyscore(keyOf(key), `(${now - windowMs}`, '+inf', 'WITHSCORES');
          const live = flat.length / 2;
          if (live < maxFailures) return 0;
          const oldest = Number(flat[2 * (live - maxFailures) + 1]);
          return Math.max(1, oldest + windowMs - now);
        }, 0),
      recordFailure: (key, now) =>
        tolerate('failure', async () => {
          const k = keyOf(key);
          const replies = await redis
            .multi()
            .zadd(k, now, `${now}:${randomUUID()}`)
            .zremrangebyscore(k, '-inf', now - windowMs)
            // Older entries beyond the limit can never matter again.
            .zremrangebyrank(k, 0, -(maxFailures + 1))
            .pexpire(k, windowMs)
            .exec();
          for (const [err] of replies ?? []) if (err) throw err;
        }, undefined),
      reset: (key) => tolerate('reset', async () => void (await redis.del(keyOf(key))), undefined),
    };
  };
}
