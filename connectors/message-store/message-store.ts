import type { ConversationSettings, MediaRef, Reaction, StampedMessage } from '../../schemas/types.generated.js';

/**
 * The message store (written by the persistence processor; the cold tier the query service
 * reads): every
 * stamped message once, per conversation by seq, plus one document per conversation (last
 * message, max seq, the pair for direct ones) and read positions. Implementations: memory
 * (`make run`, tests) and MongoDB. Writes are idempotent: redelivery never duplicates.
 */
export type StoredMessage = Omit<StampedMessage, 'origin'> & MessageEffects;

/**
 * What later changes left on a stored message (domain/message-changes.ts): recalled (content
 * gone), the latest text of an edit and its version, the reactions. Each is applied from the
 * change's event, which carries the resulting state, so applying one twice or late is harmless:
 * an edit or reaction state older than the one stored is ignored (by version, by event seq).
 */
export interface MessageEffects {
  recalled?: boolean;
  editedAt?: number;
  version?: number;
  reactions?: Reaction[];
  /** Seq of the event whose reactions are stored. */
  reactionsSeq?: number;
}

/** A user hid a message from their own history (delete for me). */
export interface HiddenMessage {
  userId: string;
  conversationId: string;
  seq: number;
}

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
  /**
   * Applies change events (records with an `action`: recall, edit, reactions) to their targets,
   * which are stored already (same conversation, lower seq, written first); a recall also turns
   * the quotes of replies to the target into tombstones. Returns the messages changed as they are
   * now, for the recent cache.
   */
  applyChanges(events: readonly StampedMessage[]): Promise<StoredMessage[]>;
  /** Records delete-for-me entries (idempotent). */
  hide(entries: readonly HiddenMessage[]): Promise<void>;
  /** Which of `seqs` of a conversation `userId` hid. */
  hiddenSeqs(userId: string, conversationId: string, seqs: readonly number[]): Promise<Set<number>>;
  /**
   * Moves read and delivered positions forward only (a late, smaller one is ignored); reading
   * implies delivered. The state mirror writes them in batches from `im.state.reads`, the
   * receipts processor's store: a group's delivered positions are a write per member a second.
   */
  movePositions(moves: readonly ReceiptPositionMove[]): Promise<void>;
  readSeqs(userId: string, conversationIds: readonly string[]): Promise<Map<string, number>>;
  /** The read and delivered positions of these users in these conversations, by `readPositionKey`; absent ones left out. */
  positions(of: readonly ReceiptParty[]): Promise<Map<string, ReceiptPosition>>;
  /** Who of a conversation has read (or been delivered) up to `seq` at least: the count, and a page of them by user id. */
  receiptsAt(conversationId: string, seq: number, kind: ReceiptKindName, page: ReceiptPageQuery): Promise<ReceiptPage>;
  /** Mirrors a user's settings of a conversation as they now are (the conversation-settings processor writes each key in order). */
  setConversationSettings(settings: ConversationSettings): Promise<void>;
  /** The user's settings of these conversations, by conversation id; never-changed ones left out. */
  conversationSettings(userId: string, conversationIds: readonly string[]): Promise<Map<string, ConversationSettings>>;
  close(): Promise<void>;
}

/** A user in a conversation, whose receipt positions are asked for. */
export interface ReceiptParty {
  conversationId: string;
  userId: string;
}

/** Where a user's positions in a conversation are now. */
export type ReceiptPositionMove = ReceiptParty & ReceiptPosition;

export interface ReceiptPosition {
  readSeq: number;
  deliveredSeq: number;
}

export type ReceiptKindName = 'read' | 'delivered';

export interface ReceiptPageQuery {
  limit: number;
  /** Users after this id (the last of the previous page). */
  after?: string;
  /** Left out of count and page: the message's sender. */
  exclude?: string;
}

export interface ReceiptPage {
  count: number;
  /** Ascending by id, at most `limit`. */
  users: string[];
  hasMore: boolean;
}

/** The positions of one user: reading implies delivery, whichever was recorded last. */
export const receiptPosition = (readSeq = 0, deliveredSeq = 0): ReceiptPosition => ({ readSeq, deliveredSeq: Math.max(readSeq, deliveredSeq) });

export function toStored(m: StampedMessage): StoredMessage {
  const { origin: _origin, ...rest } = m;
  return rest;
}

/** The change a target gets from one event, as a store applies it. */
export type TargetChange =
  | { kind: 'recall'; conversationId: string; seq: number }
  | { kind: 'edit'; conversationId: string; seq: number; content: string; editedAt: number; version: number }
  | { kind: 'reactions'; conversationId: string; seq: number; reactions: Reaction[]; eventSeq: number }
  | { kind: 'media'; conversationId: string; seq: number; media: MediaRef[] };

/** The change an event makes to its target; null for records that change nothing stored. */
export function targetChange(event: StampedMessage): TargetChange | null {
  const a = event.action;
  if (!a) return null;
  const at = { conversationId: a.targetConversationId, seq: a.targetSeq };
  switch (a.kind) {
    case 'RECALL':
      return { kind: 'recall', ...at };
    case 'EDIT':
      return { kind: 'edit', ...at, content: editedText(event.content), editedAt: event.stampedAt, version: a.version };
    case 'REACT':
    case 'UNREACT':
      return { kind: 'reactions', ...at, reactions: a.reactions, eventSeq: event.seq };
    case 'MEDIA_READY':
      return { kind: 'media', ...at, media: event.media ?? [] };
    default:
      return null;
  }
}

/** The new text in an edit event's body. */
function editedText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { content?: unknown };
    return typeof parsed.content === 'string' ? parsed.content : '';
  } catch {
    return '';
  }
}

/** A target after a change, the same way in every store. */
export function withChange(m: StoredMessage, c: TargetChange): StoredMessage {
  switch (c.kind) {
    case 'recall':
      return { ...m, content: '', mentions: [], recalled: true, reactions: [], media: [] };
    case 'edit':
      return m.recalled || (m.version ?? 0) >= c.version ? m : { ...m, content: c.content, editedAt: c.editedAt, version: c.version };
    case 'reactions':
      return m.recalled || (m.reactionsSeq ?? 0) >= c.eventSeq ? m : { ...m, reactions: c.reactions, reactionsSeq: c.eventSeq };
    case 'media':
      // The measures of the same objects: applying them twice or late gives the same entries.
      return m.recalled ? m : { ...m, media: c.media };
  }
}

/** A reply whose quoted message was recalled after it: the quote becomes a tombstone, so the recalled text is not kept in replies either. */
export function withQuoteRecalled(m: StoredMessage): StoredMessage {
  return m.replyTo ? { ...m, replyTo: { ...m.replyTo, excerpt: '', recalled: true } } : m;
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
