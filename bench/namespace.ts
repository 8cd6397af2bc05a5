import { randomBytes } from 'node:crypto';
import { catalogTopicDefinitions, deleteNamespace, namespacedLog, openKafkaLog, type LogClient } from '../streams/index.js';
import { benchKafkaClient, brokers } from './kafka-admin.js';

/**
 * This run's tag, in its user ids and its gateway's id. Topics, consumer groups and the database
 * are the run's own (below); Redis is shared, and a second run's gateway under the same id
 * would clear the first's presence as a restarted gateway clears its predecessor's, while the
 * same user ids would take each other's messages.
 */
export const RUN_TAG = randomBytes(3).toString('hex');

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
  const log = await benchLog(prefix, 'bench-cleanup');
  try {
    return await deleteNamespace(log, prefix);
  } finally {
    await log.close();
  }
}
