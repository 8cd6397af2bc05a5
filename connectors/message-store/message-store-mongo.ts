import { oneAtATime } from '../../core/one-at-a-time.js';
import { MongoBulkWriteError, MongoServerError, type AnyBulkWriteOperation, type Collection, type Db } from 'mongodb';
import { readPositionKey, settingsKey } from '../../domain/conversations.js';
import type { ConversationSettings, StampedMessage } from '../../schemas/types.generated.js';
import type { ConversationRecord, HistoryPage, MessageStore, ReceiptPositionMove, StoredMessage } from './message-store.js';
import { conversationKind, directMembers, latestPerConversation, receiptPosition, targetChange, toStored, withQuoteRecalled, type TargetChange } from './message-store.js';

import { PlatformError } from '../../core/errors.js';
import { DUPLICATE_KEY } from '../mongo/duplicate-key.js';
import { idempotentUpserts } from '../mongo/idempotent-upserts.js';
import { DEFAULT_UPDATES_PER_COMMAND } from '../mongo/pool.js';

type MessageDoc = StoredMessage;
interface ConversationDoc {
  _id: string;
  kind: ConversationRecord['kind'];
  members: string[];
  maxSeq: number;
  lastSeq: number;
  lastMessage?: StoredMessage;
  createdAt: number;
  updatedAt?: number;
}
interface HiddenDoc {
  _id: string;
  userId: string;
  conversationId: string;
  seq: number;
}
type SettingsDoc = ConversationSettings & { _id: string };

interface ReadDoc {
  _id: string;
  conversationId: string;
  userId: string;
  readSeq?: number;
  /** Reading sets it too, so "delivered to" is one range on one field. */
  deliveredSeq?: number;
}

export interface MongoMessageStoreOptions {
  db: Db;
  /** Collection name prefix, so tests and tenants can share a database. */
  prefix?: string;
  /** Update statements per command (IM_MONGO_UPDATES_PER_COMMAND; see connectors/mongo/pool.ts). */
  updatesPerCommand?: number;
  /** Closed with the store when the store owns the connection. */
  onClose?: () => Promise<void>;
}

/**
 * The message store on MongoDB (FerretDB-compatible: no transactions, $lookup or pipeline
 * updates). Idempotence comes from a unique index on (conversationId, seq): a redelivered
 * batch's inserts fail with E11000 and are ignored (insertMany ordered:false inserts the rest).
 * Conversation documents move forward with one conditional upsert per conversation and batch
 * (see advanceConversations): FerretDB's cost is per statement.
 */
export async function createMongoMessageStore(options: MongoMessageStoreOptions): Promise<MessageStore> {
  const prefix = options.prefix ?? '';
  const messages: Collection<MessageDoc> = options.db.collection<MessageDoc>(`${prefix}messages`);
  const conversations: Collection<ConversationDoc> = options.db.collection<ConversationDoc>(`${prefix}conversations`);
  const reads: Collection<ReadDoc> = options.db.collection<ReadDoc>(`${prefix}reads`);
  const hidden: Collection<HiddenDoc> = options.db.collection<HiddenDoc>(`${prefix}hidden`);
  const settings: Collection<SettingsDoc> = options.db.collection<SettingsDoc>(`${prefix}conversation_settings`);
  await messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true, name: 'conversation_seq_unique' });
  await conversations.createIndex({ members: 1, updatedAt: -1 }, { name: 'members_recent' });
  await reads.createIndex({ userId: 1 }, { name: 'reads_user' });
  await reads.createIndex({ conversationId: 1, userId: 1 }, { name: 'reads_conversation_user' });
  await hidden.createIndex({ userId: 1, conversationId: 1, seq: 1 }, { name: 'hidden_user_conversation' });

  const perCommand = Math.max(1, options.updatesPerCommand ?? DEFAULT_UPDATES_PER_COMMAND);

  /** Forward only ($max), creating the document on first use: a batch applied again, or out of order, moves nothing back. */
  async function movePositions(moves: readonly ReceiptPositionMove[]): Promise<void> {
    const ops = moves.map((m) => ({
      updateOne: {
        filter: { _id: readPositionKey(m.conversationId, m.userId) },
        update: { $max: { readSeq: m.readSeq, deliveredSeq: Math.max(m.readSeq, m.deliveredSeq) }, $setOnInsert: { conversationId: m.conversationId, userId: m.userId } },
        upsert: true,
      },
    }));
    await idempotentUpserts(reads, ops, perCommand);
  }

  /**
   * One statement per change, its filter doing what `withChange` does in memory: a recall is
   * final; an edit applies over an older version only, reactions over an older event's, and
   * neither to a recalled message. Changes are rare next to sends, so one statement each is fine.
   */
  async function applyChange(c: TargetChange): Promise<StoredMessage | null> {
    const at = { conversationId: c.conversationId, seq: c.seq };
    const live = { recalled: { $ne: true } };
    const [filter, update] =
      c.kind === 'recall' ? [at, { $set: { content: '', mentions: [], recalled: true, reactions: [], media: [] } }]
      : c.kind === 'edit' ? [{ ...at, ...live, $or: [{ version: { $exists: false } }, { version: { $lt: c.version } }] }, { $set: { content: c.content, editedAt: c.editedAt, version: c.version } }]
      : c.kind === 'media' ? [{ ...at, ...live }, { $set: { media: c.media } }]
      : [{ ...at, ...live, $or: [{ reactionsSeq: { $exists: false } }, { reactionsSeq: { $lt: c.eventSeq } }] }, { $set: { reactions: c.reactions, reactionsSeq: c.eventSeq } }];
    // No projection: FerretDB's findAndModify does not take one.
    const doc = await messages.findOneAndUpdate(filter, update, { returnDocument: 'after' });
    if (!doc) return null;
    const { _id: _ignored, ...stored } = doc;
    return stored as StoredMessage;
  }

  /** Replies quoting a recalled message get a tombstone quote: read first (for the cache), then one update for all. */
  async function recallQuotes(conversationId: string, seq: number): Promise<StoredMessage[]> {
    const filter = { conversationId, 'replyTo.seq': seq, 'replyTo.recalled': false };
    const replies = await messages.find(filter, { projection: { _id: 0 } }).toArray();
    if (replies.length === 0) return [];
    await messages.updateMany(filter, { $set: { 'replyTo.excerpt': '', 'replyTo.recalled': true } });
    return replies.map((r) => withQuoteRecalled(r as StoredMessage));
  }

  async function insertIgnoringDuplicates(batch: readonly StampedMessage[]): Promise<number> {
    try {
      const res = await messages.insertMany(batch.map(toStored), { ordered: false });
      return res.insertedCount;
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      if (errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
      await assertStored(batch, err.insertedCount);
      return err.insertedCount;
    }
  }

  /**
   * E11000 means "already stored" only where the document really is there. With FerretDB
   * frozen and then killed under a batch in flight, the retried insert answered 29 messages as
   * duplicates that were never stored, and the writer committed past them (bench faults,
   * db-freeze). Read back what the answer did not insert; a message missing fails the write,
   * retriably: the writer's retry inserts it (the rest are duplicates again).
   */
  async function assertStored(batch: readonly StampedMessage[], inserted: number): Promise<void> {
    const byConversation = new Map<string, number[]>();
    for (const m of batch) byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m.seq]);
    const filter = { $or: [...byConversation].map(([conversationId, seqs]) => ({ conversationId, seq: { $in: seqs } })) };
    const found = new Set((await messages.find(filter, { projection: { _id: 0, conversationId: 1, seq: 1 } }).toArray()).map((d) => `${d.conversationId}|${d.seq}`));
    const missing = batch.filter((m) => !found.has(`${m.conversationId}|${m.seq}`));
    if (missing.length > 0) {
      throw new PlatformError('STORE_INCOMPLETE', `bulk insert of ${batch.length} messages answered ${inserted} inserted and the rest duplicates, but ${missing.length} are not stored (first: ${missing[0]!.conversationId} seq ${missing[0]!.seq})`, { retriable: true });
    }
  }

  /**
   * One statement per conversation: the filter matches only a document older than the message,
   * so a stale or replayed write finds no match, tries to insert the same `_id` and fails with
   * E11000, which here means "a newer message is already there". A duplicate can also mean two
   * writers created the conversation at once (a rebalance), so failed statements run once more:
   * then the document exists and the filter alone decides.
   */
  async function advanceConversations(batch: readonly StampedMessage[]): Promise<void> {
    const ops: AnyBulkWriteOperation<ConversationDoc>[] = [];
    for (const [id, m] of latestPerConversation(batch)) {
      ops.push({
        updateOne: {
          filter: { _id: id, lastSeq: { $lt: m.seq } },
          update: {
            $setOnInsert: { kind: conversationKind(m), members: directMembers(m), createdAt: m.stampedAt },
            $set: { maxSeq: m.seq, lastSeq: m.seq, lastMessage: toStored(m), updatedAt: m.stampedAt },
          },
          upsert: true,
        },
      });
    }
    await idempotentUpserts(conversations, ops, perCommand);
  }

  const toRecord = (d: ConversationDoc): ConversationRecord => ({
    conversationId: d._id,
    kind: d.kind,
    members: d.members,
    maxSeq: d.maxSeq,
    lastMessage: d.lastMessage!,
    updatedAt: d.updatedAt ?? d.createdAt,
  });
  const noId = { projection: { _id: 0 } } as const;

  const exclusive = oneAtATime();
  return {
    async writeBatch(batch) {
      if (batch.length === 0) return { inserted: 0, duplicates: 0 };
      return exclusive(async () => {
        const inserted = await insertIgnoringDuplicates(batch);
        await advanceConversations(batch);
        return { inserted, duplicates: batch.length - inserted };
      });
    },
    async history(conversationId, q): Promise<HistoryPage> {
      const seq: Record<string, number> = {};
      if (q.afterSeq !== undefined) seq.$gt = q.afterSeq;
      if (q.beforeSeq !== undefined) seq.$lt = q.beforeSeq;
      const filter = Object.keys(seq).length > 0 ? { conversationId, seq } : { conversationId };
      const forward = q.afterSeq !== undefined;
      const docs = await messages.find(filter, noId).sort({ seq: forward ? 1 : -1 }).limit(q.limit + 1).toArray();
      const hasMore = docs.length > q.limit;
      const page = docs.slice(0, q.limit) as StoredMessage[];
      return { messages: forward ? page : page.reverse(), hasMore };
    },
    async conversation(id) {
      const d = await conversations.findOne({ _id: id, lastSeq: { $gt: 0 } });
      return d ? toRecord(d) : null;
    },
    async conversationsOf(userId, groupIds, limit) {
      const filter = groupIds.length > 0 ? { $or: [{ members: userId }, { _id: { $in: [...groupIds] } }] } : { members: userId };
      const docs = await conversations.find({ ...filter, lastSeq: { $gt: 0 } }).sort({ updatedAt: -1 }).limit(limit).toArray();
      return docs.map(toRecord);
    },
    async applyChanges(events) {
      const changed: StoredMessage[] = [];
      for (const e of events) {
        const c = targetChange(e);
        const doc = c && (await applyChange(c));
        if (doc) changed.push(doc);
        if (c?.kind === 'recall') changed.push(...(await recallQuotes(c.conversationId, c.seq)));
      }
      return changed;
    },
    async hide(entries) {
      if (entries.length === 0) return;
      const ops = entries.map((h) => {
        const _id = `${h.userId}|${h.conversationId}|${h.seq}`;
        return { updateOne: { filter: { _id }, update: { $set: { userId: h.userId, conversationId: h.conversationId, seq: h.seq } }, upsert: true } };
      });
      await idempotentUpserts(hidden, ops, perCommand);
    },
    async hiddenSeqs(userId, conversationId, seqs) {
      if (seqs.length === 0) return new Set();
      const docs = await hidden.find({ userId, conversationId, seq: { $in: [...seqs] } }).toArray();
      return new Set(docs.map((d) => d.seq));
    },
    movePositions,
    async readSeqs(userId, ids) {
      if (ids.length === 0) return new Map();
      const docs = await reads.find({ _id: { $in: ids.map((id) => readPositionKey(id, userId)) } }).toArray();
      return new Map(docs.filter((d) => (d.readSeq ?? 0) > 0).map((d) => [d.conversationId, d.readSeq ?? 0]));
    },
    async positions(of) {
      if (of.length === 0) return new Map();
      const docs = await reads.find({ _id: { $in: of.map((p) => readPositionKey(p.conversationId, p.userId)) } }).toArray();
      return new Map(docs.map((d) => [d._id, receiptPosition(d.readSeq, d.deliveredSeq)]));
    },
    async receiptsAt(conversationId, seq, kind, page) {
      const reached = { conversationId, [kind === 'read' ? 'readSeq' : 'deliveredSeq']: { $gte: seq }, ...(page.exclude !== undefined ? { userId: { $ne: page.exclude } } : {}) };
      const count = await reads.countDocuments(reached);
      const afterUser = page.after !== undefined ? { $gt: page.after, ...(page.exclude !== undefined ? { $ne: page.exclude } : {}) } : reached.userId;
      const docs = await reads.find({ ...reached, ...(afterUser ? { userId: afterUser } : {}) }, { projection: { userId: 1 } }).sort({ userId: 1 }).limit(page.limit + 1).toArray();
      return { count, users: docs.slice(0, page.limit).map((d) => d.userId), hasMore: docs.length > page.limit };
    },
    async setConversationSettings(s) {
      const _id = settingsKey(s.userId, s.conversationId);
      const write = () => settings.replaceOne({ _id }, { ...s }, { upsert: true });
      try {
        await write();
      } catch (err) {
        // Two upserts of a new document racing: the second finds it now.
        if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) await write();
        else throw err;
      }
    },
    async conversationSettings(userId, ids) {
      if (ids.length === 0) return new Map();
      const docs = await settings.find({ _id: { $in: ids.map((id) => settingsKey(userId, id)) } }).toArray();
      return new Map(docs.map(({ _id, ...s }) => [s.conversationId, s]));
    },
    async close() {
      await options.onClose?.();
    },
  };
}
