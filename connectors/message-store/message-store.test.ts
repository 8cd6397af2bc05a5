import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationSettings, MessageAction, MessageActionKind, StampedMessage } from '../../schemas/types.generated.js';
import type { MessageStore, ReceiptPositionMove } from './message-store.js';
import { createMemoryMessageStore } from './message-store-memory.js';
import { createMongoMessageStore } from './message-store-mongo.js';
import type { RecentCache } from './recent-cache.js';
import { pageFromCache } from './recent-cache.js';
import { createMemoryRecentCache } from './recent-cache-memory.js';
import { createRedisRecentCache } from './recent-cache-redis.js';
import { msg, openTestMongo, openTestRedis } from './testing.js';

const read = (conversationId: string, userId: string, seq: number): ReceiptPositionMove => ({ conversationId, userId, readSeq: seq, deliveredSeq: seq });
const delivered = (conversationId: string, userId: string, seq: number): ReceiptPositionMove => ({ conversationId, userId, readSeq: 0, deliveredSeq: seq });

const stores = [
  { name: 'memory', open: async () => ({ store: createMemoryMessageStore(), close: async () => {} }) },
  {
    name: 'mongodb',
    open: async () => {
      const t = await openTestMongo('store');
      return { store: await createMongoMessageStore({ db: t.db }), close: t.close };
    },
  },
] as const;

describe.each(stores)('message store ($name)', ({ open }) => {
  let store: MessageStore;
  let close: () => Promise<void> = async () => {};
  afterEach(async () => {
    await store.close();
    await close();
  });
  const setup = async () => ({ store, close } = await open());
  const seqsOf = (ms: { seq: number }[]) => ms.map((m) => m.seq);

  it('stores a redelivered batch once and keeps the conversation at its max seq', async () => {
    await setup();
    const batch = [1, 2, 3].map((s) => msg('d:alice:bob', s));
    expect(await store.writeBatch(batch)).toEqual({ inserted: 3, duplicates: 0 });
    expect(await store.writeBatch([...batch, msg('d:alice:bob', 4)])).toEqual({ inserted: 1, duplicates: 3 });
    expect(await store.writeBatch(batch.slice(0, 2))).toEqual({ inserted: 0, duplicates: 2 });
    const page = await store.history('d:alice:bob', { afterSeq: 0, limit: 100 });
    expect(seqsOf(page.messages)).toEqual([1, 2, 3, 4]);
    expect(page.messages[0]).not.toHaveProperty('origin');
    const conv = await store.conversation('d:alice:bob');
    expect(conv).toMatchObject({ kind: 'direct', members: ['alice', 'bob'], maxSeq: 4 });
    expect(conv!.lastMessage.seq).toBe(4);
  });

  it('never moves a conversation back: a stale batch after a newer one, two batches at once on a new one', async () => {
    await setup();
    await store.writeBatch([msg('d:carol:dave', 5)]);
    await store.writeBatch([msg('d:carol:dave', 3)]);
    expect((await store.conversation('d:carol:dave'))!.lastMessage.seq).toBe(5);
    await Promise.all([store.writeBatch([msg('g:race', 7)]), store.writeBatch([msg('g:race', 8)])]);
    const conv = await store.conversation('g:race');
    expect([conv!.maxSeq, conv!.lastMessage.seq]).toEqual([8, 8]);
  });

  it('pages history forward and backward with has_more', async () => {
    await setup();
    await store.writeBatch(Array.from({ length: 25 }, (_, i) => msg('g:G', i + 1)));
    const first = await store.history('g:G', { afterSeq: 0, limit: 10 });
    expect(seqsOf(first.messages)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first.hasMore).toBe(true);
    const last = await store.history('g:G', { afterSeq: 20, limit: 10 });
    expect([seqsOf(last.messages), last.hasMore]).toEqual([[21, 22, 23, 24, 25], false]);
    const latest = await store.history('g:G', { limit: 5 });
    expect([seqsOf(latest.messages), latest.hasMore]).toEqual([[21, 22, 23, 24, 25], true]);
    const older = await store.history('g:G', { beforeSeq: 4, limit: 5 });
    expect([seqsOf(older.messages), older.hasMore]).toEqual([[1, 2, 3], false]);
    const window = await store.history('g:G', { afterSeq: 5, beforeSeq: 9, limit: 10 });
    expect([seqsOf(window.messages), window.hasMore]).toEqual([[6, 7, 8], false]);
  });

  it('lists a user\'s direct conversations and listed groups, newest first, and keeps read positions monotonic', async () => {
    await setup();
    await store.writeBatch([msg('d:alice:bob', 1), msg('d:bob:carol', 1, { stampedAt: 5_000 }), msg('g:G', 1, { stampedAt: 9_000 }), msg('g:H', 1)]);
    await store.writeBatch([msg('d:alice:bob', 2, { stampedAt: 7_000 })]);
    const list = await store.conversationsOf('bob', ['g:G'], 10);
    expect(list.map((c) => c.conversationId)).toEqual(['g:G', 'd:alice:bob', 'd:bob:carol']);
    expect(list[1]!.maxSeq).toBe(2);
    await store.movePositions([read('d:alice:bob', 'bob', 2)]);
    await store.movePositions([read('d:alice:bob', 'bob', 1)]);
    expect(await store.readSeqs('bob', ['d:alice:bob', 'g:G'])).toEqual(new Map([['d:alice:bob', 2]]));
  });

  it('mirrors each user\'s conversation settings as they now are, per user', async () => {
    await setup();
    const settings = (userId: string, conversationId: string, over: Partial<ConversationSettings> = {}): ConversationSettings => ({ userId, conversationId, muted: 'NONE', pinned: false, archived: false, markedUnread: false, updatedAt: 1, ...over });
    await store.setConversationSettings(settings('bob', 'd:alice:bob', { muted: 'MENTIONS', pinned: true }));
    await store.setConversationSettings(settings('alice', 'd:alice:bob', { archived: true }));
    await store.setConversationSettings(settings('bob', 'd:alice:bob', { muted: 'ALL', markedUnread: true, updatedAt: 2 }));
    expect(await store.conversationSettings('bob', ['d:alice:bob', 'g:G'])).toEqual(new Map([['d:alice:bob', settings('bob', 'd:alice:bob', { muted: 'ALL', markedUnread: true, updatedAt: 2 })]]));
    expect((await store.conversationSettings('alice', ['d:alice:bob'])).get('d:alice:bob')?.archived).toBe(true);
    expect(await store.conversationSettings('carol', [])).toEqual(new Map());
  });

  it('keeps delivered and read positions forward only, reading implying delivery; counts and pages who reached a seq', async () => {
    await setup();
    const g = 'g:R';
    // One bulk of new positions, then late ones that move nothing back.
    await store.movePositions([delivered(g, 'u3', 5), read(g, 'u1', 4), delivered(g, 'u2', 4), read(g, 'u4', 1), read(g, 'sender', 9), read('g:other', 'u5', 9)]);
    await store.movePositions([delivered(g, 'u3', 2), delivered(g, 'u1', 3)]);
    expect(await store.positions([{ conversationId: g, userId: 'u1' }, { conversationId: g, userId: 'u3' }, { conversationId: g, userId: 'nobody' }]))
      .toEqual(new Map([[`${g}|u1`, { readSeq: 4, deliveredSeq: 4 }], [`${g}|u3`, { readSeq: 0, deliveredSeq: 5 }]]));
    expect(await store.readSeqs('u3', [g])).toEqual(new Map());
    expect(await store.receiptsAt(g, 4, 'read', { limit: 10, exclude: 'sender' })).toEqual({ count: 1, users: ['u1'], hasMore: false });
    const first = await store.receiptsAt(g, 4, 'delivered', { limit: 2, exclude: 'sender' });
    expect(first).toEqual({ count: 3, users: ['u1', 'u2'], hasMore: true });
    expect(await store.receiptsAt(g, 4, 'delivered', { limit: 2, after: 'u2', exclude: 'sender' })).toEqual({ count: 3, users: ['u3'], hasMore: false });
    expect(await store.receiptsAt(g, 4, 'delivered', { limit: 10 })).toEqual({ count: 4, users: ['sender', 'u1', 'u2', 'u3'], hasMore: false });
  });

  it('a recall turns the quotes of replies to the recalled message into tombstones, once', async () => {
    await setup();
    const c = 'd:amy:bo';
    const quote = (seq: number) => ({ conversationId: c, seq, messageId: `m-${c}-${seq}`, sender: 'amy', excerpt: 'the secret', contentType: 'text', recalled: false, stampedAt: 1 });
    await store.writeBatch([msg(c, 1), msg(c, 2, { replyTo: quote(1) }), msg(c, 3, { replyTo: quote(1) }), msg(c, 4, { replyTo: { ...quote(2), sender: 'bo' } })]);
    const recall = changeEvent(c, 5, 'RECALL', 1);
    await store.writeBatch([recall]);
    const changed = await store.applyChanges([recall]);
    expect(changed.map((m) => [m.seq, m.replyTo?.excerpt ?? null, m.replyTo?.recalled ?? null])).toEqual([[1, null, null], [2, '', true], [3, '', true]]);
    expect((await store.applyChanges([recall])).map((m) => m.seq)).toEqual([1]); // the recall again: its quotes were done
    const page = await store.history(c, { afterSeq: 0, limit: 10 });
    expect(page.messages.map((m) => m.replyTo?.excerpt ?? null)).toEqual([null, '', '', 'the secret', null]);
  });

  it('applies changes to their targets: a recall is final, edits and reactions only over older ones; delete for me per user', async () => {
    await setup();
    const c = 'd:amy:bo';
    await store.writeBatch([1, 2, 3].map((s) => msg(c, s)));
    const edit1 = changeEvent(c, 4, 'EDIT', 1, { version: 1 }, 'first edit');
    const edit2 = changeEvent(c, 5, 'EDIT', 1, { version: 2 }, 'second edit');
    const react = changeEvent(c, 6, 'REACT', 1, { reactions: [{ emoji: '👍', users: ['bo'] }] });
    const reactLater = changeEvent(c, 7, 'REACT', 1, { reactions: [{ emoji: '👍', users: ['bo', 'amy'] }] });
    const recall = changeEvent(c, 8, 'RECALL', 2);
    const events = [edit1, edit2, react, reactLater, recall];
    await store.writeBatch(events);
    const changed = await store.applyChanges(events);
    expect(changed.map((m) => m.seq)).toEqual([1, 1, 1, 1, 2]);
    // The same events again, and older ones after newer (a redelivery): nothing moves back.
    expect(await store.applyChanges([edit1, react, edit2])).toEqual([]);
    const page = await store.history(c, { afterSeq: 0, limit: 10 });
    const one = page.messages[0]!;
    expect(one).toMatchObject({ content: 'second edit', version: 2, editedAt: edit2.stampedAt, reactions: [{ emoji: '👍', users: ['bo', 'amy'] }], reactionsSeq: 7 });
    expect(page.messages[1]).toMatchObject({ seq: 2, recalled: true, content: '', reactions: [] });
    // A recalled message takes no edit or reaction any more.
    expect(await store.applyChanges([changeEvent(c, 9, 'EDIT', 2, { version: 1 }, 'too late'), changeEvent(c, 10, 'REACT', 2, { reactions: [{ emoji: '🎉', users: ['bo'] }] })])).toEqual([]);
    expect((await store.history(c, { afterSeq: 1, limit: 1 })).messages[0]).toMatchObject({ content: '', recalled: true });

    await store.hide([{ userId: 'bo', conversationId: c, seq: 3 }, { userId: 'bo', conversationId: c, seq: 3 }, { userId: 'bo', conversationId: 'g:G', seq: 3 }]);
    expect(await store.hiddenSeqs('bo', c, [1, 2, 3])).toEqual(new Set([3]));
    expect(await store.hiddenSeqs('amy', c, [1, 2, 3])).toEqual(new Set());
    expect(await store.hiddenSeqs('bo', c, [])).toEqual(new Set());
  });

  it('applies MEDIA_READY: the target takes the measured entries, applied twice the same; a recall empties them', async () => {
    await setup();
    const c = 'd:amy:bo';
    const entry = { id: 'm0123456789ABCDEFGHIJKLMNOP', kind: 'image', mime: 'image/png', size: 10, name: 'a.png', width: null, height: null, durationMs: null, thumbnail: false };
    const measured = { ...entry, width: 640, height: 480, thumbnail: true };
    await store.writeBatch([msg(c, 1, { contentType: 'image', content: '', media: [entry] })]);
    const ready = msg(c, 2, { contentType: 'system/media_ready', action: { kind: 'MEDIA_READY', targetConversationId: c, targetSeq: 1, targetMessageId: `m-${c}-1`, emoji: null, privileged: false, targetSender: null, version: 0, reactions: [] }, media: [measured] });
    await store.writeBatch([ready]);
    expect((await store.applyChanges([ready])).map((m) => m.media)).toEqual([[measured]]);
    await store.applyChanges([ready]);
    expect((await store.history(c, { afterSeq: 0, limit: 1 })).messages[0]!.media).toEqual([measured]);
    await store.applyChanges([changeEvent(c, 3, 'RECALL', 1)]);
    expect((await store.history(c, { afterSeq: 0, limit: 1 })).messages[0]).toMatchObject({ recalled: true, media: [] });
  });
});

/** A change event at `seq` of `conversationId` on its message `target`, with the action's state. */
function changeEvent(conversationId: string, seq: number, kind: MessageActionKind, target: number, state: Partial<MessageAction> = {}, text = ''): StampedMessage {
  const action: MessageAction = { kind, targetConversationId: conversationId, targetSeq: target, targetMessageId: `m-${conversationId}-${target}`, emoji: null, privileged: false, targetSender: null, version: 0, reactions: [], ...state };
  return msg(conversationId, seq, { contentType: 'system/change', content: JSON.stringify({ content: text }), action, stampedAt: 10_000 + seq });
}

const caches = [
  { name: 'memory', open: async () => ({ cache: createMemoryRecentCache({ perConversation: 10 }), close: async () => {} }) },
  {
    name: 'redis',
    open: async () => {
      const t = await openTestRedis('recent');
      return { cache: createRedisRecentCache({ redis: t.redis, keyPrefix: t.prefix, perConversation: 10, ttlSec: 60 }), close: t.close };
    },
  },
] as const;

describe.each(caches)('recent cache ($name)', ({ open }) => {
  let cache: RecentCache;
  let close: () => Promise<void> = async () => {};
  afterEach(async () => {
    await cache.close();
    await close();
  });

  it('keeps the newest messages, once each, and answers only pages it fully covers', async () => {
    ({ cache, close } = await open());
    const all = Array.from({ length: 30 }, (_, i) => msg('d:alice:bob', i + 1));
    await cache.append(all.slice(0, 20));
    await cache.append(all.slice(15, 30)); // overlap, as after a redelivery
    const seqs = (p: { messages: { seq: number }[] } | null) => p && p.messages.map((m) => m.seq);
    expect(seqs(await pageFromCache(cache, 'd:alice:bob', { afterSeq: 22, limit: 5 }))).toEqual([23, 24, 25, 26, 27]);
    expect((await pageFromCache(cache, 'd:alice:bob', { afterSeq: 27, limit: 5 }))!.hasMore).toBe(false);
    expect(seqs(await pageFromCache(cache, 'd:alice:bob', { limit: 4 }))).toEqual([27, 28, 29, 30]);
    // seq 20 and below were trimmed: the store must answer
    expect(await pageFromCache(cache, 'd:alice:bob', { afterSeq: 10, limit: 5 })).toBeNull();
    expect(await pageFromCache(cache, 'd:alice:bob', { beforeSeq: 25, limit: 10 })).toBeNull();
    expect(seqs(await pageFromCache(cache, 'd:alice:bob', { beforeSeq: 25, limit: 4 }))).toEqual([21, 22, 23, 24]);
    expect(await pageFromCache(cache, 'd:nobody:else', { limit: 4 })).toBeNull();
  });

  it('replaces a changed message only where it is cached', async () => {
    ({ cache, close } = await open());
    await cache.append(Array.from({ length: 15 }, (_, i) => msg('d:alice:bob', i + 1)));
    await cache.update([{ ...msg('d:alice:bob', 12), content: '', recalled: true }, msg('d:alice:bob', 2, { content: 'trimmed long ago' }), msg('d:x:y', 1)]);
    const cached = await cache.range('d:alice:bob', 1, 100, 100);
    expect(cached.map((m) => m.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(cached.find((m) => m.seq === 12)).toMatchObject({ content: '', recalled: true });
    expect(await cache.range('d:x:y', 1, 100, 100)).toEqual([]);
  });
});
