import type { Redis } from 'ioredis';
import type { StatusStore } from './status.js';

export interface RedisStatusOptions {
  redis: Redis;
  /** Away marks live this long without being set again (the heartbeat timeout): a crashed gateway's go. */
  ttlMs: number;
  /** Key prefix; tests use their own so runs never collide. */
  keyPrefix?: string;
  ownsClient?: boolean;
}

/** The state last told is kept a day: long enough to skip repeats, short enough not to pile up. */
const TOLD_TTL_MS = 86_400_000;
const CHUNK = 1_000;

/** `seen:` keeps the later time: two gateways stamping out of order never move it back. */
const SEE = `local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 0`;

/**
 * Presence status in Redis, shared by every gateway (keys under `im:people:`):
 * - `away:<user>`: hash connectionId -> 1, TTL renewed by each change;
 * - `seen:<user>`: epoch ms the user was last connected (no TTL; the user store keeps it too);
 * - `slot:<user>`: the user's event slot, `SET NX PX window`: one event a window over all gateways;
 * - `told:<user>`: the state last told to friends.
 */
export function createRedisStatusStore(options: RedisStatusOptions): StatusStore {
  const { redis, ttlMs } = options;
  const p = options.keyPrefix ?? 'im:people:';
  const awayKey = (u: string): string => `${p}away:${u}`;
  const seenKey = (u: string): string => `${p}seen:${u}`;
  const check = (replies: [Error | null, unknown][] | null): unknown[] =>
    (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  return {
    async setAway(userId, connectionId, away) {
      if (away) await redis.multi().hset(awayKey(userId), connectionId, '1').pexpire(awayKey(userId), ttlMs).exec();
      else await redis.hdel(awayKey(userId), connectionId);
    },
    async awayOf(userIds) {
      const out = new Map<string, Set<string>>();
      if (userIds.length === 0) return out;
      const pipe = redis.pipeline();
      for (const u of userIds) pipe.hkeys(awayKey(u));
      check(await pipe.exec()).forEach((ids, i) => {
        if ((ids as string[]).length > 0) out.set(userIds[i]!, new Set(ids as string[]));
      });
      return out;
    },
    async closed(userId, connectionId, at) {
      check(await redis.pipeline().hdel(awayKey(userId), connectionId).eval(SEE, 1, seenKey(userId), at).exec());
    },
    async seen(userIds, at) {
      for (let i = 0; i < userIds.length; i += CHUNK) {
        const pipe = redis.pipeline();
        for (const u of userIds.slice(i, i + CHUNK)) pipe.eval(SEE, 1, seenKey(u), at);
        check(await pipe.exec());
      }
    },
    async lastSeen(userIds) {
      const out = new Map<string, number>();
      if (userIds.length === 0) return out;
      const values = await redis.mget(userIds.map(seenKey));
      values.forEach((v, i) => {
        if (v !== null) out.set(userIds[i]!, Number(v));
      });
      return out;
    },
    async claim(userId, windowMs) {
      if (windowMs <= 0) return 0;
      const key = `${p}slot:${userId}`;
      if ((await redis.set(key, '1', 'PX', windowMs, 'NX')) === 'OK') return 0;
      // Expired between the two calls: free now.
      return Math.max(0, await redis.pttl(key));
    },
    async swapTold(userId, told) {
      return redis.set(`${p}told:${userId}`, told, 'PX', TOLD_TTL_MS, 'GET');
    },
    async close() {
      if (options.ownsClient) await redis.quit();
    },
  };
}
