import type { ConsumerOptions, LogClient, LogConsumer, LogProducer, TopicDefinition } from './log.js';

/**
 * A log whose physical topics and groups carry a prefix, so several platforms (or test runs)
 * share one Kafka cluster without seeing each other's records. Code keeps the logical names
 * of `schemas/topics.json`; schemas stay registered under the logical subject names.
 */
export function namespacedLog(inner: LogClient, prefix: string): LogClient {
  if (prefix === '') return inner;
  const phys = (t: string): string => prefix + t;
  const logical = (t: string): string => (t.startsWith(prefix) ? t.slice(prefix.length) : t);
  return {
    kind: inner.kind,
    createTopics: (defs: TopicDefinition[]) => inner.createTopics(defs.map((d) => ({ ...d, name: phys(d.name) }))),
    partitionCount: (topic) => inner.partitionCount(phys(topic)),
    endOffsets: (topic) => inner.endOffsets(phys(topic)),
    producer: async (): Promise<LogProducer> => {
      const p = await inner.producer();
      return { send: (ms) => p.send(ms.map((m) => ({ ...m, topic: phys(m.topic) }))), close: () => p.close() };
    },
    consumer: (options: ConsumerOptions): LogConsumer =>
      inner.consumer({
        ...options,
        groupId: prefix + options.groupId,
        topics: options.topics.map(phys),
        eachBatch: (batch) => options.eachBatch({ ...batch, topic: logical(batch.topic) }),
        onAssignment: options.onAssignment && ((a) => options.onAssignment!(a.map((x) => ({ ...x, topic: logical(x.topic) })))),
      }),
    close: () => inner.close(),
  };
}
