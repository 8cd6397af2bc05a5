import { randomUUID } from 'node:crypto';
import type { Origin, ReceiptCommand } from '../../schemas/types.generated.js';

interface Highest {
  userId: string;
  origin: Origin;
  conversationId: string;
  seq: number;
}

/** One conversation's acks since its last receipts went out. */
interface Pending {
  /** When the first of them came: the conversation's receipts are due from here. */
  since: number;
  byUser: Map<string, Highest>;
}

export interface DeliveredReceiptLimits {
  /** The shortest wait between two receipts of one user and conversation (IM_DELIVERED_RECEIPT_INTERVAL_MS). */
  intervalMs: number;
  /** At most this many receipts a second per conversation from one gateway (IM_DELIVERED_RECEIPTS_PER_CONVERSATION). */
  perConversationPerSec: number;
}

/**
 * Delivery acks become DELIVERED receipts, folded: per user and conversation only the highest
 * seq acked since the last flush is sent on, as one receipt command (docs/protocol.md#receipts).
 * They go straight to `im.cmd.receipt`, the receipts processor's own group: made here from acks
 * of pushes this gateway tracked, they need no routing, and through `im.ingress` a
 * 10,000-member group's were 10,000 records a second in the send path's task.
 *
 * A conversation's receipts wait longer the more of its members acked here, so each
 * conversation costs at most `perConversationPerSec` records a second from this gateway whatever
 * its size: folded only per second, a busy 1,000-member group was 1,000 receipts, position
 * records and database writes a second, and the database took a core (the fanout bench). Its
 * "delivered to" runs that much behind (5 s for 500 members here at 100 a second); reads, which
 * imply delivery, are not held.
 */
export class DeliveredReceipts {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly limits: DeliveredReceiptLimits) {}

  /** Acks waiting to go out, one per user and conversation. */
  get size(): number {
    let n = 0;
    for (const c of this.pending.values()) n += c.byUser.size;
    return n;
  }

  note(userId: string, origin: Origin, conversationId: string, seq: number, now: number): void {
    let conversation = this.pending.get(conversationId);
    if (!conversation) this.pending.set(conversationId, (conversation = { since: now, byUser: new Map() }));
    const prior = conversation.byUser.get(userId);
    if (!prior || seq > prior.seq) conversation.byUser.set(userId, { userId, origin, conversationId, seq });
  }

  /**
   * The receipts due by `now` (every one with `all`, when the gateway stops), keyed by
   * conversation as `im.cmd.receipt` is; forgets them.
   */
  flush(now: number, all = false): ReceiptCommand[] {
    const out: ReceiptCommand[] = [];
    for (const [conversationId, conversation] of this.pending) {
      const waitMs = Math.max(this.limits.intervalMs, (conversation.byUser.size * 1_000) / this.limits.perConversationPerSec);
      if (!all && now - conversation.since < waitMs) continue;
      for (const h of conversation.byUser.values()) {
        out.push({ correlationId: randomUUID(), userId: h.userId, origin: h.origin, kind: 'DELIVERED', conversationId: h.conversationId, seq: h.seq, clientMsgId: null, at: now });
      }
      this.pending.delete(conversationId);
    }
    return out;
  }
}
