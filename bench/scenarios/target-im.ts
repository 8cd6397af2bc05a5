import { randomUUID } from 'node:crypto';
import type { AuthKeys } from '../../edge/auth/index.js';
import { createRegistryClient, createTopicSerde } from '../../schemas/serde.js';
import type { GroupCommand } from '../../schemas/types.generated.js';
import { sampleSum } from '../../core/prometheus-text.js';
import type { SutHandle } from '../context.js';
import { benchLog } from '../namespace.js';
import { mintImClients } from '../tokens.js';
import type { Target } from './targets.js';

/** The platform's gateway as a load target; groups are created by a CREATE command on im.cmd.group. */
export function imTarget(sut: SutHandle, keys: AuthKeys): Target {
  return {
    name: 'im',
    protocol: 'im',
    url: sut.wsUrl,
    serverPid: () => sut.gatewayPid(),
    collectGarbage: sut.collectGarbage,
    heap: async () => {
      // The gateway's page has every worker's series: the sums are the instance's. Used and
      // external as read right after the collection the bench asked for (core/heap.ts).
      const page = await (await fetch(`${sut.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      const committed = sampleSum(page, 'nodejs_heap_size_total_bytes');
      const used = sampleSum(page, 'im_nodejs_heap_live_bytes', { part: 'heap_used' });
      const external = sampleSum(page, 'im_nodejs_heap_live_bytes', { part: 'external' });
      return committed === null || used === null || external === null ? null : { committed, used, external };
    },
    clients: (ids) => mintImClients(keys, ids),
    subscribeChannel: () => undefined,
    async prepareGroup(groupId, owner, members) {
      const log = await benchLog(sut.topicPrefix);
      const serde = createTopicSerde(createRegistryClient(sut.env.IM_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7'));
      const producer = await log.producer();
      try {
        const cmd: GroupCommand = { correlationId: randomUUID(), actor: owner, groupId, action: 'CREATE', targets: [...members], role: null, mutedUntil: null, text: 'bench', at: Date.now() };
        await producer.send([{ topic: 'im.cmd.group', key: groupId, value: await serde.encode('im.cmd.group', cmd), headers: {}, timestamp: Date.now() }]);
      } finally {
        await producer.close();
        await log.close();
      }
    },
  };
}
