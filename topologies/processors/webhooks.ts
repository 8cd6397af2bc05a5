import type { AfterEvent } from '../../connectors/webhooks/endpoint.js';
import type { Webhooks } from '../../connectors/webhooks/from-config.js';
import { messageFrame } from '../../protocol/server-frames.js';
import type { StampedMessage, WebhookDelivery } from '../../schemas/types.generated.js';
import type { ProcessorBuilder, Rec } from '../../streams/index.js';

/**
 * The after-event webhooks (docs/protocol.md#webhooks), in two processors:
 *
 * - webhook-events reads every stamped record and enqueues what a configured endpoint observes
 *   on `im.webhook.deliveries`: a user's message (after-send), or the system notice of an
 *   applied relationship or group change (after-friend-change, after-group-change). Notices
 *   are the changes' durable facts, stamped once per change with a stable id; refusals and
 *   notices of other kinds (recalls, edits, reactions) are not changes of either.
 * - webhook-deliveries POSTs each one (connectors/webhooks/deliveries.ts: signed, timed out,
 *   retried with back-off behind a circuit breaker) and, failing for good, dead-letters it.
 *
 * The event id is the stamped record's message id, which a replay stamps identically, so a
 * receiver dedupes redeliveries on it. The body is built here, once: every retry sends the
 * same bytes. Both processors are declared only when an after-event has an endpoint.
 */
export type WebhookEventsConfig = { events: readonly AfterEvent[] };

/** The relationship notices of domain/relation rules that record an applied change. */
const FRIEND_CHANGES = new Set(['friend_request', 'friend_accepted', 'friend_rejected', 'friend_removed', 'friend_request_cancelled', 'user_blocked', 'user_unblocked']);
/** The group notices that record an applied change, each posted in the group's conversation. */
const GROUP_CHANGES = new Set([
  'group_created', 'group_disbanded', 'members_added', 'members_removed', 'member_left', 'role_changed',
  'member_muted', 'member_unmuted', 'group_muted', 'group_unmuted', 'announcement', 'group_renamed',
]);
const SYSTEM_PREFIX = 'system/';

export function webhookEventsProcessor(config: WebhookEventsConfig): (p: ProcessorBuilder) => void {
  const wanted = new Set<AfterEvent>(config.events);
  return (p) => {
    p.stream('im.msg.stamped')
      .flatMap((r) => {
        const event = afterEventOf(r.value);
        if (!event || !wanted.has(event)) return [];
        return [toDelivery(r, event, p.clock.now())];
      }, 'to-deliveries')
      .to('im.webhook.deliveries');
  };
}

export function webhookDeliveriesProcessor(deps: { webhooks: Webhooks }): (p: ProcessorBuilder) => void {
  return (p) => {
    const deliverer = deps.webhooks.afterEventDeliverer(() => p.clock.now());
    p.stream('im.webhook.deliveries').process([], async (r) => {
      await deliverer.deliver(r.value);
      return [];
    }, 'post');
  };
}

/** Which after-event a stamped record is, if any. */
export function afterEventOf(m: StampedMessage): AfterEvent | null {
  if (!m.contentType.startsWith(SYSTEM_PREFIX)) return 'after-send';
  const change = m.contentType.slice(SYSTEM_PREFIX.length);
  if (FRIEND_CHANGES.has(change)) return 'after-friend-change';
  if (GROUP_CHANGES.has(change) && m.recipientKind === 'GROUP') return 'after-group-change';
  return null;
}

function toDelivery(r: Rec<StampedMessage>, event: AfterEvent, now: number): Rec<WebhookDelivery> {
  const m = r.value;
  const eventId = `${event}:${m.messageId}`;
  const value: WebhookDelivery = { eventId, event, correlationId: m.correlationId, body: JSON.stringify(bodyOf(m, event, eventId)), enqueuedAt: now };
  return { key: m.conversationId, value, headers: r.headers, timestamp: r.timestamp };
}

function bodyOf(m: StampedMessage, event: AfterEvent, eventId: string): Record<string, unknown> {
  const common = { event, event_id: eventId, occurred_at: m.stampedAt };
  if (event === 'after-send') {
    const { type: _frameType, ...message } = messageFrame(m);
    return { ...common, message };
  }
  // A notice's content is the server's own JSON: {event, actor, command_id, ...what changed}.
  const { event: change, actor, command_id: commandId, ...details } = JSON.parse(m.content) as Record<string, unknown>;
  if (event === 'after-group-change') return { ...common, change, actor, group_id: m.recipientId, command_id: commandId, details };
  // Every relationship notice names the other user of the pair as its target.
  const { target, ...rest } = details;
  return { ...common, change, actor, target, command_id: commandId, details: rest };
}
