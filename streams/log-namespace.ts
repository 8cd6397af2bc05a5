import type { ConsumerOptions, LogClient, LogConsumer, LogProducer, TopicDefinition } from './log.js';

/**
 * A log whose physical topics and groups carry a prefix, so several platforms (or test runs)
 * share one Kafka cluster without seeing each other's records. Code keeps the logical names
 * of `schemas/topics.json`; schemas stay registered under the logical subject names.
 */
export function namespacedLog(inner: LogClient, prefix: string): LogClient {
  if (prefix === '') return inner;
  /** Topic and group names alike. */
  const phys = (name: string): string => prefix + name;
  const logical = (name: string): string => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  return {
    kind: inner.kind,
    createTopics: (defs: TopicDefinition[]) => inner.createTopics(defs.map((d) => ({ ...d, name: phys(d.name) }))),
    partitionCount: (topic) => inner.partitionCount(phys(topic)),
    endOffsets: (topic) => inner.endOffsets(phys(topic)),
    // Names outside the prefix belong to other platforms or runs: never listed, never deleted.
    listTopics: async () => (await inner.listTopics()).filter((t) => t.startsWith(prefix)).map(logical),
    describeTopic: async (topic) => {
      const described = await inner.describeTopic(phys(topic));
      return described && { ...described, name: topic };
    },
    deleteTopics: (topics) => inner.deleteTopics(topics.map(phys)),
    listGroups: async () => (await inner.listGroups()).filter((g) => g.startsWith(prefix)).map(logical),
    deleteGroups: (groupIds) => inner.deleteGroups(groupIds.map(phys)),
    committedOffsets: (groupId, topic) => inner.committedOffsets(phys(groupId), phys(topic)),
    producer: async (): Promise<LogProducer> => {
      const p = await inner.producer();
      return { send: (ms) => p.send(ms.map((m) => ({ ...m, topic: phys(m.topic) }))), close: () => p.close() };
    },
    consumer: (options: ConsumerOptions): LogConsumer =>
      inner.consumer({
        ...options,
        groupId: phys(options.groupId),
        topics: options.topics.map(phys),
        eachBatch: (batch) => options.eachBatch({ ...batch, topic: logical(batch.topic) }),
        onAssignment: options.onAssignment && ((a) => options.onAssignment!(a.map((x) => ({ ...x, topic: logical(x.topic) })))),
      }),
    close: () => inner.close(),
  };
}

/**
 * Deletes every topic and consumer group of a namespace: what a test or a bench run made, once
 * it is done. Left behind, each run's topics stayed on the broker (thousands of partitions after
 * a day of runs), and a broker that lost and retook leadership of them took seconds to serve again.
 * `log` is `namespacedLog(inner, prefix)`; an empty prefix would be the whole cluster, and is refused.
 * Groups still in use are left (Kafka refuses them).
 */
export async function deleteNamespace(log: LogClient, prefix: string): Promise<{ topics: number; groups: number }> {
  if (prefix === '') throw new Error('deleteNamespace: no prefix, so no namespace to delete (that would be every topic of the cluster)');
  const topics = await log.listTopics();
  if (topics.length > 0) await log.deleteTopics(topics);
  const groups = await log.listGroups();
  if (groups.length > 0) await log.deleteGroups(groups).catch(() => undefined);
  return { topics: topics.length, groups: groups.length };
}
