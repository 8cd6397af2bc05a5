import { Kafka, logLevel } from 'kafkajs';
import { KafkaLog, namespacedLog, type LogClient, catalogTopicDefinitions } from '../streams/index.js';
import { brokers } from './kafka-admin.js';

/**
 * Each run gets its own topics and consumer groups (IM_TOPIC_PREFIX): records and committed
 * offsets of earlier runs and of other users of the cluster cannot hold up or crash this one,
 * and the run's topics are deleted at the end.
 */
export function benchLog(prefix: string, clientId = 'bench'): LogClient {
  return namespacedLog(new KafkaLog({ brokers: brokers(), clientId }), prefix);
}

/** Creates every catalogue topic under the prefix before the SUT's processes race to do it. */
export async function createNamespace(prefix: string): Promise<void> {
  const log = benchLog(prefix, 'bench-provision');
  try {
    await log.createTopics(catalogTopicDefinitions());
  } finally {
    await log.close();
  }
}

/** Deletes the run's topics and consumer groups (best effort). */
export async function dropNamespace(prefix: string): Promise<{ topics: number; groups: number }> {
  if (!prefix) return { topics: 0, groups: 0 };
  const admin = new Kafka({ clientId: 'bench-cleanup', brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    return { topics: topics.length, groups: groups.length };
  } finally {
    await admin.disconnect();
  }
}
