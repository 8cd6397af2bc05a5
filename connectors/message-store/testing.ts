import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../edge/redis/client.js';
import type { StampedMessage } from '../../schemas/types.generated.js';

/**
 * Test support for suites on the real stack (not a test itself): a fresh MongoDB database and
 * a Redis key prefix per test. A missing service throws, so suites fail and never skip.
 */
export async function openTestMongo(label: string): Promise<{ db: Db; close: () => Promise<void> }> {
  const url = process.env.IM_MONGO_URL_TEST ?? 'mongodb://127.0.0.1:27017';
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (err) {
    throw new Error(`MongoDB is required at ${url} (IM_MONGO_URL_TEST); start it with \`make up\``, { cause: err });
  }
  const db = client.db(`im_test_${label}_${randomUUID().slice(0, 8)}`);
  return {
    db,
    close: async () => {
      await db.dropDatabase();
      await client.close();
    },
  };
}

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

