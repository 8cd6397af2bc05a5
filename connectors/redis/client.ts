import { Redis } from 'ioredis';
import { PlatformError } from '../../core/errors.js';

/**
 * One way to open a Redis connection (presence, push bus, recent cache): connected before it
 * is returned, so a missing Redis fails start-up (and tests) loudly instead of queueing
 * commands forever.
 * Later outages are retried with capped back-off; a command fails after a few tries rather
 * than hanging, so a presence write can never stall a WebSocket handler for long.
 */
export async function connectRedis(url: string, name: string, options: { subscriber?: boolean } = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // Commands issued in one tick go out in one write: a batch's pushes and presence lookups
    // cost one syscall, not one each (the profile's largest Redis cost). Not for a subscriber.
    enableAutoPipelining: !options.subscriber,
    connectionName: name,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
  });
  // Without a listener ioredis prints every connection error; callers see failures on commands.
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new PlatformError('REDIS_UNAVAILABLE', `Redis not reachable at ${url} (start the stack with \`make up\`): ${(err as Error).message}`, {
      retriable: true,
      cause: err,
    });
  }
  return redis;
}
