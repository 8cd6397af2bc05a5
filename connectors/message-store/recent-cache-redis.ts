import type { Redis } from 'ioredis';
import type { StoredMessage } from './message-store.js';
import type { RecentCache, RecentCacheConfig } from './recent-cache.js';

export interface RedisRecentCacheOptions extends RecentCacheConfig {
  redis: Redis;
  keyPrefix?: string;
  /** Quit the client on close (when the cache opened it). */
  ownsClient?: boolean;
}

/**
 * The recent-message cache on Redis: one sorted set per conversation, scored by seq. Appends
 * replace any member at the same seq first, so a redelivered message never appears twice;
 * the set is trimmed to the newest `perConversation` and expires when idle.
 */
/** Replaces the member at a seq only when there is one (atomic, so a trim or expiry between cannot re-add it). */
const REPLACE_IF_CACHED = "if redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1]) > 0 then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) return 1 end return 0";

export function createRedisRecentCache(options: RedisRecentCacheOptions): RecentCache {
  const { redis } = options;
  const key = (conversationId: string) => `${options.keyPrefix ?? 'im:recent:'}${conversationId}`;
  return {
    async append(messages) {
      if (messages.length === 0) return;
      const tx = redis.multi();
      const touched = new Set<string>();
      for (const m of messages) {
        const k = key(m.conversationId);
        touched.add(k);
        tx.zremrangebyscore(k, m.seq, m.seq);
        tx.zadd(k, m.seq, JSON.stringify(m));
      }
      for (const k of touched) {
        tx.zremrangebyrank(k, 0, -(options.perConversation + 1));
        tx.expire(k, options.ttlSec);
      }
      const results = await tx.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async update(messages) {
      for (const m of messages) await redis.eval(REPLACE_IF_CACHED, 1, key(m.conversationId), m.seq, JSON.stringify(m));
    },
    async range(conversationId, lo, hi, limit, reverse = false) {
      const raw = reverse
        ? await redis.zrevrangebyscore(key(conversationId), hi, lo, 'LIMIT', 0, limit)
        : await redis.zrangebyscore(key(conversationId), lo, hi, 'LIMIT', 0, limit);
      return raw.map((s) => JSON.parse(s) as StoredMessage);
    },
    async close() {
      if (options.ownsClient) await redis.quit();
    },
  };
}
