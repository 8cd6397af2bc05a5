import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../redis/client.js';
import type { StampedMessage } from '../../schemas/types.generated.js';

/** Test support for suites on the real stack (not a test itself): a Redis key prefix per test. */
export { openTestMongo } from '../mongo/testing.js';

export async function openTestRedis(label: string): Promise<{ redis: Redis; prefix: string; close: () => Promise<void> }> {
  const url = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
  const redis = await connectRedis(url, `test-${label}`);
  const prefix = `test-${label}-${randomUUID().slice(0, 8)}:`;
  return {
    redis,
    prefix,
    close: async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

/** A stamped message of `conversationId` (d:<a>:<b> sent by a, or g:<group> sent by alice). */
export function msg(conversationId: string, seq: number, over: Partial<StampedMessage> = {}): StampedMessage {
  const direct = conversationId.startsWith('d:');
  const [a, b] = direct ? conversationId.slice(2).split(':') : ['alice', conversationId.slice(2)];
  return {
    correlationId: `corr-${conversationId}-${seq}`,
    messageId: `m-${conversationId}-${seq}`,
    seq,
    sender: a!,
    origin: { gatewayId: 'gw', connectionId: 'c', deviceId: 'd' },
    clientMsgId: `c-${seq}`,
    conversationId,
    recipientKind: direct ? 'USER' : 'GROUP',
    recipientId: b!,
    content: `text ${seq}`,
    contentType: 'text',
    mentions: [],
    clientTimestamp: seq,
    receivedAt: seq,
    stampedAt: 1_000 + seq,
    ...over,
  };
}

