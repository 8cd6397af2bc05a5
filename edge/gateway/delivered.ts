import { randomUUID } from 'node:crypto';
import type { Origin, ReceiptCommand } from '../../schemas/types.generated.js';

interface Highest {
  userId: string;
  origin: Origin;
  conversationId: string;
  seq: number;
}

/**
 * Delivery acks become DELIVERED receipts, folded: per user and conversation only the highest
 * seq acked since the last flush is sent on, as one receipt command (docs/protocol.md#receipts).
 * A group message acked by a thousand members is a thousand records at most, and a busy
 * conversation's acks within an interval one per reader. They go straight to `im.cmd.receipt`,
 * the receipts processor's own group: made here from acks of pushes this gateway tracked, they
 * need no routing, and through `im.ingress` a 10,000-member group's were 10,000 records a second
 * in the send path's task, on the partition of the group's own sends.
 */
export class DeliveredReceipts {
  private readonly highest = new Map<string, Highest>();

  /** Acks waiting for the next flush, one per user and conversation. */
  get size(): number {
    return this.highest.size;
  }

  note(userId: string, origin: Origin, conversationId: string, seq: number): void {
    const key = `${userId}|${conversationId}`;
    const prior = this.highest.get(key);
    if (!prior || seq > prior.seq) this.highest.set(key, { userId, origin, conversationId, seq });
  }

  /** The receipts owed since the last flush, keyed by conversation as `im.cmd.receipt` is; forgets them. */
  flush(now: number): ReceiptCommand[] {
    const out = [...this.highest.values()].map(
      (h): ReceiptCommand => ({ correlationId: randomUUID(), userId: h.userId, origin: h.origin, kind: 'DELIVERED', conversationId: h.conversationId, seq: h.seq, clientMsgId: null, at: now }),
    );
    this.highest.clear();
    return out;
  }
}
