import { afterEach, describe, expect, it } from 'vitest';
import type { GroupState, MediaState, MemberState, RelationState } from '../../schemas/types.generated.js';
import { createMemoryMirror } from './mirror-memory.js';
import { createMongoMirror } from './mirror-mongo.js';
import type { MirrorStore } from './mirror-store.js';
import { openMirrorTestDb } from './testing.js';

const rel = (userA: string, userB: string, status: RelationState['status']): RelationState => ({ userA, userB, status, blockedByA: false, blockedByB: false, updatedAt: 1 });
const grp = (groupId: string, name = groupId): GroupState => ({ groupId, name, ownerId: 'ann', status: 'ACTIVE', muteAll: false, announcement: null, createdAt: 1, updatedAt: 1 });
const mem = (groupId: string, userId: string, role: MemberState['role'] = 'MEMBER'): MemberState => ({ groupId, userId, role, mutedUntil: 0, joinedAt: 1 });

const media = (mediaId: string, status: MediaState['status']): MediaState => ({
  mediaId, owner: 'ann', objectKey: `media/ann/${mediaId}`, kind: 'image', mime: 'image/png', size: 10, name: 'a.png', status, conversationId: 'd:ann:ben',
  clientMsgId: 'c1', seq: -1, messageId: null, attachedAt: 1, deleteAfter: null, width: null, height: null, durationMs: null, thumbnailKey: null,
});

const stores: { name: string; open: () => Promise<{ store: MirrorStore; close: () => Promise<void> }> }[] = [
  { name: 'memory', open: async () => ({ store: createMemoryMirror(), close: async () => {} }) },
  {
    name: 'mongodb',
    open: async () => {
      const t = await openMirrorTestDb();
      const store = createMongoMirror(t.db);
      await store.ensureIndexes();
      return { store, close: t.close };
    },
  },
];

/** The same contract for both implementations; the MongoDB one against the real server. */
for (const impl of stores) {
  describe(`mirror store (${impl.name})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    const open = async () => {
      const o = await impl.open();
      cleanups.push(o.close);
      return o.store;
    };

    it('upserts by key, deletes on tombstones, and answers the read queries', async () => {
      const s = await open();
      await s.apply([
        { topic: 'im.state.relations', key: 'ann|ben', value: rel('ann', 'ben', 'PENDING_A_TO_B') },
        { topic: 'im.state.relations', key: 'ann|cat', value: rel('ann', 'cat', 'FRIENDS') },
        { topic: 'im.state.relations', key: 'ann|ben', value: rel('ann', 'ben', 'FRIENDS') },
        { topic: 'im.state.groups', key: 'g1', value: grp('g1') },
        { topic: 'im.state.groups', key: 'g2', value: grp('g2') },
        { topic: 'im.state.members', key: 'g1|ann', value: mem('g1', 'ann', 'OWNER') },
        { topic: 'im.state.members', key: 'g1|ben', value: mem('g1', 'ben') },
        { topic: 'im.state.members', key: 'g2|ben', value: mem('g2', 'ben') },
        { topic: 'im.state.members', key: 'g2|ben', value: null },
        { topic: 'im.state.groups', key: 'g1', value: grp('g1', 'Renamed') },
      ]);
      expect((await s.relationsOf('ann')).map((r) => [r.userB, r.status]).sort()).toEqual([['ben', 'FRIENDS'], ['cat', 'FRIENDS']]);
      expect((await s.relationsOf('cat')).map((r) => r.userA)).toEqual(['ann']);
      expect((await s.groupsOf('ben')).map((g) => [g.group.name, g.member.role])).toEqual([['Renamed', 'MEMBER']]);
      expect((await s.members('g1')).map((m) => m.userId).sort()).toEqual(['ann', 'ben']);
      expect(await s.member('g2', 'ben')).toBeNull();
      expect(await s.group('g1')).toEqual(grp('g1', 'Renamed'));
      expect(await s.group('nope')).toBeNull();
      // Applying the same batch again changes nothing (redelivery after a crash).
      await s.apply([{ topic: 'im.state.members', key: 'g1|ben', value: null }, { topic: 'im.state.members', key: 'g1|ben', value: null }]);
      expect((await s.members('g1')).map((m) => m.userId)).toEqual(['ann']);
      expect(await s.groupsOf('ben')).toEqual([]);
    });

    it('keeps the last state of each media id', async () => {
      const s = await open();
      const id = `m${'0'.repeat(20)}${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
      await s.apply([{ topic: 'im.state.media', key: id, value: media(id, 'ATTACHED') }, { topic: 'im.state.media', key: id, value: media(id, 'RECALLED') }]);
      expect(await s.media(id)).toEqual(media(id, 'RECALLED'));
      await s.apply([{ topic: 'im.state.media', key: id, value: null }]);
      expect(await s.media(id)).toBeNull();
    });
  });
}
