import { namespacedLog, openKafkaLog, type LogClient, catalogTopicDefinitions } from '../streams/index.js';
import { benchKafkaClient, brokers } from './kafka-admin.js';

/**
 * Each run gets its own topics and consumer groups (IM_TOPIC_PREFIX): records and committed
 * offsets of earlier runs and of other users of the cluster cannot hold up or crash this one,
 * and the run's topics are deleted at the end.
 */
export async function benchLog(prefix: string, clientId = 'bench'): Promise<LogClient> {
  return namespacedLog(await openKafkaLog(benchKafkaClient(), { brokers: brokers(), clientId }), prefix);
}

/** Creates every catalogue topic under the prefix before the SUT's processes race to do it. */
export async function createNamespace(prefix: string): Promise<void> {
  const log = await benchLog(prefix, 'bench-provision');
  try {
    await log.createTopics(catalogTopicDefinitions());
  } finally {
    await log.close();
  }
}

/** Deletes the run's topics and consumer groups (best effort). */
export async function dropNamespace(prefix: string): Promise<{ topics: number; groups: number }> {
  if (!prefix) return { topics: 0, groups: 0 };
  // The namespaced log lists and deletes only the names under the prefix.
  const log = await benchLog(prefix, 'bench-cleanup');
  try {
    const topics = await log.listTopics();
    await log.deleteTopics(topics);
    const groups = await log.listGroups();
    await log.deleteGroups(groups).catch(() => undefined);
    return { topics: topics.length, groups: groups.length };
  } finally {
    await log.close();
  }
}
