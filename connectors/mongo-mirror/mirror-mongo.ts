import { oneAtATime } from '../../core/one-at-a-time.js';
import { DEFAULT_UPDATES_PER_COMMAND, inChunks } from '../mongo/pool.js';
import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import { memberKey } from '../../domain/conversations.js';
import type { GroupState, MediaState, MemberState, RelationState } from '../../schemas/types.generated.js';
import { lastWrites, type MirrorStore, type MirrorWrite } from './mirror-store.js';

type Doc<V> = V & { _id: string };

export interface MongoMirror extends MirrorStore {
  /** Secondary indexes for the read endpoints; idempotent, call once at start. */
  ensureIndexes(): Promise<void>;
}

/**
 * The mirror in MongoDB (FerretDB-compatible: upserts, deletes and unordered bulk writes;
 * no transactions, no $lookup). One document per state key (`_id` = the topic key), in
 * `mirror_relations`, `mirror_groups`, `mirror_members` and `mirror_media`; joins happen here, in two queries.
 */
export function createMongoMirror(db: Db, options: { prefix?: string; updatesPerCommand?: number } = {}): MongoMirror {
  const prefix = options.prefix ?? 'mirror_';
  const perCommand = options.updatesPerCommand ?? DEFAULT_UPDATES_PER_COMMAND;
  const relations: Collection<Doc<RelationState>> = db.collection(`${prefix}relations`);
  const groups: Collection<Doc<GroupState>> = db.collection(`${prefix}groups`);
  const members: Collection<Doc<MemberState>> = db.collection(`${prefix}members`);
  const media: Collection<Doc<MediaState>> = db.collection(`${prefix}media`);
  const strip = <V>(d: Doc<V>): V => {
    const { _id, ...rest } = d as Doc<V> & Document;
    return rest as V;
  };
  const ops = <V extends Document>(writes: { key: string; value: V | null }[]): AnyBulkWriteOperation<Doc<V>>[] =>
    writes.map((w) =>
      w.value === null
        ? { deleteOne: { filter: { _id: w.key } as never } }
        : { replaceOne: { filter: { _id: w.key } as never, replacement: { ...w.value } as never, upsert: true } },
    );

  const exclusive = oneAtATime();
  return {
    async ensureIndexes() {
      await relations.createIndex({ userA: 1 }, { name: 'userA' });
      await relations.createIndex({ userB: 1 }, { name: 'userB' });
      await members.createIndex({ userId: 1 }, { name: 'userId' });
      await members.createIndex({ groupId: 1 }, { name: 'groupId' });
    },
    async apply(writes: MirrorWrite[]) {
      // One write per key (the last) makes the bulk order-free and re-applying it harmless.
      const batch = lastWrites(writes);
      const pick = <T extends MirrorWrite['topic']>(topic: T) => batch.filter((w): w is Extract<MirrorWrite, { topic: T }> => w.topic === topic);
      const rel = pick('im.state.relations');
      const grp = pick('im.state.groups');
      const mem = pick('im.state.members');
      const med = pick('im.state.media');
      // Bounded commands: FerretDB holds a PostgreSQL connection per matched statement (connectors/mongo/pool.ts).
      await exclusive(async () => {
        for (const chunk of inChunks(rel, perCommand)) await relations.bulkWrite(ops(chunk), { ordered: false });
        for (const chunk of inChunks(grp, perCommand)) await groups.bulkWrite(ops(chunk), { ordered: false });
        for (const chunk of inChunks(mem, perCommand)) await members.bulkWrite(ops(chunk), { ordered: false });
        for (const chunk of inChunks(med, perCommand)) await media.bulkWrite(ops(chunk), { ordered: false });
      });
    },
    async relationsOf(userId) {
      return (await relations.find({ $or: [{ userA: userId }, { userB: userId }] }).toArray()).map(strip);
    },
    async groupsOf(userId) {
      const mine = (await members.find({ userId }).toArray()).map(strip);
      if (mine.length === 0) return [];
      const found = new Map((await groups.find({ _id: { $in: mine.map((m) => m.groupId) } }).toArray()).map((g) => [g._id, strip(g)]));
      return mine.filter((m) => found.has(m.groupId)).map((member) => ({ group: found.get(member.groupId)!, member }));
    },
    async group(groupId) {
      const d = await groups.findOne({ _id: groupId });
      return d ? strip(d) : null;
    },
    async members(groupId) {
      return (await members.find({ groupId }).toArray()).map(strip);
    },
    async member(groupId, userId) {
      const d = await members.findOne({ _id: memberKey(groupId, userId) });
      return d ? strip(d) : null;
    },
    async media(mediaId) {
      const d = await media.findOne({ _id: mediaId });
      return d ? strip(d) : null;
    },
    async close() {},
  };
}
