import { randomUUID } from 'node:crypto';
import { afterEach } from 'vitest';
import { retry } from '../../core/retry.js';
import type { Origin, TopicName, TopicValues } from '../../schemas/types.generated.js';
import { StreamsApp, type ProcessorBuilder, Topology } from '../../streams/index.js';
import { collect, type Collected, type EngineHarness } from '../../streams/testing.js';

/**
 * Shared scaffolding for the processor tests: one harness per test on the given engine, the
 * processor under test in a StreamsApp, typed produce and collect, cleanup after each test.
 */
export const testRuntime = { maxRetries: 2, retryInitialMs: 5, retryMaxMs: 20, partitionsConcurrency: 4 };

export interface Kit {
  h: EngineHarness;
  start(name: string, declare: (p: ProcessorBuilder) => void, appId?: string): Promise<StreamsApp>;
  produce<T extends TopicName>(topic: T, records: { key: string | null; value: TopicValues[T] | null }[]): Promise<void>;
  collect<T extends TopicName>(topic: T): Promise<Collected<TopicValues[T]>>;
  /** The latest value per key of a compacted topic (tombstones delete), kept up to date. */
  state<T extends TopicName>(topic: T): Promise<Map<string, TopicValues[T]>>;
}

export function useKit(engine: { create: () => Promise<EngineHarness> }, topics: TopicName[]): () => Promise<Kit> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return async () => {
    const h = await engine.create();
    cleanups.push(() => h.close());
    // A broker busy with other suites' topics sometimes answers a fresh create with a
    // metadata error; creation is idempotent, so try again before failing loudly.
    await retry(() => h.createTopics(topics), { retries: 5, initialDelayMs: 200, maxDelayMs: 2_000 });
    const producer = await h.log.producer();
    cleanups.push(() => producer.close());
    return {
      h,
      async start(name, declare, appId = `app-${randomUUID().slice(0, 8)}`) {
        const app = new StreamsApp(new Topology(`test-${name}`).processor(name, declare), { log: h.log, serde: h.serde, appId, runtime: testRuntime });
        cleanups.push(() => app.stop());
        await app.start();
        return app;
      },
      async produce(topic, records) {
        const messages = await Promise.all(
          records.map(async (r) => ({ topic, key: r.key, value: r.value === null ? null : await h.serde.encode(topic, r.value), headers: {}, timestamp: Date.now() })),
        );
        // A topic created a moment ago may not have a leader yet: that error is retriable.
        await retry(() => producer.send(messages), { retries: 20, initialDelayMs: 100, maxDelayMs: 1_000 });
      },
      async collect(topic) {
        const c = await collect(h, topic);
        cleanups.push(() => c.stop());
        return c;
      },
      async state(topic) {
        const map = new Map<string, TopicValues[typeof topic]>();
        const consumer = h.log.consumer({
          groupId: `state-${topic}-${randomUUID()}`,
          topics: [topic],
          fromBeginning: true,
          commit: false,
          eachBatch: async (batch) => {
            for (const m of batch.messages) {
              if (m.key === null) continue;
              if (m.value === null) map.delete(m.key);
              else map.set(m.key, await h.serde.decode(topic, m.value));
            }
          },
        });
        await consumer.start();
        cleanups.push(() => consumer.stop());
        return map;
      },
    };
  };
}

export const origin = (connectionId = 'conn-1', gatewayId = 'gw-1'): Origin => ({ gatewayId, connectionId, deviceId: `dev-${connectionId}` });

/** Records in the order their commands were produced (correlation ids `<letter><n>`), then by notice. */
export function byCommand<R extends { value: { correlationId: string; clientMsgId: string } }>(records: R[]): R[] {
  const rank = (r: R) => [Number(r.value.correlationId.replace(/^\D+/, '')), Number(r.value.clientMsgId.split(':').at(-1))] as const;
  return [...records].sort((a, b) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1]);
}

/** The frames of `im.push.online` records, parsed, with the user and connection they go to. */
export function frames(records: { value: TopicValues['im.push.online'] }[]): { userId: string; connectionId: string | null; frame: Record<string, unknown> }[] {
  return records.flatMap((r) => r.value.deliveries.map((d) => ({ userId: d.userId, connectionId: d.connectionId, frame: JSON.parse(d.frame) as Record<string, unknown> })));
}
