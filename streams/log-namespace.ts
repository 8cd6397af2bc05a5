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
