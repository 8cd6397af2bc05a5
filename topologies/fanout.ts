import { histogram } from '../core/metrics.js';
import type { Presence, PresenceEntry } from '../edge/presence/presence.js';
import type { ConversationOp, Delivery, OnlinePush } from '../schemas/types.generated.js';
import type { Emit } from '../streams/index.js';

/**
 * Fan-out shared by push orchestration, receipts and typing: presence looked up in chunks (one
 * round trip per chunk, chunks in parallel up to a bound), deliveries grouped per gateway, and
 * one `im.push.online` record per gateway (split only to keep records under the broker's size).
 */
export interface FanoutConfig {
  /** Users per presence round trip. */
  presenceBatchSize: number;
  /** Presence round trips in flight at once for one record. */
  presenceConcurrency: number;
  /** Deliveries per OnlinePush record: a frame is repeated per delivery, so this bounds record size. */
  maxDeliveriesPerPush: number;
  /** Frame bytes per OnlinePush record, below the broker's 1 MB record limit; default 512 KB. */
  maxPushBytes?: number;
}

const presenceLookupSeconds = histogram('im_presence_lookup_seconds', 'One batched presence lookup (up to presenceBatchSize users)', [] as const);

export const defaultFanoutConfig: FanoutConfig = { presenceBatchSize: 500, presenceConcurrency: 4, maxDeliveriesPerPush: 500 };

/** Live connections of `userIds` (deduplicated); users with none are absent from the map. */
export async function lookupPresence(presence: Presence, userIds: Iterable<string>, config: FanoutConfig): Promise<Map<string, PresenceEntry[]>> {
  const unique = [...new Set(userIds)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += config.presenceBatchSize) chunks.push(unique.slice(i, i + config.presenceBatchSize));
  const found = new Map<string, PresenceEntry[]>();
  for (let i = 0; i < chunks.length; i += config.presenceConcurrency) {
    const results = await Promise.all(
      chunks.slice(i, i + config.presenceConcurrency).map(async (c) => {
        const end = presenceLookupSeconds.startTimer();
        try {
          return await presence.lookup(c);
        } finally {
          end();
        }
      }),
    );
    for (const r of results) for (const [user, entries] of r) found.set(user, entries);
  }
  return found;
}

/** Deliveries of one frame, and conversation ops, grouped by gateway id. */
export class GatewayDeliveries {
  readonly byGateway = new Map<string, Delivery[]>();
  /** Per gateway, in the order the gateway must apply them (after the deliveries). */
  readonly opsByGateway = new Map<string, ConversationOp[]>();

  add(gatewayId: string, delivery: Delivery, first = false): void {
    let list = this.byGateway.get(gatewayId);
    if (!list) this.byGateway.set(gatewayId, (list = []));
    if (first) list.unshift(delivery);
    else list.push(delivery);
  }

  addOp(gatewayId: string, op: ConversationOp): void {
    let list = this.opsByGateway.get(gatewayId);
    if (!list) this.opsByGateway.set(gatewayId, (list = []));
    list.push(op);
  }

  /**
   * Adds a user's connections: one delivery per gateway addressed to all the user's connections
   * there, or, when `exceptConnectionId` is set (the sender's own devices), one per connection
   * other than that one.
   */
  addUser(entries: readonly PresenceEntry[], frame: string, messageId: string | null, exceptConnectionId: string | null = null): void {
    if (exceptConnectionId !== null) {
      for (const e of entries) {
        if (e.connectionId !== exceptConnectionId) this.add(e.gatewayId, { userId: e.userId, connectionId: e.connectionId, messageId, frame });
      }
      return;
    }
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.gatewayId)) continue;
      seen.add(e.gatewayId);
      this.add(e.gatewayId, { userId: e.userId, connectionId: null, messageId, frame });
    }
  }

  get size(): number {
    let n = 0;
    for (const list of this.byGateway.values()) n += list.length;
    return n;
  }

  /**
   * One record per gateway (more only past the count or byte bound): its deliveries, then its
   * ops, the order kept across records. The key is what pushes are kept in order by: the
   * gateway, and with `conversationId` the gateway and the conversation, so one conversation's
   * frames reach a gateway in order while other conversations' do not wait behind them (the
   * runtime runs a batch's pushes in order per key, one Redis round trip after another).
   */
  toEmits(correlationId: string, bounds: Pick<FanoutConfig, 'maxDeliveriesPerPush' | 'maxPushBytes'>, now: number, conversationId?: string): Emit<'im.push.online'>[] {
    const maxCount = bounds.maxDeliveriesPerPush;
    const maxBytes = bounds.maxPushBytes ?? 512 * 1024;
    const out: Emit<'im.push.online'>[] = [];
    for (const gatewayId of new Set([...this.byGateway.keys(), ...this.opsByGateway.keys()])) {
      let deliveries: Delivery[] = [];
      let ops: ConversationOp[] = [];
      let bytes = 0;
      const flush = () => {
        if (deliveries.length + ops.length === 0) return;
        const value: OnlinePush = { gatewayId, correlationId, createdAt: now, deliveries };
        if (ops.length > 0) value.conversationOps = ops;
        out.push({ topic: 'im.push.online', key: conversationId === undefined ? gatewayId : `${gatewayId}|${conversationId}`, value });
        deliveries = [];
        ops = [];
        bytes = 0;
      };
      const room = (size: number): void => {
        const count = deliveries.length + ops.length;
        if (count >= maxCount || (count > 0 && bytes + size > maxBytes)) flush();
        bytes += size;
      };
      // UTF-8 worst case of the frame, plus the other fields.
      for (const d of this.byGateway.get(gatewayId) ?? []) {
        room((d.frame.length * 3) + d.userId.length + 64);
        deliveries.push(d);
      }
      for (const op of this.opsByGateway.get(gatewayId) ?? []) {
        room(((op.frame?.length ?? 0) * 3) + op.conversationId.length + (op.userId?.length ?? 0) + 64);
        ops.push(op);
      }
      flush();
    }
    return out;
  }
}
