import { randomUUID } from 'node:crypto';
import { loadConfig } from '../core/config.js';
import { createRegistryClient, createTopicSerde, registerAllSchemas, type TopicSerde } from '../schemas/serde.js';
import { topicSpec } from '../schemas/catalog.js';
import type { TopicName } from '../schemas/types.generated.js';
import type { LogClient } from './log.js';
import { openKafkaLog } from './kafka-clients.js';
import { MemoryLog } from './log-memory.js';
import { deleteNamespace, namespacedLog } from './log-namespace.js';

/**
 * Engines for tests: the same cases run on each. The Kafka engine talks to the real broker and
 * registry of the configured stack (`make up`) and fails loudly when they are absent; each
 * harness gets its own topic namespace so runs never see each other's records.
 */
export interface EngineHarness {
  name: 'memory' | 'kafka';
  log: LogClient;
  serde: TopicSerde;
  createTopics(topics: TopicName[]): Promise<void>;
  close(): Promise<void>;
}

const definitions = (topics: TopicName[]) =>
  topics.map((t) => {
    const s = topicSpec(t);
    return { name: t, partitions: s.partitions, replicationFactor: s.replicationFactor, config: s.config };
  });

export async function memoryEngine(): Promise<EngineHarness> {
  const client = createRegistryClient('mock://tests');
  await registerAllSchemas(client, 'mock://tests');
  const log = new MemoryLog();
  return { name: 'memory', log, serde: createTopicSerde(client), createTopics: (t) => log.createTopics(definitions(t)), close: () => log.close() };
}

export async function kafkaEngine(): Promise<EngineHarness> {
  const config = loadConfig({ ...process.env, IM_ENGINE: 'kafka' });
  const client = createRegistryClient(config.registry.url);
  try {
    await registerAllSchemas(client, config.registry.url);
  } catch (err) {
    throw new Error(`schema registry not reachable at ${config.registry.url} (start the stack with \`make up\`): ${(err as Error).message}`);
  }
  const raw = await openKafkaLog(config.kafka.client, { brokers: config.kafka.brokers, clientId: 'im-tests' });
  const prefix = `test-${randomUUID().slice(0, 8)}.`;
  const log = namespacedLog(raw, prefix);
  const createTopics = async (topics: TopicName[]): Promise<void> => {
    try {
      await log.createTopics(definitions(topics));
    } catch (err) {
      throw new Error(`Kafka not reachable at ${config.kafka.brokers.join(',')} (start the stack with \`make up\`): ${(err as Error).message}`);
    }
  };
  const close = async (): Promise<void> => {
    // The test's topics and groups go with it; a failure to delete them fails no test.
    await deleteNamespace(log, prefix).catch(() => undefined);
    await log.close();
  };
  return { name: 'kafka', log, serde: createTopicSerde(client), createTopics, close };
}

export const engines = [
  { name: 'memory', create: memoryEngine },
  { name: 'kafka', create: kafkaEngine },
] as const;

/**
 * The harnesses of one `describe` on one engine: each made with `topics`, and closed after each
 * test with everything else the test pushed on `cleanups` (last first). `afterEach` is vitest's.
 */
export function suiteHarnesses(
  engine: { create(): Promise<EngineHarness> },
  topics: TopicName[],
  afterEach: (fn: () => Promise<void>) => void,
): { harness(): Promise<EngineHarness>; cleanups: (() => Promise<void>)[] } {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const harness = async (): Promise<EngineHarness> => {
    const h = await engine.create();
    await h.createTopics(topics);
    cleanups.push(() => h.close());
    return h;
  };
  return { harness, cleanups };
}

/** Polls until `check` holds, failing with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Collected<V> {
  records: { key: string | null; value: V; partition: number; offset: string }[];
  /** Deletions (null values) seen on a compacted topic; not in `records`. */
  tombstones: number;
  stop(): Promise<void>;
}

/** Reads a topic from its beginning into an array, decoded, for assertions. */
export async function collect<T extends TopicName>(h: Pick<EngineHarness, 'log' | 'serde'>, topic: T): Promise<Collected<import('../schemas/types.generated.js').TopicValues[T]>> {
  const out: Collected<import('../schemas/types.generated.js').TopicValues[T]> = { records: [], tombstones: 0, stop: async () => consumer.stop() };
  const consumer = h.log.consumer({
    groupId: `collect-${topic}-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    commit: false,
    partitionsConcurrency: 8,
    eachBatch: async (batch) => {
      for (const m of batch.messages) {
        if (m.value === null) out.tombstones++;
        else out.records.push({ key: m.key, value: await h.serde.decode(topic, m.value), partition: batch.partition, offset: m.offset });
      }
    },
  });
  await consumer.start();
  return out;
}

/** Processor tests run on the driver: no broker, no polling, a clock the test moves. */
export { ManualClock, TopologyTestDriver, type OutputRecord, type TestDriverOptions, type TestRecord } from './test-driver.js';
