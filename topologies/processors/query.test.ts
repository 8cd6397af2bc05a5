import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryGroupDirectory, startLogGroupDirectory } from '../../connectors/message-store/group-directory.js';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { createMongoMessageStore } from '../../connectors/message-store/message-store-mongo.js';
import type { MessageStore } from '../../connectors/message-store/message-store.js';
import type { RecentCache } from '../../connectors/message-store/recent-cache.js';
import { createMemoryRecentCache } from '../../connectors/message-store/recent-cache-memory.js';
import { createRedisRecentCache } from '../../connectors/message-store/recent-cache-redis.js';
import { msg, openTestMongo, openTestRedis } from '../../connectors/message-store/testing.js';
import { queryRoutes } from '../../edge/http/query-routes.js';
import { HttpError, type HttpRequest } from '../../edge/http/routes.js';
import type { SyncResultFrame } from '../../protocol/frames.js';
import { QueryService } from '../../edge/query/query-service.js';
import type { SyncCommand } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { queryProcessor } from './query.js';

const config = { defaultPageSize: 20, maxPageSize: 50, maxConversations: 100 };

const backends = [
  { name: 'memory', open: async () => ({ store: createMemoryMessageStore(), recent: createMemoryRecentCache({ perConversation: 10 }), close: async () => {} }) },
  {
    name: 'mongodb + redis',
    open: async () => {
      const m = await openTestMongo('query');
      const r = await openTestRedis('query');
      const store = await createMongoMessageStore({ db: m.db });
      const recent = createRedisRecentCache({ redis: r.redis, keyPrefix: r.prefix, perConversation: 10, ttlSec: 60 });
      return { store, recent, close: async () => (await r.close(), await m.close()) };
    },
  },
] as const;

/** 30 messages in d:alice:bob (the cache holds the last 10), 3 in g:G, 2 in g:H, 1 in d:bob:carol. */
async function seed(store: MessageStore, recent: RecentCache): Promise<void> {
  const batch = [
    ...Array.from({ length: 30 }, (_, i) => msg('d:alice:bob', i + 1)),
    ...[1, 2, 3].map((s) => msg('g:G', s, { stampedAt: 10_000 + s })),
    ...[1, 2].map((s) => msg('g:H', s)),
    msg('d:bob:carol', 1, { stampedAt: 5_000 }),
  ];
  await store.writeBatch(batch);
  await recent.append(batch);
}

const get = (path: string, userId: string, params: Record<string, string> = {}, query: Record<string, string> = {}): HttpRequest =>
  ({ method: 'GET', path, params, query, headers: {}, body: null, remoteAddress: '192.0.2.1', userId });

describe.each(backends)('query service and routes ($name)', ({ open }) => {
  let close: () => Promise<void> = async () => {};
  afterEach(async () => close());

  it('pages history from the cache and the store alike, and only for participants', async () => {
    const b = await open();
    close = async () => (await b.store.close(), await b.recent.close(), await b.close());
    await seed(b.store, b.recent);
    const service = new QueryService({ store: b.store, recent: b.recent, groups: createMemoryGroupDirectory([['G', 'bob']]), reads: b.store }, config);
    const seqs = (r: { messages: { sequence_number: number }[] }) => r.messages.map((m) => m.sequence_number);
    const recentPage = await service.history('bob', 'd:alice:bob', { afterSeq: 25 });
    expect([seqs(recentPage), recentPage.hasMore]).toEqual([[26, 27, 28, 29, 30], false]);
    const coldPage = await service.history('alice', 'd:alice:bob', { afterSeq: 0, limit: 8 });
    expect([seqs(coldPage), coldPage.hasMore]).toEqual([[1, 2, 3, 4, 5, 6, 7, 8], true]);
    const back = await service.history('alice', 'd:alice:bob', { beforeSeq: 13, limit: 5 });
    expect([seqs(back), back.hasMore]).toEqual([[8, 9, 10, 11, 12], true]);
    expect(recentPage.messages[0]).toMatchObject({ type: 'message', msg_id: 'm-d:alice:bob-26', sender: 'alice', conversation_id: 'd:alice:bob' });
    await expect(service.history('carol', 'd:alice:bob', {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(service.history('alice', 'g:G', {})).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(seqs(await service.history('bob', 'g:G', {}))).toEqual([1, 2, 3]);

    const routes = queryRoutes(service);
    const messages = routes.find((r) => r.path === '/v1/conversations/:id/messages')!;
    const res = await messages.handler(get('/v1/conversations/d:alice:bob/messages', 'bob', { id: 'd:alice:bob' }, { after_seq: '28', limit: '5' }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ conversation_id: 'd:alice:bob', has_more: false, messages: [{ sequence_number: 29 }, { sequence_number: 30 }] });
    await expect(messages.handler(get('/x', 'carol', { id: 'd:alice:bob' }))).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await expect(messages.handler(get('/x', 'bob', { id: 'd:alice:bob' }, { limit: 'many' }))).rejects.toBeInstanceOf(HttpError);
  });

  it('lists conversations with last message and unread = max seq - read seq', async () => {
    const b = await open();
    close = async () => (await b.store.close(), await b.recent.close(), await b.close());
    await seed(b.store, b.recent);
    await b.store.movePositions([{ conversationId: 'd:alice:bob', userId: 'bob', readSeq: 26, deliveredSeq: 26 }, { conversationId: 'g:G', userId: 'bob', readSeq: 3, deliveredSeq: 3 }]);
    const service = new QueryService({ store: b.store, recent: b.recent, groups: createMemoryGroupDirectory([['G', 'bob']]), reads: b.store }, config);
    const list = await service.conversations('bob');
    expect(list.map((c) => [c.conversationId, c.with, c.maxSeq, c.unread])).toEqual([
      ['g:G', 'G', 3, 0],
      ['d:bob:carol', 'carol', 1, 1],
      ['d:alice:bob', 'alice', 30, 4],
    ]);
    expect(list[2]!.lastMessage.sequence_number).toBe(30);
    const res = await queryRoutes(service).find((r) => r.path === '/v1/conversations')!.handler(get('/v1/conversations', 'bob'));
    expect((res.body as { conversations: { unread_count: number }[] }).conversations.map((c) => c.unread_count)).toEqual([0, 1, 4]);
  });
});

const sync = (over: Partial<SyncCommand>): SyncCommand => ({
  correlationId: 's',
  userId: 'bob',
  origin: { gatewayId: 'gw-b', connectionId: 'bob-1', deviceId: 'phone' },
  conversationId: null,
  afterSeq: 0,
  limit: 10,
  at: 1,
  ...over,
});

describe('sync', () => {
  it('answers sync_result pages to the asking connection, with unread sweeps and membership checks', async () => {
    const store = createMemoryMessageStore();
    const recent = createMemoryRecentCache({ perConversation: 10 });
    await seed(store, recent);
    // The group directory reads the membership topic itself, so it starts on the driver's log once the driver is up.
    const driver = await TopologyTestDriver.start(new Topology('sync-test').processor('sync', queryProcessor({ store, recent, groups: { groupsOf: (u) => groups.groupsOf(u) } }, config)));
    const groups = await startLogGroupDirectory({ log: driver.log, serde: driver.serde, appId: 'test' });
    await driver.pipe('im.state.members', [{ key: 'G|bob', value: { groupId: 'G', userId: 'bob', role: 'MEMBER', mutedUntil: 0, joinedAt: 1 } }]);
    await driver.pipe('im.state.reads', [{ key: 'd:alice:bob|bob', value: { conversationId: 'd:alice:bob', userId: 'bob', readSeq: 27, updatedAt: 1 } }]);
    expect(await groups.groupsOf('bob')).toEqual(['G']);
    await driver.pipe('im.cmd.sync', [
      { key: 'bob', value: sync({ conversationId: 'd:alice:bob', afterSeq: 5, limit: 10, correlationId: 'one' }) },
      { key: 'bob', value: sync({ correlationId: 'all' }) },
      { key: 'bob', value: sync({ conversationId: 'g:H', correlationId: 'outsider' }) },
    ]);
    const pushes = driver.read('im.push.online');
    expect(pushes).toHaveLength(6);
    const replies = pushes.map((r) => ({ corr: r.value.correlationId, d: r.value.deliveries[0]!, f: JSON.parse(r.value.deliveries[0]!.frame) as SyncResultFrame }));
    expect(replies.every((r) => r.d.connectionId === 'bob-1' && r.d.userId === 'bob')).toBe(true);
    const [one, ...rest] = replies;
    expect(one!.f.messages.map((m) => m.sequence_number)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(one!.f.has_more).toBe(true);
    const sweep = rest.filter((r) => r.corr === 'all').map((r) => [r.f.conversation_id, r.f.messages.map((m) => m.sequence_number)]);
    expect(sweep).toEqual([['g:G', [1, 2, 3]], ['d:bob:carol', [1]], ['d:alice:bob', [28, 29, 30]], [null, []]]);
    expect(rest.find((r) => r.corr === 'outsider')!.f).toMatchObject({ type: 'error', error_code: 'NOT_A_MEMBER' });
    expect(replies.every((r) => r.f.timestamp === driver.clock.now())).toBe(true);
    await groups.stop();
  });
});
