import type { OfflinePushTask, OfflineReason } from '../../schemas/types.generated.js';
import type { MessageFrame } from '../../protocol/frames.js';

interface PendingAck {
  deadline: number;
  correlationId: string;
  /** The pushed message frame's JSON; parsed only if an ack never comes. */
  frame: string;
  /** Users it was written to who have not acked it yet. */
  users: Set<string>;
  /** Where the message is, read from `frame` at its first ack and kept for the others (a group's). */
  at?: { conversationId: string; seq: number } | null;
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
  const f = parseFrame(frameText);
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

/**
 * Messages pushed and not yet acked, by message: the users it was written to who owe an ack
 * (an ack from any of a user's devices settles it for that user). One entry per message, however
 * many members a group publish reached here. One timeout for all, so the Map's insertion order
 * is deadline order and a sweep only looks at its head; no timer per message.
 */
export class AckTracker {
  private readonly pending = new Map<string, PendingAck>();

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
    const entry: PendingAck = prior ?? { deadline: 0, correlationId, frame, users: new Set() };
    entry.deadline = now + this.timeoutMs;
    for (const u of users) entry.users.add(u);
    if (entry.users.size > 0) this.pending.set(messageId, entry);
  }

  /**
   * Settles the message for the user; returns where it is (its conversation and seq, for the
   * DELIVERED receipt), or null when nothing was pending (unknown, settled already, expired).
   */
  ack(userId: string, messageId: string): { conversationId: string; seq: number } | null {
    const entry = this.pending.get(messageId);
    if (!entry?.users.delete(userId)) return null;
    if (entry.users.size === 0) this.pending.delete(messageId);
    if (entry.at === undefined) {
      const f = parseFrame(entry.frame);
      entry.at = f.conversation_id && f.sequence_number ? { conversationId: f.conversation_id, seq: f.sequence_number } : null;
    }
    return entry.at;
  }

  /** Removes and returns the expired ones (all of them with `all`, at shutdown) as offline tasks. */
  expire(now = Date.now(), all = false): OfflinePushTask[] {
    const out: OfflinePushTask[] = [];
    for (const [messageId, p] of this.pending) {
      if (!all && p.deadline > now) break;
      this.pending.delete(messageId);
      for (const userId of p.users) out.push(offlineTaskFor(userId, messageId, p.correlationId, p.frame, 'ACK_TIMEOUT'));
    }
    return out;
  }
}
