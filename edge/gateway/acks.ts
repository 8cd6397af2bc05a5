import type { OfflinePushTask, OfflineReason } from '../../schemas/types.generated.js';
import type { MessageFrame } from '../protocol/frames.js';

interface PendingAck {
  deadline: number;
  correlationId: string;
  /** The pushed message frame's JSON; parsed only if the ack never comes. */
  frame: string;
}

const PREVIEW_CHARS = 100;

/** Builds the offline task for a message from its `message` frame JSON. */
export function offlineTaskFor(userId: string, messageId: string, correlationId: string, frameText: string, reason: OfflineReason): OfflinePushTask {
  let f: Partial<MessageFrame> = {};
  try {
    f = JSON.parse(frameText) as Partial<MessageFrame>;
  } catch {
    // A push whose frame is not JSON still gets its notification, just without details.
  }
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
 * Messages pushed to a user and not yet acked, keyed by user and message: an ack from any of
 * the user's devices settles it (the user has it). One timeout for all, so the Map's insertion
 * order is deadline order and a sweep only looks at its head; no timer per message.
 */
export class AckTracker {
  private readonly pending = new Map<string, PendingAck>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.pending.size;
  }

  expect(userId: string, messageId: string, correlationId: string, frame: string, now = Date.now()): void {
    const key = `${userId}\u0000${messageId}`;
    // A re-push of the same message restarts its clock.
    this.pending.delete(key);
    this.pending.set(key, { deadline: now + this.timeoutMs, correlationId, frame });
  }

  /** True when the ack settled a pending message. */
  ack(userId: string, messageId: string): boolean {
    return this.pending.delete(`${userId}\u0000${messageId}`);
  }

  /** Removes and returns the expired ones (all of them with `all`, at shutdown) as offline tasks. */
  expire(now = Date.now(), all = false): OfflinePushTask[] {
    const out: OfflinePushTask[] = [];
    for (const [key, p] of this.pending) {
      if (!all && p.deadline > now) break;
      this.pending.delete(key);
      const [userId = '', messageId = ''] = key.split('\u0000');
      out.push(offlineTaskFor(userId, messageId, p.correlationId, p.frame, 'ACK_TIMEOUT'));
    }
    return out;
  }
}
