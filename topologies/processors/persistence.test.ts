import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { createMongoMessageStore } from '../../connectors/message-store/message-store-mongo.js';
import type { MessageStore } from '../../connectors/message-store/message-store.js';
import { createMemoryRecentCache } from '../../connectors/message-store/recent-cache-memory.js';
import { msg, openTestMongo } from '../../connectors/message-store/testing.js';
import { engines, eventually } from '../../streams/testing.js';
import { persistence } from './persistence.js';
import { openKit, type ProcessorKit } from './push-orchestrator-testkit.js';

const stores = [
  { name: 'memory store', open: async () => ({ store: createMemoryMessageStore(), close: async () => {} }) },
  {
    name: 'mongodb store',
    open: async () => {
      const t = await openTestMongo('persist');
      return { store: await createMongoMessageStore({ db: t.db }), close: t.close };
    },
  },
] as const;

for (const engine of engines) {
  describe.each(stores)(`persistence writer on the ${engine.name} engine ($name)`, ({ open }) => {
    let kit: ProcessorKit | undefined;
    let closeStore: () => Promise<void> = async () => {};
    afterEach(async () => {
      await kit?.close();
      await closeStore();
      kit = undefined;
    });

    it('writes each message once under redelivery, with the conversation at its max seq and the recent cache filled', async () => {
      const { store, close } = await open();
      closeStore = close;
      kit = await openKit(engine.create, ['im.msg.stamped']);
      const recent = createMemoryRecentCache({ perConversation: 100 });
      const convs = ['d:alice:bob', 'g:G', 'd:bob:carol'];
      const input = convs.flatMap((c) => Array.from({ length: 40 }, (_, i) => msg(c, i + 1)));
      await kit.start('persist', persistence({ store, recent }, { maxItems: 25 }));
      await kit.produce('im.msg.stamped', input.map((m) => ({ key: m.conversationId, value: m })));
      // The same records again, as a redelivery after a crash would bring them.
      await kit.produce('im.msg.stamped', input.slice(10, 70).map((m) => ({ key: m.conversationId, value: m })));
      const stored = async (s: MessageStore, c: string) => (await s.history(c, { afterSeq: 0, limit: 1000 })).messages.map((m) => m.seq);
      await eventually(async () => (await Promise.all(convs.map((c) => stored(store, c)))).every((s) => s.length === 40), 'all stored');
      await new Promise((r) => setTimeout(r, 200));
      for (const c of convs) {
        expect(await stored(store, c)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        expect((await store.conversation(c))!.maxSeq).toBe(40);
        expect((await recent.range(c, 1, 100, 100)).map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      }
    });
  });

  describe(`persistence writer on the ${engine.name} engine while the store fails`, () => {
    let kit: ProcessorKit | undefined;
    afterEach(async () => {
      await kit?.close();
      kit = undefined;
    });

    it('stalls and retries instead of dead-lettering, then writes everything once', async () => {
      kit = await openKit(engine.create, ['im.msg.stamped', 'im.dlq']);
      const inner = createMemoryMessageStore();
      let failures = 3;
      const store: MessageStore = { ...inner, writeBatch: async (b) => (failures-- > 0 ? Promise.reject(new Error('connection reset')) : inner.writeBatch(b)) };
      await kit.start('persist', persistence({ store }, { maxItems: 10, writeRetryMaxMs: 20 }));
      const dlq = await kit.collect('im.dlq');
      const input = Array.from({ length: 30 }, (_, i) => msg('g:F', i + 1));
      await kit.produce('im.msg.stamped', input.map((m) => ({ key: m.conversationId, value: m })));
      await eventually(async () => (await inner.conversation('g:F'))?.maxSeq === 30, 'all written');
      expect((await inner.history('g:F', { afterSeq: 0, limit: 100 })).messages).toHaveLength(30);
      expect(dlq.records).toHaveLength(0);
    });
  });
}
