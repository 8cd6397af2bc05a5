import type { OfflinePushRouter } from '../../connectors/offline-push/router.js';
import type { PushNotification } from '../../connectors/offline-push/push-provider.js';
import type { OfflinePushTask } from '../../schemas/types.generated.js';
import type { ProcessorBuilder } from '../../streams/index.js';
import { counter } from '../../core/metrics.js';
import { indexKey } from '../../domain/message-changes.js';
import { settingsKey } from '../../domain/conversations.js';

export interface PushOfflineDeps {
  router: OfflinePushRouter;
}

/**
 * The offline push worker: each offline task becomes a notification to
 * every device of the user (APNs, FCM). Its own consumer group on its own topic, so a slow or
 * failing vendor delays only offline notifications, never online delivery.
 * Changes to messages never become notifications (the orchestrator makes no task for them), nor
 * does a message in a conversation the user muted (`mentions`: unless it mentions them).
 */
export function pushOffline(deps: PushOfflineDeps, _config: Record<string, never> = {}) {
  return (p: ProcessorBuilder): void => {
    // The stamper's record of each message: a task still queued when its message was recalled
    // is dropped, so a recalled message's text never reaches a lock screen after the recall.
    const messages = p.table('im.state.messages');
    // The user's settings of the conversation: muted, it notifies only what mentions them (or nothing).
    const settings = p.table('im.state.conversation-settings');
    p.stream('im.push.offline').process([], async (r, ctx) => {
      const t = r.value;
      if (ctx.table(messages).get(indexKey(t.conversationId, t.seq))?.recalled) {
        dropped.inc();
        return [];
      }
      const muted = ctx.table(settings).get(settingsKey(t.userId, t.conversationId))?.muted ?? 'NONE';
      if (muted === 'ALL' || (muted === 'MENTIONS' && !t.mentioned)) {
        mutedTasks.inc({ muted: muted === 'ALL' ? 'all' : 'mentions' });
        return [];
      }
      await deps.router.notify(t.userId, notificationOf(t));
      return [];
    }, 'notify');
  };
}

const dropped = counter('im_push_offline_recalled_total', 'Offline push tasks dropped because their message was recalled before they were sent', [] as const);

const mutedTasks = counter('im_push_offline_muted_total', 'Offline push tasks held back because the user muted the conversation, by mute setting', ['muted'] as const);

export function notificationOf(t: OfflinePushTask): PushNotification {
  return {
    title: t.sender,
    body: t.preview,
    data: { conversation_id: t.conversationId, msg_id: t.messageId, seq: String(t.seq) },
    threadId: t.conversationId,
  };
}
