import { PlatformError } from '../../core/errors.js';
import type { GroupDirectory } from '../../connectors/message-store/group-directory.js';
import type { ConversationRecord, HistoryPage, MessageStore, StoredMessage } from '../../connectors/message-store/message-store.js';
import { pageFromCache, type RecentCache } from '../../connectors/message-store/recent-cache.js';
import { counter } from '../../core/metrics.js';
import { conversationOf, groupConversationId, readPositionKey } from '../../domain/conversations.js';
import { reactionCounts } from '../../domain/message-changes.js';
import type { MessageFrame } from '../../protocol/frames.js';
import { DEFAULT_SETTINGS, messageFrame, settingsView } from '../../protocol/server-frames.js';

/** Read and delivered positions (the `im.state.reads` table's MongoDB mirror, written by the receipts processor). */
export type ReadPositions = Pick<MessageStore, 'readSeqs' | 'positions' | 'receiptsAt' | 'conversationSettings'>;

export interface QueryServiceDeps {
  store: MessageStore;
  recent: RecentCache;
  groups: GroupDirectory;
  reads: ReadPositions;
}

export interface QueryConfig {
  defaultPageSize: number;
  maxPageSize: number;
  /** Conversations in one list answer. */
  maxConversations: number;
}

export interface HistoryRequest {
  afterSeq?: number;
  beforeSeq?: number;
  limit?: number;
}

export interface HistoryResult {
  messages: MessageFrame[];
  hasMore: boolean;
}

export interface ConversationSummary {
  conversationId: string;
  kind: ConversationRecord['kind'];
  /** The other user of a direct conversation, or the group id. */
  with: string;
  maxSeq: number;
  readSeq: number;
  /** Direct conversations: how far the other user has read and been delivered (the ticks on one's own messages). */
  peerReadSeq?: number;
  peerDeliveredSeq?: number;
  unread: number;
  lastMessage: MessageFrame;
  updatedAt: number;
  /** The user's own settings of it (mute, pin, archive, marked unread); the defaults when never changed. */
  settings: ConversationSettingsView;
}

export type ConversationSettingsView = ReturnType<typeof settingsView>;

/** Who of a conversation reached a message, as the receipts query answers it. */
export interface ReceiptList {
  count: number;
  users: string[];
  /** The `after` of the next page; null on the last. */
  nextAfter: string | null;
}

export interface MessageReceipts {
  sender: string;
  read?: ReceiptList;
  delivered?: ReceiptList;
}

export interface ReceiptsRequest {
  /** Both kinds when absent. */
  kind?: 'read' | 'delivered';
  limit?: number;
  after?: string;
}

/** Users per page of a receipts answer: a large group's list comes in pages, its counts at once. */
export const RECEIPTS_DEFAULT_PAGE = 20;
export const RECEIPTS_MAX_PAGE = 100;

const tier = counter('im_query_history_total', 'History pages answered, by tier', ['tier'] as const);

/**
 * A stored message as a client gets it: with what changes left on it (recalled, the latest
 * edit, reactions); `hidden` when the asking user deleted it for themselves (no content).
 */
export function frameOf(m: StoredMessage, hidden = false): MessageFrame {
  const frame = messageFrame({ ...m, origin: null });
  if (hidden) return { ...frame, content: '', mentions: [], deleted_for_me: true };
  if (m.recalled) frame.recalled = true;
  if (m.version) Object.assign(frame, { version: m.version, edited_at: m.editedAt ?? 0 });
  if (m.reactions && m.reactions.length > 0) frame.reactions = reactionCounts(m.reactions);
  return frame;
}

/**
 * The query service: history by seq range with paging, served from
 * the recent cache when it covers the page exactly and from the store otherwise, and the
 * conversation list with unread counts (max seq minus the user's read seq). Only participants
 * may read: others get FORBIDDEN (direct) or NOT_A_MEMBER (group).
 */
export class QueryService {
  constructor(private readonly deps: QueryServiceDeps, private readonly config: QueryConfig) {}

  async assertParticipant(userId: string, conversationId: string): Promise<void> {
    const ref = conversationOf(conversationId, userId);
    if (ref === null) throw new PlatformError('FORBIDDEN', `not a participant of ${conversationId}`);
    if (ref.kind === 'group' && !(await this.deps.groups.isMember(ref.groupId, userId)))
      throw new PlatformError('NOT_A_MEMBER', `not a member of ${ref.groupId}`);
  }

  async history(userId: string, conversationId: string, req: HistoryRequest): Promise<HistoryResult> {
    await this.assertParticipant(userId, conversationId);
    const limit = Math.max(1, Math.min(req.limit ?? this.config.defaultPageSize, this.config.maxPageSize));
    const q = { afterSeq: req.afterSeq, beforeSeq: req.beforeSeq, limit };
    // The cache is an optimisation: when Redis fails, the store answers.
    let page: HistoryPage | null = await pageFromCache(this.deps.recent, conversationId, q).catch(() => (tier.inc({ tier: 'recent_error' }), null));
    tier.inc({ tier: page ? 'recent' : 'store' });
    page ??= await this.deps.store.history(conversationId, q);
    const hidden = await this.deps.store.hiddenSeqs(userId, conversationId, page.messages.map((m) => m.seq));
    return { messages: page.messages.map((m) => frameOf(m, hidden.has(m.seq))), hasMore: page.hasMore };
  }

  async conversations(userId: string, limit = this.config.maxConversations): Promise<ConversationSummary[]> {
    const groups = (await this.deps.groups.groupsOf(userId)).map(groupConversationId);
    const records = await this.deps.store.conversationsOf(userId, groups, Math.min(limit, this.config.maxConversations));
    const reads = await this.deps.reads.readSeqs(userId, records.map((r) => r.conversationId));
    const peers = records.flatMap((r) => {
      const ref = conversationOf(r.conversationId, userId);
      return ref?.kind === 'direct' ? [{ conversationId: r.conversationId, userId: ref.peer }] : [];
    });
    const peerPositions = await this.deps.reads.positions(peers);
    const settings = await this.deps.reads.conversationSettings(userId, records.map((r) => r.conversationId));
    return records.map((r) => {
      const readSeq = Math.min(reads.get(r.conversationId) ?? 0, r.maxSeq);
      const ref = conversationOf(r.conversationId, userId);
      const other = ref?.kind === 'direct' ? ref.peer : ref?.kind === 'group' ? ref.groupId : '';
      const peer = ref?.kind === 'direct' ? (peerPositions.get(readPositionKey(r.conversationId, ref.peer)) ?? { readSeq: 0, deliveredSeq: 0 }) : null;
      const ticks = peer ? { peerReadSeq: peer.readSeq, peerDeliveredSeq: peer.deliveredSeq } : {};
      return { conversationId: r.conversationId, kind: r.kind, with: other, maxSeq: r.maxSeq, readSeq, ...ticks, unread: r.maxSeq - readSeq, lastMessage: frameOf(r.lastMessage, false), updatedAt: r.updatedAt, settings: settingsView(settings.get(r.conversationId) ?? { ...DEFAULT_SETTINGS, updatedAt: 0 }) };
    });
  }

  /**
   * "Read by" and "delivered to" for one message, for participants only: the counts, and the
   * first users by id (paged with `after`), the message's sender left out. Bounded for large
   * groups: a page is at most RECEIPTS_MAX_PAGE users, the counts are one count query each.
   */
  async receipts(userId: string, conversationId: string, seq: number, req: ReceiptsRequest): Promise<MessageReceipts> {
    await this.assertParticipant(userId, conversationId);
    const page = await this.deps.store.history(conversationId, { afterSeq: seq - 1, limit: 1 });
    const message = page.messages[0];
    if (!message || message.seq !== seq) throw new PlatformError('MESSAGE_NOT_FOUND', `no message ${seq} in ${conversationId}`);
    const limit = Math.max(1, Math.min(req.limit ?? RECEIPTS_DEFAULT_PAGE, RECEIPTS_MAX_PAGE));
    const list = async (kind: 'read' | 'delivered'): Promise<ReceiptList> => {
      const r = await this.deps.reads.receiptsAt(conversationId, seq, kind, { limit, after: req.after, exclude: message.sender });
      return { count: r.count, users: r.users, nextAfter: r.hasMore ? (r.users.at(-1) ?? null) : null };
    };
    const out: MessageReceipts = { sender: message.sender };
    if (req.kind !== 'delivered') out.read = await list('read');
    if (req.kind !== 'read') out.delivered = await list('delivered');
    return out;
  }
}
