import type { OfflinePushTask, OfflineReason } from '../../schemas/types.generated.js';
import type { MessageFrame } from '../../protocol/frames.js';

/** Where a pushed message is: its conversation and seq (null for a frame without them). */
export type MessagePlace = { conversationId: string; seq: number } | null;

interface PendingAck {
  messageId: string;
  deadline: number;
  correlationId: string;
  /** The pushed message frame's JSON; parsed for its place, and again only if an ack never comes. */
  frame: string;
  /** Users it was written to who have not acked it yet. */
  users: Set<string>;
  at: MessagePlace;
}

const PREVIEW_CHARS = 100;

/** A pushed `message` frame's fields, read back only when needed (an ack, a timeout). */
function parseFrame(frameText: string): Partial<MessageFrame> {
  try {
    return JSON.parse(frameText) as Partial<MessageFrame>;
  } catch {
    // A push whose frame is not JSON still gets its notification, just without details.
    return {};
  }
}

/** Builds the offline task for a message from its `message` frame JSON. */
export function offlineTaskFor(userId: string, messageId: string, correlationId: string, frameText: string, reason: OfflineReason): OfflinePushTask {
  return offlineTaskOf(userId, messageId, correlationId, parseFrame(frameText), reason);
}

function offlineTaskOf(userId: string, messageId: string, correlationId: string, f: Partial<MessageFrame>, reason: OfflineReason): OfflinePushTask {
  return {
    correlationId,
    userId,
    messageId,
    conversationId: f.conversation_id ?? '',
    seq: f.sequence_number ?? 0,
    sender: f.sender ?? '',
    preview: (f.content ?? '').slice(0, PREVIEW_CHARS),
    reason,
    createdAt: Date.now(),
  };
}

function placeOf(frameText: string): MessagePlace {
  const f = parseFrame(frameText);
  return f.conversation_id && f.sequence_number ? { conversationId: f.conversation_id, seq: f.sequence_number } : null;
}

/**
 * Messages pushed and not yet acked, by message: the users it was written to who owe an ack
 * (an ack from any of a user's devices settles it for that user). One entry per message, however
 * many members a group publish reached here. One timeout for all, so the Map's insertion order
 * is deadline order and a sweep only looks at its head; no timer per message.
 */
export class AckTracker {
  private readonly pending = new Map<string, PendingAck>();
  /** The same entries by conversation, for an ack of everything up to a seq. */
  private readonly byConversation = new Map<string, Map<string, PendingAck>>();

  constructor(private readonly timeoutMs: number) {}

  /** Acks owed, over all messages. */
  get size(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.users.size;
    return n;
  }

  expect(userId: string, messageId: string, correlationId: string, frame: string, now = Date.now()): void {
    this.expectAll([userId], messageId, correlationId, frame, now);
  }

  /** `users` owe an ack of the message. A re-push of a message restarts its clock. */
  expectAll(users: Iterable<string>, messageId: string, correlationId: string, frame: string, now = Date.now()): void {
    const prior = this.pending.get(messageId);
    this.pending.delete(messageId);
    // Read once per message however many members owe it (a group's publish is one entry).
    const entry: PendingAck = prior ?? { messageId, deadline: 0, correlationId, frame, users: new Set(), at: placeOf(frame) };
    entry.deadline = now + this.timeoutMs;
    for (const u of users) entry.users.add(u);
    if (entry.users.size === 0) return;
    this.pending.set(messageId, entry);
    if (!entry.at) return;
    let inConversation = this.byConversation.get(entry.at.conversationId);
    if (!inConversation) this.byConversation.set(entry.at.conversationId, (inConversation = new Map()));
    inConversation.set(messageId, entry);
  }

  /**
   * Settles the message for the user; returns where it is (its conversation and seq, for the
   * DELIVERED receipt), or null when nothing was pending (unknown, settled already, expired).
   */
  ack(userId: string, messageId: string): MessagePlace {
    const entry = this.pending.get(messageId);
    if (!entry?.users.delete(userId)) return null;
    if (entry.users.size === 0) this.forget(entry);
    return entry.at;
  }

  /**
   * Settles, for the user, every pending message of the conversation up to `seq` (a client's
   * coalesced ack); returns the highest seq it settled, or null when it settled none.
   */
  ackUpTo(userId: string, conversationId: string, seq: number): number | null {
    const inConversation = this.byConversation.get(conversationId);
    if (!inConversation) return null;
    let highest: number | null = null;
    for (const entry of [...inConversation.values()]) {
      if (entry.at!.seq > seq || !entry.users.delete(userId)) continue;
      highest = Math.max(highest ?? 0, entry.at!.seq);
      if (entry.users.size === 0) this.forget(entry);
    }
    return highest;
  }

  /**
   * The gateway's loop was held `ms` (busy for seconds, or the process stopped): acks clients
   * sent meanwhile are still unread in the sockets, so every deadline moves out by as much
   * rather than their messages going to offline push as undelivered.
   */
  extend(ms: number): void {
    for (const p of this.pending.values()) p.deadline += ms;
  }

  /** Removes and returns the expired ones (all of them with `all`, at shutdown) as offline tasks. */
  expire(now = Date.now(), all = false): OfflinePushTask[] {
    const out: OfflinePushTask[] = [];
    for (const p of this.pending.values()) {
      if (!all && p.deadline > now) break;
      this.forget(p);
      // Read once for all of its users: a 10,000-member group's unacked publish is one parse.
      const frame = parseFrame(p.frame);
      for (const userId of p.users) out.push(offlineTaskOf(userId, p.messageId, p.correlationId, frame, 'ACK_TIMEOUT'));
    }
    return out;
  }

  private forget(entry: PendingAck): void {
    this.pending.delete(entry.messageId);
    if (!entry.at) return;
    const inConversation = this.byConversation.get(entry.at.conversationId);
    if (inConversation?.delete(entry.messageId) && inConversation.size === 0) this.byConversation.delete(entry.at.conversationId);
  }
}
