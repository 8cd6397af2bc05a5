import type { Presence } from '../../edge/presence/presence.js';
import { counter } from '../../core/metrics.js';
import type { OfflinePushTask, StampedMessage } from '../../schemas/types.generated.js';
import type { Emit, ProcessorBuilder } from '../../streams/index.js';
import { GatewayDeliveries, type FanoutConfig, lookupPresence } from './push-orchestrator-fanout.js';
import { groupMembers } from './query-participants.js';
import { messageFrame } from './replies.js';

export interface PushOrchestratorDeps {
  presence: Presence;
}

export interface PushOrchestratorConfig extends FanoutConfig {
  /** Characters of content in an offline notification's preview. */
  previewChars: number;
}

const outcomes = counter('im_push_orchestrated_total', 'Recipients resolved by push orchestration, by outcome', ['outcome'] as const);

/**
 * Push orchestration (seed 000 service 7): for each stamped message, one online push per
 * gateway holding every delivery of the message there, and an offline push task per recipient
 * with no connection. (The sender's ack left with the stamped record: see the stamper.)
 * Recipients: direct = the peer; group = every member; plus the sender's other devices.
 */
const MEMBERSHIP_NOTICES = new Set(['system/group_created', 'system/members_added', 'system/members_removed', 'system/member_left']);

export function pushOrchestrator(deps: PushOrchestratorDeps, config: PushOrchestratorConfig) {
  return (p: ProcessorBuilder): void => {
    const members = p.table('im.state.members');
    p.stream('im.msg.stamped').process(['im.push.online', 'im.push.offline'], async (r, ctx) => {
      const m = r.value;
      // The groups processor writes memberships before their notice: catching up here makes
      // every later message of the group reach the members the notice announces. A sender
      // message logic accepted but this table does not know yet shows it is behind, too.
      const behind = m.recipientKind === 'GROUP' && m.origin !== null && ctx.table(members).get(`${m.recipientId}|${m.sender}`) === undefined;
      if (behind || MEMBERSHIP_NOTICES.has(m.contentType)) await ctx.catchUp(members);
      const recipients = m.recipientKind === 'USER' ? [m.recipientId] : groupMembers(ctx.table(members), m.recipientId);
      const others = recipients.filter((u) => u !== m.sender);
      const online = await lookupPresence(deps.presence, [m.sender, ...others], config);

      const now = p.clock.now();
      const frame = JSON.stringify(messageFrame(m));
      const deliveries = new GatewayDeliveries();
      const senderEntries = online.get(m.sender);
      if (senderEntries) deliveries.addUser(senderEntries, frame, m.messageId, m.origin?.connectionId ?? null);

      const offline: Emit<'im.push.offline'>[] = [];
      for (const userId of new Set(others)) {
        const entries = online.get(userId);
        if (entries) deliveries.addUser(entries, frame, m.messageId);
        else offline.push({ topic: 'im.push.offline', key: userId, value: offlineTask(m, userId, config.previewChars, now) });
      }
      outcomes.inc({ outcome: 'online' }, online.size - (senderEntries ? 1 : 0));
      outcomes.inc({ outcome: 'offline' }, offline.length);
      return [...deliveries.toEmits(m.correlationId, config, now), ...offline];
    }, 'orchestrate');
  };
}

function offlineTask(m: StampedMessage, userId: string, previewChars: number, now: number): OfflinePushTask {
  const preview = m.content.length > previewChars ? `${m.content.slice(0, previewChars)}…` : m.content;
  return { correlationId: m.correlationId, userId, messageId: m.messageId, conversationId: m.conversationId, seq: m.seq, sender: m.sender, preview, reason: 'OFFLINE', createdAt: now };
}
