import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { engines, eventually } from '../../streams/testing.js';
import { createMongoMirror } from './mirror-mongo.js';
import { MirrorSink } from './mirror-sink.js';
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
  });
}
