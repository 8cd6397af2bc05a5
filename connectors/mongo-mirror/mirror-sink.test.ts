import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { engines, eventually } from '../../streams/testing.js';
import { createMongoMessageStore } from '../message-store/message-store-mongo.js';
import { createMongoMirror } from './mirror-mongo.js';
import { MirrorSink } from './mirror-sink.js';
import { MIRRORED_TOPICS } from './mirror-store.js';
import { openMirrorTestDb } from './testing.js';

for (const engine of engines) {
  describe(`mirror sink on the ${engine.name} engine, into MongoDB`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('follows the state topics, tombstones included, and resumes after a restart', async () => {
      const h = await engine.create();
      cleanups.push(() => h.close());
      await h.createTopics(['im.state.relations', 'im.state.groups', 'im.state.members', 'im.state.media']);
      const t = await openMirrorTestDb();
      cleanups.push(t.close);
      const store = createMongoMirror(t.db);
      await store.ensureIndexes();
      const producer = await h.log.producer();
      cleanups.push(() => producer.close());
      const put = async (topic: 'im.state.groups' | 'im.state.members', key: string, value: Parameters<typeof h.serde.encode<typeof topic>>[1] | null) =>
        producer.send([{ topic, key, value: value === null ? null : await h.serde.encode(topic, value as never), headers: {}, timestamp: Date.now() }]);

      const groupId = `g-${randomUUID().slice(0, 6)}`;
      await put('im.state.groups', groupId, { groupId, name: 'Sink', ownerId: 'ann', status: 'ACTIVE', muteAll: false, announcement: null, createdAt: 1, updatedAt: 1 });
      await put('im.state.members', `${groupId}|ann`, { groupId, userId: 'ann', role: 'OWNER', mutedUntil: 0, joinedAt: 1 });
      await put('im.state.members', `${groupId}|ben`, { groupId, userId: 'ben', role: 'MEMBER', mutedUntil: 0, joinedAt: 1 });
      const group = `mirror-${randomUUID().slice(0, 8)}`;
      const sink = new MirrorSink({ log: h.log, serde: h.serde, store, groupId: group });
      await sink.start();
      await eventually(async () => (await store.members(groupId)).length === 2, 'two members mirrored');
      await sink.stop();

      await put('im.state.members', `${groupId}|ben`, null);
      await put('im.state.groups', groupId, { groupId, name: 'Sink 2', ownerId: 'ann', status: 'ACTIVE', muteAll: true, announcement: 'hi', createdAt: 1, updatedAt: 2 });
      const again = new MirrorSink({ log: h.log, serde: h.serde, store, groupId: group });
      cleanups.push(() => again.stop());
      await again.start();
      await eventually(async () => (await store.group(groupId))?.name === 'Sink 2' && (await store.members(groupId)).length === 1, 'tombstone and update mirrored');
      expect((await store.groupsOf('ann')).map((g) => [g.group.muteAll, g.member.role])).toEqual([[true, 'OWNER']]);
    });

    it('follows the receipts store into the message store in bulk: forward only, reading implying delivery', async () => {
      const h = await engine.create();
      cleanups.push(() => h.close());
      await h.createTopics([...MIRRORED_TOPICS, 'im.state.reads']);
      const t = await openMirrorTestDb();
      cleanups.push(t.close);
      const messages = await createMongoMessageStore({ db: t.db });
      const producer = await h.log.producer();
      cleanups.push(() => producer.close());
      const g = `g:${randomUUID().slice(0, 6)}`;
      const position = async (userId: string, readSeq: number, deliveredSeq: number) => ({
        topic: 'im.state.reads', key: `${g}|${userId}`, value: await h.serde.encode('im.state.reads', { conversationId: g, userId, readSeq, deliveredSeq, updatedAt: 1 }), headers: {}, timestamp: Date.now(),
      });
      // ann's delivered position moves twice in one batch; bob reads; an older copy of cid's comes last.
      await producer.send([await position('ann', 0, 3), await position('ann', 0, 5), await position('bob', 4, 4), await position('cid', 0, 7), await position('cid', 0, 6)]);
      const sink = new MirrorSink({ log: h.log, serde: h.serde, store: createMongoMirror(t.db), positions: messages, groupId: `mirror-${randomUUID().slice(0, 8)}` });
      cleanups.push(() => sink.stop());
      await sink.start();
      await eventually(async () => (await messages.receiptsAt(g, 4, 'delivered', { limit: 10 })).count === 3, 'three delivered positions mirrored');
      expect(await messages.positions(['ann', 'bob', 'cid'].map((userId) => ({ conversationId: g, userId })))).toEqual(new Map([
        [`${g}|ann`, { readSeq: 0, deliveredSeq: 5 }],
        [`${g}|bob`, { readSeq: 4, deliveredSeq: 4 }],
        [`${g}|cid`, { readSeq: 0, deliveredSeq: 7 }],
      ]));
      await producer.send([await position('cid', 0, 9), await position('bob', 2, 4)]);
      await eventually(async () => (await messages.positions([{ conversationId: g, userId: 'cid' }])).get(`${g}|cid`)?.deliveredSeq === 9, 'a later batch mirrored');
      expect(await messages.readSeqs('bob', [g])).toEqual(new Map([[g, 4]]));
    });
  });
}
