import type { Redis } from 'ioredis';

/**
 * Deletes the keys under one test's prefix (what a Redis restarted empty would have lost) and
 * returns how many: tests share one Redis, so none ever flushes it.
 */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
