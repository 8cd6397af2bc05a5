import type { OfflinePushRouter } from '../../connectors/offline-push/router.js';
import type { PushNotification } from '../../connectors/offline-push/push-provider.js';
import type { OfflinePushTask } from '../../schemas/types.generated.js';
import type { ProcessorBuilder } from '../../streams/index.js';

export interface PushOfflineDeps {
  router: OfflinePushRouter;
}

/**
 * The offline push worker: each offline task becomes a notification to
 * every device of the user (APNs, FCM). Its own consumer group on its own topic, so a slow or
 * failing vendor delays only offline notifications, never online delivery.
 */
export function pushOffline(deps: PushOfflineDeps, _config: Record<string, never> = {}) {
  return (p: ProcessorBuilder): void => {
    p.stream('im.push.offline').process([], async (r) => {
      await deps.router.notify(r.value.userId, notificationOf(r.value));
      return [];
    }, 'notify');
  };
}

export function notificationOf(t: OfflinePushTask): PushNotification {
  return {
    title: t.sender,
    body: t.preview,
    data: { conversation_id: t.conversationId, msg_id: t.messageId, seq: String(t.seq) },
    threadId: t.conversationId,
  };
}
