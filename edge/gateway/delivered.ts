import { randomUUID } from 'node:crypto';
import type { DeliveredFrame } from '../../protocol/frames.js';
import type { IngressFrame, Origin } from '../../schemas/types.generated.js';

interface Highest {
  userId: string;
  origin: Origin;
  conversationId: string;
  seq: number;
}

/**
 * Delivery acks become DELIVERED receipts, folded: per user and conversation only the highest
 * seq acked since the last flush is sent on, as one `delivered` ingress record (a frame only
 * gateways make; docs/protocol.md#receipts). A group message acked by a thousand members is a
 * thousand records at most, and a busy conversation's acks within an interval one per reader.
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

  /** The receipts owed since the last flush, as ingress records keyed by conversation; forgets them. */
  flush(now: number): { frame: IngressFrame; key: string }[] {
    const out = [...this.highest.values()].map((h) => {
      const payload: DeliveredFrame = { type: 'delivered', conversation_id: h.conversationId, seq: h.seq };
      return { frame: { correlationId: randomUUID(), userId: h.userId, origin: h.origin, receivedAt: now, frameType: payload.type, payload: JSON.stringify(payload) }, key: h.conversationId };
    });
    this.highest.clear();
    return out;
  }
}
