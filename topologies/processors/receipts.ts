import { counter } from '../../core/metrics.js';
import type { Presence } from '../../edge/presence/presence.js';
import type { ReceiptFrame } from '../../protocol/frames.js';
import type { ProcessorBuilder } from '../../streams/index.js';
import { GatewayDeliveries, type FanoutConfig, lookupPresence } from '../fanout.js';
import { conversationOf, participation, readPositionKey } from '../../domain/conversations.js';
import { errorFrame } from '../../protocol/server-frames.js';
import { deadLetterReply, replyTo } from '../replies.js';

export interface ReceiptsDeps {
  presence: Presence;
}

export interface ReceiptsConfig extends FanoutConfig {
  /** Groups larger than this get no per-member receipt notifications (too costly to fan out). */
  maxGroupNotify: number;
}

const receipts = counter('im_receipts_total', 'Receipt commands, by kind and outcome', ['kind', 'outcome'] as const);

/**
 * Receipts: READ moves the user's read position forward (a store on `im.state.reads`, never
 * backwards, clamped to the conversation's last seq) and tells the other participants and the
 * user's other devices; DELIVERED (a gateway's batched acks) moves the delivered position
 * forward and tells the peer of a direct conversation (in a group, no one: it is asked for);
 * reading implies delivery. The state mirror copies the store to the message store in batches
 * (`connectors/mongo-mirror/mirror-sink.ts`), where history's ticks and the "read by" /
 * "delivered to" queries read them: no database round trip per record here.
 * A non-participant's READ gets an error, its DELIVERED is dropped (counted); neither tells anyone. Notifications go to online connections only,
 * never offline push; a DELIVERED that moves nothing tells no one.
 */
export function receiptsProcessor(deps: ReceiptsDeps, config: ReceiptsConfig) {
  return (p: ProcessorBuilder): void => {
    const reads = p.store('im.state.reads');
    const members = p.table('im.state.members');
    const sequences = p.table('im.state.sequences');
    p.answerDeadLetters('im.cmd.receipt', ['im.push.online'], (r, code) => deadLetterReply(r.value.origin, r.value.userId, r.value.clientMsgId, r.value.correlationId, code, p.clock.now()));
    p.stream('im.cmd.receipt').process(['im.push.online'], async (r, ctx) => {
      const c = r.value;
      const kind = c.kind === 'READ' ? 'read' : 'delivered';
      const party = participation(ctx.table(members), c.conversationId, c.userId);
      if (party === null) {
        receipts.inc({ kind, outcome: 'forbidden' });
        // A DELIVERED is the gateway's record, not a frame of the client (an ack of a push made
        // before the user left the group, say): there is no frame of theirs to answer.
        if (c.kind === 'DELIVERED') return [];
        const code = conversationOf(c.conversationId, c.userId)?.kind === 'group' ? 'NOT_A_MEMBER' : 'FORBIDDEN';
        const at = p.clock.now();
        return [replyTo(c.origin, c.userId, errorFrame(code, at, c.clientMsgId ?? undefined, `not a participant of ${c.conversationId}`), c.correlationId, at)];
      }
      const lastSeq = ctx.table(sequences).get(c.conversationId)?.seq;
      const seq = lastSeq === undefined ? c.seq : Math.min(c.seq, lastSeq);
      if (seq <= 0) return [];

      const notifyOwnDevices = c.kind === 'READ';
      const key = readPositionKey(c.conversationId, c.userId);
      const store = ctx.store(reads);
      const prev = store.get(key);
      const [prevRead, prevDelivered] = [prev?.readSeq ?? 0, Math.max(prev?.readSeq ?? 0, prev?.deliveredSeq ?? 0)];
      if (c.kind === 'READ') {
        // Equal is a redelivery or a repeat: store nothing new but notify again (at-least-once).
        if (seq < prevRead) {
          receipts.inc({ kind, outcome: 'stale' });
          return [];
        }
        if (seq > prevRead) store.put(key, { conversationId: c.conversationId, userId: c.userId, readSeq: seq, deliveredSeq: Math.max(prevDelivered, seq), updatedAt: c.at });
      } else {
        if (seq <= prevDelivered) {
          receipts.inc({ kind, outcome: 'stale' });
          return [];
        }
        store.put(key, { conversationId: c.conversationId, userId: c.userId, readSeq: prevRead, deliveredSeq: seq, updatedAt: c.at });
      }

      // A group's DELIVERED tells no one: every member's would go to every other member (n² frames
      // a message); "delivered to" is asked for (GET .../receipts). A direct one tells the peer.
      const group = conversationOf(c.conversationId, c.userId)?.kind === 'group';
      const targets = party.othersCount > config.maxGroupNotify || (group && c.kind === 'DELIVERED') ? [] : party.others();
      const online = await lookupPresence(deps.presence, notifyOwnDevices ? [c.userId, ...targets] : targets, config);
      const frame: ReceiptFrame = { type: 'receipt', kind, conversation_id: c.conversationId, user: c.userId, seq, timestamp: c.at };
      const text = JSON.stringify(frame);
      const deliveries = new GatewayDeliveries();
      for (const u of targets) {
        const entries = online.get(u);
        if (entries) deliveries.addUser(entries, text, null);
      }
      const own = notifyOwnDevices ? online.get(c.userId) : undefined;
      if (own) deliveries.addUser(own, text, null, c.origin.connectionId);
      receipts.inc({ kind, outcome: 'ok' });
      return deliveries.toEmits(c.correlationId, config, p.clock.now(), c.conversationId);
    }, 'receipt');
  };
}
