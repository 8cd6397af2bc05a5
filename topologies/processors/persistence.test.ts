import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { createMongoMessageStore } from '../../connectors/message-store/message-store-mongo.js';
import type { MessageStore } from '../../connectors/message-store/message-store.js';
import { createMemoryRecentCache } from '../../connectors/message-store/recent-cache-memory.js';
import { msg, openTestMongo } from '../../connectors/message-store/testing.js';
import type { MessageAction, MessageActionKind, StampedMessage } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { groupCommit, persistence, type PersistenceConfig, type PersistenceDeps } from './persistence.js';

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

const start = (deps: PersistenceDeps, config: PersistenceConfig) => TopologyTestDriver.start(new Topology('persistence-test').processor('persist', persistence(deps, config)));

describe.each(stores)('persistence writer ($name)', ({ open }) => {
  let closeStore: () => Promise<void> = async () => {};
  afterEach(async () => {
    await closeStore();
    closeStore = async () => {};
  });

  it('writes each message once under redelivery, with the conversation at its max seq and the recent cache filled', async () => {
    const { store, close } = await open();
    closeStore = close;
    const recent = createMemoryRecentCache({ perConversation: 100 });
    const convs = ['d:alice:bob', 'g:G', 'd:bob:carol'];
    const input = convs.flatMap((c) => Array.from({ length: 40 }, (_, i) => msg(c, i + 1)));
    const driver = await start({ store, recent }, { maxItems: 25 });
    await driver.pipe('im.msg.stamped', input.map((m) => ({ key: m.conversationId, value: m })));
    // The same records again, as a redelivery after a crash would bring them.
    await driver.pipe('im.msg.stamped', input.slice(10, 70).map((m) => ({ key: m.conversationId, value: m })));
    const stored = async (s: MessageStore, c: string) => (await s.history(c, { afterSeq: 0, limit: 1000 })).messages.map((m) => m.seq);
    for (const c of convs) {
      expect(await stored(store, c)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect((await store.conversation(c))!.maxSeq).toBe(40);
      expect((await recent.range(c, 1, 100, 100)).map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });
});

describe.each(stores)('persistence writer applies changes ($name)', ({ open }) => {
  it('applies recall, edit and reactions to the stored and cached message, and records delete for me per user', async () => {
    const { store, close } = await open();
    try {
      const recent = createMemoryRecentCache({ perConversation: 100 });
      const c = 'd:amy:bo';
      const change = (seq: number, kind: MessageActionKind, target: number, state: Partial<MessageAction>, content = '', conversationId = c): StampedMessage =>
        msg(conversationId, seq, { contentType: 'system/change', content, stampedAt: 5_000 + seq, action: { kind, targetConversationId: c, targetSeq: target, targetMessageId: null, emoji: null, privileged: false, targetSender: 'amy', version: 0, reactions: [], ...state } });
      const input = [
        msg(c, 1), msg(c, 2),
        change(3, 'EDIT', 1, { version: 1 }, JSON.stringify({ event: 'edited', content: 'edited once' })),
        change(4, 'REACT', 1, { emoji: '👍', reactions: [{ emoji: '👍', users: ['bo'] }] }),
        change(5, 'RECALL', 2, {}),
        { ...change(1, 'DELETE_FOR_ME', 1, {}, '', 'd:bo:bo'), sender: 'bo' },
      ];
      const driver = await start({ store, recent }, { maxItems: 2 });
      await driver.pipe('im.msg.stamped', input.map((m) => ({ key: m.conversationId, value: m })));
      const [one, two] = (await store.history(c, { afterSeq: 0, limit: 2 })).messages;
      expect(one).toMatchObject({ content: 'edited once', version: 1, editedAt: 5_003, reactions: [{ emoji: '👍', users: ['bo'] }] });
      expect(two).toMatchObject({ content: '', recalled: true });
      const [cachedOne, cachedTwo] = await recent.range(c, 1, 2, 2);
      expect(cachedOne).toMatchObject({ content: 'edited once', version: 1 });
      expect(cachedTwo).toMatchObject({ content: '', recalled: true });
      expect(await store.hiddenSeqs('bo', c, [1, 2])).toEqual(new Set([1]));
      expect(await store.hiddenSeqs('amy', c, [1, 2])).toEqual(new Set());
      expect(driver.read('im.dlq')).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe('persistence writer while the store fails', () => {
  it('stalls and retries instead of dead-lettering, then writes everything once', async () => {
    const inner = createMemoryMessageStore();
    let writes = 0;
    const store: MessageStore = { ...inner, writeBatch: async (b) => (++writes <= 3 ? Promise.reject(new Error('connection reset')) : inner.writeBatch(b)) };
    const driver = await start({ store }, { maxItems: 10, writeRetryMaxMs: 20 });
    const input = Array.from({ length: 30 }, (_, i) => msg('g:F', i + 1));
    // The pipe resolves once the batch is written: after the retries, not instead of them.
    await driver.pipe('im.msg.stamped', input.map((m) => ({ key: m.conversationId, value: m })));
    expect(writes).toBe(3 + 3); // three refused, then the three chunks of ten
    expect((await inner.conversation('g:F'))?.maxSeq).toBe(30);
    expect((await inner.history('g:F', { afterSeq: 0, limit: 100 })).messages).toHaveLength(30);
    expect(driver.read('im.dlq')).toHaveLength(0);
  });
});

describe('group commit of the writer', () => {
  it('writes the batches handed over in one turn as one bulk, and those arriving during a write in the next', async () => {
    const writes: number[][] = [];
    let release: () => void = () => {};
    const commit = groupCommit<number>(async (items) => {
      writes.push(items);
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = [commit([1, 2]), commit([3])];
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // The first bulk is in flight: these wait for it, then go together.
    const second = [commit([4]), commit([5, 6])];
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([[1, 2, 3]]);
    release();
    await Promise.all([...first, ...second]);
    expect(writes).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it('writes a failed bulk again one batch at a time: the bad batch fails alone, its neighbours are stored', async () => {
    const stored: number[] = [];
    const commit = groupCommit<number>(async (items) => {
      if (items.includes(13)) throw new Error('refused: 13');
      stored.push(...items);
    });
    const results = await Promise.allSettled([commit([1]), commit([13]), commit([2, 3])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(stored.sort()).toEqual([1, 2, 3]);
  });
});
