import type { PlatformConfig } from '../core/config.js';
import type { GroupDirectory } from '../connectors/message-store/group-directory.js';
import type { MessageStore } from '../connectors/message-store/message-store.js';
import type { RecentCache } from '../connectors/message-store/recent-cache.js';
import type { OfflinePushRouter } from '../connectors/offline-push/router.js';
import type { ObjectStore } from '../connectors/object-store/object-store.js';
import type { Webhooks } from '../connectors/webhooks/from-config.js';
import type { PushBus } from '../edge/delivery/push-bus.js';
import type { Presence } from '../edge/presence/presence.js';
import { conversationCounter } from './examples/conversation-counter.js';
import { mentionsProcessor } from './examples/mentions.js';
import { conversationSettingsProcessor } from './processors/conversation-settings.js';
import { groupsProcessor } from './processors/groups.js';
import { mediaProcessor } from './processors/media.js';
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
import { type ProcessorBuilder, Topology } from '../streams/index.js';

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
  /** Where media bytes live (connectors/object-store); absent: media sends are refused SERVICE_UNAVAILABLE. */
  objectStore?: ObjectStore;
}

/** The Deployments of ops/k8s/processors.yaml (`im-processors-<group>`), each a path that scales and fails on its own. */
export type ProcessorGroup = 'command' | 'delivery' | 'offline' | 'storage';

/** One processor of the platform: where it runs and how it is declared. */
export interface ProcessorRegistration {
  /** The Deployments whose IM_PROCESSORS name it: one, or two for an effect inlined on both paths. */
  groups: readonly ProcessorGroup[];
  /** Declared only when the configuration turns it on (`declare` returns null otherwise). */
  optional?: boolean;
  declare(deps: PipelineDeps, config: PlatformConfig): ((p: ProcessorBuilder) => void) | null;
}

const fanoutOf = (config: PlatformConfig) => {
  const f = config.delivery.fanout;
  return { presenceBatchSize: f.presenceBatchSize, presenceConcurrency: f.presenceConcurrency, maxDeliveriesPerPush: f.maxDeliveriesPerPush };
};
/** No after-event endpoint: no processor reads for webhooks at all (no consumer group, no fetches). */
const afterEvents = (deps: PipelineDeps) => (deps.webhooks && deps.webhooks.afterEvents.length > 0 ? deps.webhooks : null);

/**
 * Every processor, in the order a message meets them: the one place a processor is registered.
 * The topology, `PROCESSOR_NAMES` (IM_PROCESSORS) and the Deployments' IM_PROCESSORS
 * (ops/manifests.test.ts checks ops/k8s/processors.yaml against `groups`) all come from here.
 */
export const PROCESSORS = {
  router: { groups: ['command'], declare: (_, c) => routerProcessor({}, { ...c.pipeline, mediaLimits: c.media.limits }) },
  relations: { groups: ['command'], declare: () => relationsProcessor() },
  groups: { groups: ['command'], declare: (_, c) => groupsProcessor({}, c.pipeline) },
  'message-logic': { groups: ['command'], declare: (deps, c) => messageLogicProcessor({ beforeSend: deps.webhooks?.beforeSend, media: { store: deps.objectStore ?? null, limits: c.media.limits, timeoutMs: c.media.uploads.checkTimeoutMs } }, c.pipeline) },
  stamper: { groups: ['command'], declare: (_, c) => stamperProcessor({}, c.pipeline.messageChanges) },
  'push-orchestrator': { groups: ['delivery'], declare: (deps, c) => pushOrchestrator({ presence: deps.presence }, { ...fanoutOf(c), previewChars: c.delivery.fanout.previewChars }) },
  // A pure side effect, inlined wherever its input is produced: on the command and the delivery path.
  'push-realtime': { groups: ['command', 'delivery'], declare: (deps) => pushRealtime({ pushBus: deps.pushBus }) },
  'push-offline': { groups: ['offline'], declare: (deps) => pushOffline({ router: deps.offlinePush }) },
  // Declared where there is an object store; a consumer group of its own (it reads and writes contract topics only).
  media: { groups: ['storage'], optional: true, declare: (deps, c) => (deps.objectStore ? mediaProcessor({ store: deps.objectStore }, c.media) : null) },
  persistence: { groups: ['storage'], declare: (deps, c) => persistence({ store: deps.messageStore, recent: deps.recentCache }, c.delivery.writer) },
  receipts: { groups: ['command'], declare: (deps, c) => receiptsProcessor({ presence: deps.presence }, { ...fanoutOf(c), maxGroupNotify: c.delivery.receipts.maxGroupNotify }) },
  'conversation-settings': { groups: ['command'], declare: (deps, c) => conversationSettingsProcessor({ presence: deps.presence, mirror: deps.messageStore }, fanoutOf(c)) },
  typing: { groups: ['command'], declare: (deps, c) => typingProcessor({ presence: deps.presence }, { ...fanoutOf(c), perUser: c.delivery.typing.perUser, maxGroupMembers: c.delivery.typing.maxGroupMembers }) },
  query: { groups: ['command'], declare: (deps, c) => queryProcessor({ store: deps.messageStore, recent: deps.recentCache, groups: deps.groupDirectory }, c.delivery.query) },
  'example-mentions': { groups: ['delivery'], declare: (_, c) => mentionsProcessor({ previewChars: c.delivery.fanout.previewChars }) },
  'example-conversation-counter': { groups: ['delivery'], optional: true, declare: (_, c) => (c.pipeline.exampleCounter ? conversationCounter() : null) },
  'webhook-events': { groups: ['offline'], optional: true, declare: (deps) => { const w = afterEvents(deps); return w && webhookEventsProcessor({ events: w.afterEvents }); } },
  'webhook-deliveries': { groups: ['offline'], optional: true, declare: (deps) => { const w = afterEvents(deps); return w && webhookDeliveriesProcessor({ webhooks: w }); } },
} satisfies Record<string, ProcessorRegistration>;

export type ProcessorName = keyof typeof PROCESSORS;
/** Every processor's name, in registration order: what IM_PROCESSORS may name (with state-mirror, ops/platform.ts). */
export const PROCESSOR_NAMES = Object.keys(PROCESSORS) as readonly ProcessorName[];

/**
 * Declared only when configured: the after-event webhooks, when an after-event has an endpoint;
 * the media processor, where there is an object store.
 * A process asked to run one that is not declared runs without it (ops/platform.ts).
 */
export const OPTIONAL_PROCESSORS: readonly ProcessorName[] = PROCESSOR_NAMES.filter((n) => (PROCESSORS[n] as ProcessorRegistration).optional === true);

/**
 * The platform's topology: its processors (one per step of a message's path and per piece of
 * state the steps read) over the topics of `schemas/topics.json`, as `PROCESSORS` registers
 * them. Declaration only; `StreamsApp` runs it on Kafka or in memory.
 */
export function imTopology(deps: PipelineDeps, config: PlatformConfig): Topology {
  const topology = new Topology('im');
  for (const name of PROCESSOR_NAMES) {
    const registration: ProcessorRegistration = PROCESSORS[name];
    const declare = registration.declare(deps, config);
    if (declare) topology.processor(name, declare);
    else if (!registration.optional) throw new Error(`processor ${name} is not optional, yet its registration declared nothing`);
  }
  return topology;
}
