import { counter } from '../../core/metrics.js';
import type { MessageStore } from '../../connectors/message-store/message-store.js';
import type { Presence } from '../../edge/presence/presence.js';
import { conversationOf, memberKey, settingsKey } from '../../domain/conversations.js';
import { conversationSettingsFrame, DEFAULT_SETTINGS, errorFrame } from '../../protocol/server-frames.js';
import type { ConversationSettings, MemberState, Origin } from '../../schemas/types.generated.js';
import type { Emit, ProcessorBuilder, StoreView, TableView } from '../../streams/index.js';
import { GatewayDeliveries, type FanoutConfig, lookupPresence } from '../fanout.js';
import { deadLetterReply, replyTo } from '../replies.js';

export interface ConversationSettingsDeps {
  presence: Presence;
  /** Mirror for the HTTP conversation list (which runs outside the topology), as the read positions are. */
  mirror?: Pick<MessageStore, 'setConversationSettings'>;
}

/** Who a change answers: the connection that asked, with its frame's msg_id; none for a read's clearing. */
interface Asker {
  origin: Origin | null;
  msgId?: string;
  correlationId: string;
}

const outcomes = counter('im_conversation_settings_total', 'Conversation settings changes, by outcome', ['outcome'] as const);

/**
 * Conversation settings per user (mute, pin, archive, marked unread): each `im.cmd.settings`
 * command is joined against membership (only a participant may keep settings of a
 * conversation), merged into the user's settings on `im.state.conversation-settings` (keyed
 * `user|conversation`; push-offline reads it to hold back notifications) and sent as they now
 * are to every device of the user. A READ of the user clears `markedUnread`: the receipts
 * command stream is read here too, so the one writer of these keys sees both in order.
 */
export function conversationSettingsProcessor(deps: ConversationSettingsDeps, config: FanoutConfig) {
  return (p: ProcessorBuilder): void => {
    const settings = p.store('im.state.conversation-settings');
    const members = p.table('im.state.members');
    p.answerDeadLetters('im.cmd.settings', ['im.push.online'], (r, code) => deadLetterReply(r.value.origin, r.value.userId, r.value.clientMsgId, r.value.correlationId, code, p.clock.now()));

    /** The settings stored, mirrored and sent to the user's devices; the origin gets its answer with its msg_id. */
    const apply = async (store: StoreView<ConversationSettings>, next: ConversationSettings, { origin, msgId, correlationId }: Asker): Promise<Emit[]> => {
      store.put(settingsKey(next.userId, next.conversationId), next);
      await deps.mirror?.setConversationSettings(next);
      const now = p.clock.now();
      const deliveries = new GatewayDeliveries();
      const own = (await lookupPresence(deps.presence, [next.userId], config)).get(next.userId);
      if (own) deliveries.addUser(own, JSON.stringify(conversationSettingsFrame(next, now)), null, origin?.connectionId ?? null);
      const answer = origin ? [replyTo(origin, next.userId, conversationSettingsFrame(next, now, msgId), correlationId, now)] : [];
      return [...answer, ...deliveries.toEmits(correlationId, config, now, next.conversationId)];
    };

    p.stream('im.cmd.settings').process(['im.push.online'], async (r, ctx) => {
      const c = r.value;
      const msgId = c.clientMsgId ?? undefined;
      if (!isParticipant(ctx.table(members), c.conversationId, c.userId)) {
        // A membership made a moment ago must not be refused for a stale table.
        await ctx.catchUp(members);
        if (!isParticipant(ctx.table(members), c.conversationId, c.userId)) {
          const code = conversationOf(c.conversationId, c.userId)?.kind === 'group' ? 'NOT_A_MEMBER' : 'FORBIDDEN';
          outcomes.inc({ outcome: code });
          const at = p.clock.now();
          return [replyTo(c.origin, c.userId, errorFrame(code, at, msgId, `not a participant of ${c.conversationId}`), c.correlationId, at)];
        }
      }
      const store = ctx.store(settings);
      const prev = store.get(settingsKey(c.userId, c.conversationId));
      const next: ConversationSettings = {
        ...DEFAULT_SETTINGS,
        ...prev,
        userId: c.userId,
        conversationId: c.conversationId,
        ...(c.muted != null ? { muted: c.muted } : {}),
        ...(c.pinned != null ? { pinned: c.pinned } : {}),
        ...(c.archived != null ? { archived: c.archived } : {}),
        ...(c.markedUnread != null ? { markedUnread: c.markedUnread } : {}),
        updatedAt: c.at,
      };
      outcomes.inc({ outcome: 'ok' });
      return apply(store, next, { origin: c.origin, msgId, correlationId: c.correlationId });
    }, 'settings');

    // Reading a conversation clears its mark; the receipts processor answers the READ itself.
    p.stream('im.cmd.receipt').process(['im.push.online'], async (r, ctx) => {
      const c = r.value;
      if (c.kind !== 'READ') return [];
      const store = ctx.store(settings);
      const prev = store.get(settingsKey(c.userId, c.conversationId));
      // A read the gateway received before the mark was made (in flight meanwhile) leaves it.
      if (!prev?.markedUnread || c.at < prev.updatedAt) return [];
      outcomes.inc({ outcome: 'unread_cleared' });
      return apply(store, { ...prev, markedUnread: false, updatedAt: c.at }, { origin: null, correlationId: c.correlationId });
    }, 'read-clears-unread');
  };
}

function isParticipant(members: TableView<MemberState>, conversationId: string, userId: string): boolean {
  const ref = conversationOf(conversationId, userId);
  return ref !== null && (ref.kind === 'direct' || members.get(memberKey(ref.groupId, userId)) !== undefined);
}
