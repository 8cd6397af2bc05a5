import { readPositionKey, settingsKey } from '../../domain/conversations.js';
import type { ConversationSettings } from '../../schemas/types.generated.js';
import type { ConversationRecord, HistoryPage, HistoryQuery, MessageStore, ReceiptParty, ReceiptPosition, StoredMessage } from './message-store.js';
import { conversationKind, directMembers, latestPerConversation, receiptPosition, targetChange, toStored, withChange, withQuoteRecalled } from './message-store.js';

/**
 * The message store in one process (`make run`, tests). Same semantics as MongoDB's; what it
 * cannot do: survive a restart or be shared between processes.
 */
export function createMemoryMessageStore(): MessageStore {
  const messages = new Map<string, Map<number, StoredMessage>>();
  const conversations = new Map<string, ConversationRecord>();
  const reads = new Map<string, ReceiptParty & ReceiptPosition>();
  const position = (conversationId: string, userId: string, read: number, delivered: number) => {
    const key = readPositionKey(conversationId, userId);
    const cur = reads.get(key);
    reads.set(key, { conversationId, userId, ...receiptPosition(Math.max(cur?.readSeq ?? 0, read), Math.max(cur?.deliveredSeq ?? 0, delivered)) });
  };
  const hidden = new Set<string>();
  const settings = new Map<string, ConversationSettings>();
  const hiddenKey = (userId: string, conversationId: string, seq: number) => `${userId}|${conversationId}|${seq}`;

  return {
    async writeBatch(batch) {
      let inserted = 0;
      for (const m of batch) {
        let conv = messages.get(m.conversationId);
        if (!conv) messages.set(m.conversationId, (conv = new Map()));
        if (conv.has(m.seq)) continue;
        conv.set(m.seq, toStored(m));
        inserted++;
      }
      for (const [id, m] of latestPerConversation(batch)) {
        const cur = conversations.get(id);
        if (cur && cur.maxSeq >= m.seq) continue;
        conversations.set(id, { conversationId: id, kind: conversationKind(m), members: directMembers(m), maxSeq: m.seq, lastMessage: toStored(m), updatedAt: m.stampedAt });
      }
      return { inserted, duplicates: batch.length - inserted };
    },
    async history(conversationId, q) {
      const all = [...(messages.get(conversationId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
      return pageOf(all, q);
    },
    async conversation(id) {
      return conversations.get(id) ?? null;
    },
    async conversationsOf(userId, groupIds, limit) {
      const groups = new Set(groupIds);
      return [...conversations.values()]
        .filter((c) => (c.kind === 'direct' ? c.members.includes(userId) : groups.has(c.conversationId)))
        .sort((a, b) => b.updatedAt - a.updatedAt)
        .slice(0, limit);
    },
    async applyChanges(events) {
      const changed: StoredMessage[] = [];
      for (const e of events) {
        const c = targetChange(e);
        const conv = c && messages.get(c.conversationId);
        const target = c && conv?.get(c.seq);
        if (!c || !conv || !target) continue;
        const next = withChange(target, c);
        if (next === target) continue; // stale or already applied
        conv.set(c.seq, next);
        changed.push(next);
        if (c.kind !== 'recall') continue;
        for (const [seq, reply] of conv) {
          if (reply.replyTo?.seq !== c.seq || reply.replyTo.recalled) continue;
          conv.set(seq, withQuoteRecalled(reply));
          changed.push(conv.get(seq)!);
        }
      }
      return changed;
    },
    async hide(entries) {
      for (const h of entries) hidden.add(hiddenKey(h.userId, h.conversationId, h.seq));
    },
    async hiddenSeqs(userId, conversationId, seqs) {
      return new Set(seqs.filter((s) => hidden.has(hiddenKey(userId, conversationId, s))));
    },
    async movePositions(moves) {
      for (const m of moves) position(m.conversationId, m.userId, m.readSeq, m.deliveredSeq);
    },
    async readSeqs(userId, ids) {
      const out = new Map<string, number>();
      for (const id of ids) {
        const p = reads.get(readPositionKey(id, userId));
        if (p && p.readSeq > 0) out.set(id, p.readSeq);
      }
      return out;
    },
    async positions(of) {
      const out = new Map<string, ReceiptPosition>();
      for (const { conversationId, userId } of of) {
        const key = readPositionKey(conversationId, userId);
        const p = reads.get(key);
        if (p) out.set(key, { readSeq: p.readSeq, deliveredSeq: p.deliveredSeq });
      }
      return out;
    },
    async receiptsAt(conversationId, seq, kind, page) {
      const field = kind === 'read' ? 'readSeq' : 'deliveredSeq';
      const users = [...reads.values()].filter((p) => p.conversationId === conversationId && p[field] >= seq && p.userId !== page.exclude).map((p) => p.userId).sort();
      const after = users.filter((u) => page.after === undefined || u > page.after);
      return { count: users.length, users: after.slice(0, page.limit), hasMore: after.length > page.limit };
    },
    async setConversationSettings(s) {
      settings.set(settingsKey(s.userId, s.conversationId), { ...s });
    },
    async conversationSettings(userId, ids) {
      const out = new Map<string, ConversationSettings>();
      for (const id of ids) {
        const s = settings.get(settingsKey(userId, id));
        if (s) out.set(id, { ...s });
      }
      return out;
    },
    async close() {},
  };
}

/** A history page from an ascending list of a conversation's messages. */
export function pageOf(all: readonly StoredMessage[], q: HistoryQuery): HistoryPage {
  const inRange = all.filter((m) => (q.afterSeq === undefined || m.seq > q.afterSeq) && (q.beforeSeq === undefined || m.seq < q.beforeSeq));
  if (q.afterSeq !== undefined) return { messages: inRange.slice(0, q.limit), hasMore: inRange.length > q.limit };
  return { messages: inRange.slice(Math.max(0, inRange.length - q.limit)), hasMore: inRange.length > q.limit };
}
