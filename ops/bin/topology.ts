import { mkdirSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../core/config.js';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { createMemoryRecentCache } from '../../connectors/message-store/recent-cache-memory.js';
import { createMemoryGroupDirectory } from '../../connectors/message-store/group-directory.js';
import { createMemoryDeviceTokenStore } from '../../connectors/offline-push/device-tokens.js';
import { offlinePushFromConfig } from '../../connectors/offline-push/from-config.js';
import { createMemoryPresence, createMemoryPushBus } from '../../edge/gateway/index.js';
import { imTopology } from '../../topologies/im-topology.js';
import { describeAsMermaid, describeAsText, describeTopology } from '../../topologies/runtime/describe.js';

/**
 * `make topology`: the platform's topology describing itself, for data engineers: each
 * processor's consumer group, sources, tables, stores, sinks and operator chain, plus a
 * Mermaid flowchart in docs/topology.mmd. Only the declaration is built; nothing runs.
 */
const config = loadConfig();
const topology = imTopology(
  {
    presence: createMemoryPresence({ ttlMs: config.edge.heartbeatTimeoutMs }),
    pushBus: createMemoryPushBus(),
    messageStore: createMemoryMessageStore(),
    recentCache: createMemoryRecentCache(config.delivery.recent),
    groupDirectory: createMemoryGroupDirectory(),
    offlinePush: offlinePushFromConfig(config.offlinePush, createMemoryDeviceTokenStore()),
  },
  config,
);
const descriptions = describeTopology(topology, config.appId);
process.stdout.write(describeAsText(descriptions) + '\n');
mkdirSync(new URL('../../docs/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../docs/topology.mmd', import.meta.url), describeAsMermaid(descriptions) + '\n');
process.stdout.write('\nwrote docs/topology.mmd\n');
