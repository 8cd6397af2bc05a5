import { describe, expect, it } from 'vitest';
import { createMongoMessageStore } from '../message-store/message-store-mongo.js';
import { msg } from '../message-store/testing.js';
import { openTestMongo } from './testing.js';
import { inChunks, mongoClientOptions } from './pool.js';

describe('MongoDB pool bounds', () => {
  it('sizes every client from the settings, with no idle minimum', () => {
    expect(mongoClientOptions({ maxPoolSize: 10, waitQueueTimeoutMs: 5_000 }, { monitorCommands: true })).toEqual({
      maxPoolSize: 10,
      minPoolSize: 0,
      waitQueueTimeoutMS: 5_000,
      monitorCommands: true,
    });
  });

  it('cuts statements into ordered commands of a bounded size', () => {
    expect(inChunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(inChunks([], 16)).toEqual([]);
    expect(inChunks([1, 2], 0)).toEqual([[1], [2]]);
  });

  // FerretDB 1.24 held a PostgreSQL connection per matched update statement until the command
  // ended: one batch over more existing conversations than its pool stopped it for good.
  it('writes a batch over 150 existing conversations and the server still answers', async () => {
    const t = await openTestMongo('pool');
    const store = await createMongoMessageStore({ db: t.db });
    try {
      const conversations = Array.from({ length: 150 }, (_, i) => `d:a${i}:b${i}`);
      expect(await store.writeBatch(conversations.map((c) => msg(c, 1)))).toEqual({ inserted: 150, duplicates: 0 });
      expect(await store.writeBatch(conversations.map((c) => msg(c, 2)))).toEqual({ inserted: 150, duplicates: 0 });
      expect((await t.db.command({ ping: 1 })).ok).toBe(1);
      expect((await store.conversation(conversations[149]!))?.maxSeq).toBe(2);
    } finally {
      await store.close();
      await t.close();
    }
  }, 60_000);
});
