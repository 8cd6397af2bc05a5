import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';

/**
 * How much a user may upload: upload slots per window (a rate) and bytes per UTC day (a quota),
 * both counted when a slot is granted (POST /v1/media/uploads), where the declared size is
 * final: the store refuses an upload of any other size. In memory for one process (tests,
 * `make run`), in Redis for many (`redisMediaAllowance`), so N gateways do not allow N times as much.
 */
export interface MediaAllowanceLimits {
  slotsPerWindow: number;
  slotWindowSec: number;
  dailyQuotaBytes: number;
}

export type AllowanceVerdict = { ok: true } | { ok: false; code: 'TOO_MANY_REQUESTS' | 'MEDIA_QUOTA_EXCEEDED'; retryAfterSec: number };

export interface MediaAllowance {
  /** Counts one slot of `bytes` for the user at `now`, or says why not (the slot is then not counted against the quota). */
  take(userId: string, bytes: number, now: number): Promise<AllowanceVerdict>;
}

const DAY_MS = 86_400_000;
const secondsUntil = (at: number, now: number): number => Math.max(1, Math.ceil((at - now) / 1000));

/** The fixed windows both stores count in: the rate's current window and the UTC day. */
function windows(limits: MediaAllowanceLimits, now: number) {
  const windowMs = limits.slotWindowSec * 1000;
  const window = Math.floor(now / windowMs);
  const day = Math.floor(now / DAY_MS);
  return { window, windowEnds: (window + 1) * windowMs, day, dayEnds: (day + 1) * DAY_MS, windowMs };
}

/** Counts in this process's memory; keys of past windows are dropped as new ones start. */
export function memoryMediaAllowance(limits: MediaAllowanceLimits): MediaAllowance {
  const slots = new Map<string, { window: number; count: number }>();
  const bytes = new Map<string, { day: number; total: number }>();
  return {
    async take(userId, size, now) {
      const w = windows(limits, now);
      const s = slots.get(userId);
      const used = s && s.window === w.window ? s.count : 0;
      if (used >= limits.slotsPerWindow) return { ok: false, code: 'TOO_MANY_REQUESTS', retryAfterSec: secondsUntil(w.windowEnds, now) };
      slots.set(userId, { window: w.window, count: used + 1 });
      const b = bytes.get(userId);
      const total = b && b.day === w.day ? b.total : 0;
      if (total + size > limits.dailyQuotaBytes) return { ok: false, code: 'MEDIA_QUOTA_EXCEEDED', retryAfterSec: secondsUntil(w.dayEnds, now) };
      bytes.set(userId, { day: w.day, total: total + size });
      return { ok: true };
    },
  };
}

export interface RedisMediaAllowanceOptions {
  redis: Redis;
  logger: Logger;
  /** Key prefix, namespaced by IM_TOPIC_PREFIX as the login throttle is, so platforms sharing a Redis never count together. */
  keyPrefix: string;
}

/**
 * Counts in Redis: one counter per user and rate window, one per user and UTC day, each
 * expiring after its window. A quota overshoot is taken back at once (INCRBY, then DECRBY when
 * over), so a refused slot costs nothing. A Redis that does not answer lets uploads through
 * (one warning, one line when it is back), as the login throttle does: uploading must not
 * depend on the counter's store, and /readyz already reports Redis.
 */
export function redisMediaAllowance(limits: MediaAllowanceLimits, o: RedisMediaAllowanceOptions): MediaAllowance {
  let failing = false;
  return {
    async take(userId, size, now) {
      const w = windows(limits, now);
      const slotKey = `${o.keyPrefix}slots:${userId}:${w.window}`;
      const byteKey = `${o.keyPrefix}bytes:${userId}:${w.day}`;
      try {
        const [[slotErr, count] = [], [expireErr] = []] = (await o.redis.multi().incr(slotKey).pexpire(slotKey, w.windowMs).exec()) ?? [];
        if (slotErr || expireErr) throw slotErr ?? expireErr;
        const verdict = await (async (): Promise<AllowanceVerdict> => {
          if (Number(count) > limits.slotsPerWindow) return { ok: false, code: 'TOO_MANY_REQUESTS', retryAfterSec: secondsUntil(w.windowEnds, now) };
          const [[bytesErr, total] = [], [dayErr] = []] = (await o.redis.multi().incrby(byteKey, size).pexpire(byteKey, 2 * DAY_MS).exec()) ?? [];
          if (bytesErr || dayErr) throw bytesErr ?? dayErr;
          if (Number(total) > limits.dailyQuotaBytes) {
            await o.redis.decrby(byteKey, size);
            return { ok: false, code: 'MEDIA_QUOTA_EXCEEDED', retryAfterSec: secondsUntil(w.dayEnds, now) };
          }
          return { ok: true };
        })();
        if (failing) o.logger.info('media allowance store answers again');
        failing = false;
        return verdict;
      } catch (err) {
        if (!failing) o.logger.warn('media allowance store failed; uploads are not counted while it does', { err });
        failing = true;
        return { ok: true };
      }
    },
  };
}
