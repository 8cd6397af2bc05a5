import type { PlatformConfig } from '../core/config.js';
import type { GroupDirectory } from '../connectors/message-store/group-directory.js';
import type { MessageStore } from '../connectors/message-store/message-store.js';
import type { RecentCache } from '../connectors/message-store/recent-cache.js';
import type { OfflinePushRouter } from '../connectors/offline-push/router.js';
import type { Webhooks } from '../connectors/webhooks/from-config.js';
import type { PushBus } from '../edge/delivery/push-bus.js';
import type { Presence } from '../edge/presence/presence.js';
import { mentionsProcessor } from './examples/mentions.js';
import { groupsProcessor } from './processors/groups.js';
import { messageLogicProcessor } from './processors/message-logic.js';
import { persistence } from './processors/persistence.js';
import { pushOffline } from './processors/push-offline.js';
import { pushOrchestrator } from './processors/push-orchestrator.js';
import { pushRealtime } from './processors/push-realtime.js';
import { queryProcessor } from './processors/query.js';
import { receiptsProcessor } from './processors/receipts.js';
import { relationsProcessor } from './processors/relations.js';
import { routerProcessor } from './processors/router.js';
import { stamperProcessor } from './processors/stamper.js';
import { typingProcessor } from './processors/typing.js';
import { webhookDeliveriesProcessor, webhookEventsProcessor } from './processors/webhooks.js';
import { Topology } from '../streams/index.js';

/** What the platform's processors need from outside the log. */
export interface PipelineDeps {
  presence: Presence;
  pushBus: PushBus;
  messageStore: MessageStore;
  recentCache: RecentCache;
  groupDirectory: GroupDirectory;
  offlinePush: OfflinePushRouter;
  /** The webhooks the configuration turns on (connectors/webhooks); absent: none. */
  webhooks?: Webhooks;
}

/** Every processor, in the order a message meets them. Each runs in its own consumer group. */
export const PROCESSOR_NAMES = [
  'router', 'relations', 'groups', 'message-logic', 'stamper', 'push-orchestrator', 'push-realtime',
  'push-offline', 'persistence', 'receipts', 'typing', 'query', 'example-mentions', 'webhook-events', 'webhook-deliveries',
] as const;
export type ProcessorName = (typeof PROCESSOR_NAMES)[number];

/**
 * Declared only when configured: the after-event webhooks, when an after-event has an endpoint.
 * A process asked to run one that is not declared runs without it (ops/platform.ts).
 */
export const OPTIONAL_PROCESSORS: readonly ProcessorName[] = ['webhook-events', 'webhook-deliveries'];

/**
 * The platform's topology: its processors (one per step of a message's path and per piece of
 * state the steps read) over the topics of
 * `schemas/topics.json`. Declaration only; `StreamsApp` runs it on Kafka or in memory.
 */
export function imTopology(deps: PipelineDeps, config: PlatformConfig): Topology {
  const d = config.delivery;
  const fanout = { presenceBatchSize: d.fanout.presenceBatchSize, presenceConcurrency: d.fanout.presenceConcurrency, maxDeliveriesPerPush: d.fanout.maxDeliveriesPerPush };
  const topology = new Topology('im')
    .processor('router', routerProcessor({}, config.pipeline))
    .processor('relations', relationsProcessor())
    .processor('groups', groupsProcessor({}, config.pipeline))
    .processor('message-logic', messageLogicProcessor({ beforeSend: deps.webhooks?.beforeSend }, config.pipeline))
    .processor('stamper', stamperProcessor({}, config.pipeline.messageChanges))
    .processor('push-orchestrator', pushOrchestrator({ presence: deps.presence }, { ...fanout, previewChars: d.fanout.previewChars }))
    .processor('push-realtime', pushRealtime({ pushBus: deps.pushBus }))
    .processor('push-offline', pushOffline({ router: deps.offlinePush }))
    .processor('persistence', persistence({ store: deps.messageStore, recent: deps.recentCache }, d.writer))
    .processor('receipts', receiptsProcessor({ presence: deps.presence, readMirror: deps.messageStore }, { ...fanout, maxGroupNotify: d.receipts.maxGroupNotify }))
    .processor('typing', typingProcessor({ presence: deps.presence }, { ...fanout, perUser: d.typing.perUser, maxGroupMembers: d.typing.maxGroupMembers }))
    .processor('query', queryProcessor({ store: deps.messageStore, recent: deps.recentCache, groups: deps.groupDirectory }, d.query))
    .processor('example-mentions', mentionsProcessor({ previewChars: d.fanout.previewChars }));
  // No after-event endpoint: no processor reads for webhooks at all (no consumer group, no fetches).
  const webhooks = deps.webhooks;
  if (webhooks && webhooks.afterEvents.length > 0) {
    topology
      .processor('webhook-events', webhookEventsProcessor({ events: webhooks.afterEvents }))
      .processor('webhook-deliveries', webhookDeliveriesProcessor({ webhooks }));
  }
  return topology;
}
