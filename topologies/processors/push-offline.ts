import type { OfflinePushRouter } from '../../connectors/offline-push/router.js';
import type { PushNotification } from '../../connectors/offline-push/push-provider.js';
import type { OfflinePushTask } from '../../schemas/types.generated.js';
import type { ProcessorBuilder } from '../../streams/index.js';
import { counter } from '../../core/metrics.js';
import { indexKey } from '../../domain/message-changes.js';

export interface PushOfflineDeps {
  router: OfflinePushRouter;
}

/**
 * The offline push worker: each offline task becomes a notification to
 * every device of the user (APNs, FCM). Its own consumer group on its own topic, so a slow or
 * failing vendor delays only offline notifications, never online delivery.
 * Changes to messages never become notifications (the orchestrator makes no task for them).
 */
export function pushOffline(deps: PushOfflineDeps, _config: Record<string, never> = {}) {
  return (p: ProcessorBuilder): void => {
    // The stamper's record of each message: a task still queued when its message was recalled
    // is dropped, so a recalled message's text never reaches a lock screen after the recall.
    const messages = p.table('im.state.messages');
    p.stream('im.push.offline').process([], async (r, ctx) => {
      const t = r.value;
      if (ctx.table(messages).get(indexKey(t.conversationId, t.seq))?.recalled) {
        dropped.inc();
        return [];
      }
      await deps.router.notify(t.userId, notificationOf(t));
      return [];
    }, 'notify');
  };
}

const dropped = counter('im_push_offline_recalled_total', 'Offline push tasks dropped because their message was recalled before they were sent', [] as const);

export function notificationOf(t: OfflinePushTask): PushNotification {
  return {
    title: t.sender,
    body: t.preview,
    data: { conversation_id: t.conversationId, msg_id: t.messageId, seq: String(t.seq) },
    threadId: t.conversationId,
  };
}
