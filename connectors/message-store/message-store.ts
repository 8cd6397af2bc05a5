import type { StampedMessage } from '../../schemas/types.generated.js';

/**
 * The message store (written by the persistence processor; the cold tier the query service
 * reads): every
 * stamped message once, per conversation by seq, plus one document per conversation (last
 * message, max seq, the pair for direct ones) and read positions. Implementations: memory
 * (`make run`, tests) and MongoDB. Writes are idempotent: redelivery never duplicates.
 */
export type StoredMessage = Omit<StampedMessage, 'origin'>;

export interface ConversationRecord {
  conversationId: string;
  kind: 'direct' | 'group';
  /** The two users of a direct conversation; empty for groups (membership lives in its table). */
  members: string[];
  maxSeq: number;
  lastMessage: StoredMessage;
  updatedAt: number;
}

/**
 * A page of history. With `afterSeq`: the first `limit` messages after it (forward). Without:
 * the last `limit` before `beforeSeq` (or the latest), i.e. scrolling back. Always ascending.
 */
export interface HistoryQuery {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
}

export interface HistoryPage {
  messages: StoredMessage[];
  /** More messages in the paging direction (after the last one forward, before the first backward). */
  hasMore: boolean;
}

export interface WriteResult {
  inserted: number;
  /** Already stored (redelivery); ignored. */
  duplicates: number;
}

export interface MessageStore {
  /** Inserts what is new, ignores what is stored already, and moves conversation documents forward. */
  writeBatch(messages: readonly StampedMessage[]): Promise<WriteResult>;
  history(conversationId: string, query: HistoryQuery): Promise<HistoryPage>;
  conversation(conversationId: string): Promise<ConversationRecord | null>;
  /** Direct conversations of `userId` plus the listed group conversations, most recent first. */
  conversationsOf(userId: string, groupConversationIds: readonly string[], limit: number): Promise<ConversationRecord[]>;
  /** Moves a read position forward only (a late, smaller one is ignored). */
  setReadSeq(conversationId: string, userId: string, seq: number): Promise<void>;
  readSeqs(userId: string, conversationIds: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export function toStored(m: StampedMessage): StoredMessage {
  const { origin: _origin, ...rest } = m;
  return rest;
}

export function conversationKind(m: Pick<StampedMessage, 'recipientKind'>): ConversationRecord['kind'] {
  return m.recipientKind === 'USER' ? 'direct' : 'group';
}

export function directMembers(m: Pick<StampedMessage, 'recipientKind' | 'sender' | 'recipientId'>): string[] {
  return m.recipientKind === 'USER' ? [...new Set([m.sender, m.recipientId])].sort() : [];
}

/** The newest message of each conversation in a batch. */
export function latestPerConversation(messages: readonly StampedMessage[]): Map<string, StampedMessage> {
  const latest = new Map<string, StampedMessage>();
  for (const m of messages) {
    const cur = latest.get(m.conversationId);
    if (!cur || cur.seq < m.seq) latest.set(m.conversationId, m);
  }
  return latest;
}
