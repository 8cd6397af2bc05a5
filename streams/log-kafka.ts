import kafkajs, { AssignerProtocol, Kafka, PartitionAssigners, logLevel, type Admin, type Consumer, type PartitionAssigner, type Producer, CompressionTypes } from 'kafkajs';
import { createLogger } from '../core/logger.js';
import { oneAtATime } from '../core/one-at-a-time.js';
import { retry } from '../core/retry.js';
import { PlatformError } from '../core/errors.js';
import type {
  ConsumerOptions,
  KafkaLogConfig,
  KafkaTuning,
  LogClient,
  LogConsumer,
  LogProducer,
  OutgoingMessage,
  TopicDefinition,
  TopicDescription,
} from './log.js';
import { partitionFor } from './partitioner.js';
import { coalescedSend } from './produce-batching.js';

/**
 * The Kafka engine's log, on kafkajs. This file is the only one that imports kafkajs, so the
 * client can be swapped (kafkajs is unmaintained) without touching the runtime.
 */
const log = createLogger('kafka');

// Node finds only a few of kafkajs's exports as named imports (its CommonJS export list ends in a
// spread); the rest come from the default export.
const { ConfigResourceTypes, ConfigSource, KafkaJSDeleteGroupsError } = kafkajs;

export class KafkaLog implements LogClient {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private adminClient: Admin | undefined;
  private readonly partitionCache = new Map<string, number>();
  private readonly producers = new Set<Producer>();
  /** lingerMs is not applied: kafkajs has no linger, it sends each batch as soon as it is asked to. */
  private readonly tuning: KafkaTuning;

  constructor(config: KafkaLogConfig) {
    this.tuning = config.tuning ?? {};
    this.kafka = new Kafka({
      clientId: config.clientId,
      brokers: config.brokers,
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => log.warn(entry.log.message, { namespace: entry.namespace }),
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
  }

  private async admin(): Promise<Admin> {
    if (!this.adminClient) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.adminClient = admin;
    }
    return this.adminClient;
  }

  /** Idempotent; retried as a whole, since waiting for leaders can meet a stale metadata view. */
  async createTopics(defs: TopicDefinition[]): Promise<void> {
    const admin = await this.admin();
    // Leader elections for new topics can take many seconds on a busy single broker.
    await this.serially(() =>
      retry(() => this.createMissing(admin, defs), { retries: 12, initialDelayMs: 250, maxDelayMs: 3_000, onRetry: (err) => log.warn('topic creation retried', { error: (err as Error).message }) }),
    );
  }

  private async createMissing(admin: Admin, defs: TopicDefinition[]): Promise<void> {
    const existing = new Set(await admin.listTopics());
    const missing = defs.filter((d) => !existing.has(d.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        timeout: 30_000,
        topics: missing.map((d) => ({
          topic: d.name,
          numPartitions: d.partitions,
          replicationFactor: d.replicationFactor,
          configEntries: Object.entries(d.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    // Existing topics get their declared configs (idempotent); partitions only ever grow.
    const present = defs.filter((d) => existing.has(d.name) && Object.keys(d.config).length > 0);
    if (present.length > 0) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: present.map((d) => ({ type: 2, name: d.name, configEntries: Object.entries(d.config).map(([name, value]) => ({ name, value })) })),
      });
    }
  }

  async partitionCount(topic: string): Promise<number> {
    let n = this.partitionCache.get(topic);
    if (n === undefined) {
      const admin = await this.admin();
      const meta = await this.withRetry(() => admin.fetchTopicMetadata({ topics: [topic] }));
      n = meta.topics[0]?.partitions.length ?? 0;
      if (n === 0) throw new Error(`kafka: topic ${topic} does not exist (run provisioning)`);
      this.partitionCache.set(topic, n);
    }
    return n;
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const admin = await this.admin();
    const offsets = await this.serially(() =>
      this.withRetry(async () => {
        try {
          return await admin.fetchTopicOffsets(topic);
        } catch (err) {
          // kafkajs throws a TypeError when its metadata does not list the topic's partitions
          // yet (a topic created moments ago): a stale cache, so worth a retry.
          if (err instanceof TypeError) throw new PlatformError('KAFKA_METADATA_STALE', `offsets of ${topic}: ${err.message}`, { retriable: true, cause: err });
          throw err;
        }
      }),
    );
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  /** Kafka's own topics (`__consumer_offsets`...) are not listed: they belong to no platform. */
  async listTopics(): Promise<string[]> {
    const admin = await this.admin();
    const names = await this.serially(() => this.withRetry(() => admin.listTopics()));
    return names.filter((t) => !t.startsWith('__'));
  }

  async describeTopic(topic: string): Promise<TopicDescription | null> {
    const admin = await this.admin();
    return this.serially(() =>
      this.withRetry(async () => {
        // Metadata of a missing topic is an error after kafkajs's own retries; the list is not.
        if (!(await admin.listTopics()).includes(topic)) return null;
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
        const entries = described.resources[0]?.configEntries ?? [];
        return {
          name: topic,
          partitions: meta.topics[0]?.partitions.length ?? 0,
          config: Object.fromEntries(entries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG).map((e) => [e.configName, e.configValue])),
        };
      }),
    );
  }

  /** Returns once the cluster no longer lists the topics, so the names can be created again at once. */
  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.admin();
    await this.serially(async () => {
      const existing = new Set(await this.withRetry(() => admin.listTopics()));
      const present = topics.filter((t) => existing.has(t));
      const deleted = new Set(present);
      // Hundreds of names in one request can outlast its timeout on a single busy broker.
      for (let i = 0; i < present.length; i += DELETE_TOPICS_PER_REQUEST) {
        await this.withRetry(() => admin.deleteTopics({ topics: present.slice(i, i + DELETE_TOPICS_PER_REQUEST), timeout: 30_000 }));
      }
      for (const t of topics) this.partitionCache.delete(t);
      await retry(
        async () => {
          const left = (await admin.listTopics()).filter((t) => deleted.has(t));
          if (left.length > 0) throw new PlatformError('KAFKA_TOPIC_DELETE_PENDING', `topics still listed after deletion: ${left.join(', ')}`, { retriable: true });
        },
        { retries: 20, initialDelayMs: 100, maxDelayMs: 1_000 },
      );
    });
  }

  async listGroups(): Promise<string[]> {
    const admin = await this.admin();
    const { groups } = await this.withRetry(() => admin.listGroups());
    return groups.map((g) => g.groupId);
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const admin = await this.admin();
    try {
      await admin.deleteGroups(groupIds);
    } catch (err) {
      if (!(err instanceof KafkaJSDeleteGroupsError)) throw err;
      // kafkajs reports every group the broker refused; a missing one is already what we want.
      const refused = err.groups.filter((g) => g.errorCode !== GROUP_ID_NOT_FOUND);
      if (refused.length > 0) {
        throw new PlatformError('LOG_GROUP_NOT_DELETED', `consumer groups not deleted: ${refused.map((g) => `${g.groupId} (${g.error?.type ?? g.errorCode})`).join(', ')}`, { cause: err });
      }
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const admin = await this.admin();
    const fetched = await this.serially(() => this.withRetry(() => admin.fetchOffsets({ groupId, topics: [topic] })));
    // The broker answers -1 for a partition the group never committed.
    const partitions = fetched.find((t) => t.topic === topic)?.partitions ?? [];
    return new Map(partitions.filter((p) => BigInt(p.offset) >= 0n).map((p) => [p.partition, p.offset]));
  }

  async producer(): Promise<LogProducer> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    this.producers.add(producer);
    const send = coalescedSend(async (chunk) => {
      await this.withRetry(async () => producer.sendBatch({ topicMessages: await this.toTopicMessages(chunk), acks: -1, compression: CompressionTypes.None }));
    });
    return {
      send,
      close: async () => {
        this.producers.delete(producer);
        await producer.disconnect();
      },
    };
  }

  /** kafkajs's admin fails concurrent offset look-ups (a TypeError inside it); one at a time. */
  private readonly serially = oneAtATime();

  /** kafkajs retries inside one request; a fresh topic's leader election can outlast that. */
  private withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, { retries: 6, initialDelayMs: 100, maxDelayMs: 2_000, onRetry: (err) => log.warn('kafka call retried', { error: (err as Error).message }) });
  }

  private toTopicMessages(byTopic: Map<string, OutgoingMessage[]>) {
    return Promise.all(
      [...byTopic].map(async ([topic, ms]) => {
        const partitions = await this.partitionCount(topic);
        return {
          topic,
          messages: ms.map((m) => ({
            key: m.key,
            value: m.value,
            headers: m.headers,
            timestamp: String(m.timestamp),
            partition: m.partition ?? partitionFor(m.key, partitions),
          })),
        };
      }),
    );
  }

  consumer(options: ConsumerOptions): LogConsumer {
    return new KafkaConsumer(this.kafka, options, this.tuning);
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers].map((p) => p.disconnect()));
    await this.adminClient?.disconnect();
  }
}

function rootCause(err: unknown): unknown {
  let e = err;
  while (e instanceof Error && e.cause) e = e.cause;
  return e;
}

/** Kafka's error code for deleting a group the coordinator does not know. */
const GROUP_ID_NOT_FOUND = 69;
const DELETE_TOPICS_PER_REQUEST = 100;

const COMMIT_INTERVAL_MS = 100;

/**
 * Partition n of every topic a group reads goes to the same member (members sorted by id), as
 * Kafka Streams assigns tasks: a sub-topology's task for partition n (its stores' keys) lives
 * in one member whichever topic its records come from. Needs equal partition counts, which the
 * catalogue gives every topic a sub-topology reads.
 */
const coPartitioned: PartitionAssigner = ({ cluster }) => ({
  name: 'CoPartitioned',
  version: 1,
  async assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort();
    const plan = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]));
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const owner = plan.get(ids[partitionId % ids.length]!)!;
        (owner[topic] ??= []).push(partitionId);
      }
    }
    return ids.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: this.version, assignment: plan.get(memberId)!, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: this.name, metadata: AssignerProtocol.MemberMetadata.encode({ version: this.version, topics, userData: Buffer.alloc(0) }) };
  },
});

/** How long start() waits for the first group join; a slow broker is not a failed start. */
const JOIN_WAIT_MS = 30_000;

class KafkaConsumer implements LogConsumer {
  private consumer: Consumer | undefined;
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private readonly lastCommit = new Map<string, number>();
  private killed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ConsumerOptions,
    private readonly tuning: KafkaTuning,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      // Round-robin second: members of an older version (without CoPartitioned) can still share
      // the group during a rolling upgrade instead of the newcomer being refused for good.
      partitionAssigners: [coPartitioned, PartitionAssigners.roundRobin],
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 20_000,
      // The broker answers a fetch as soon as any data is there (min bytes 1): a long wait costs
      // no latency and saves the idle polling of dozens of consumers (the broker's main load).
      maxWaitTimeInMs: this.tuning.fetchMaxWaitMs ?? 500,
      minBytes: this.tuning.fetchMinBytes ?? 1,
      // Smaller fetches keep one batch's processing well inside the session timeout (kafkajs
      // heartbeats only between batches) and its outputs under one request's size.
      maxBytesPerPartition: this.tuning.maxBytesPerPartition ?? 256 * 1024,
      retry: { retries: 10 },
    });
    this.consumer = consumer;
    // After a rebalance a partition may belong to another member: an offset held back for it
    // must not be committed later over the new owner's progress.
    consumer.on(consumer.events.GROUP_JOIN, () => this.pending.clear());
    if (this.options.onAssignment) {
      const onAssignment = this.options.onAssignment;
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const assigned = Object.entries(e.payload.memberAssignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
        onAssignment(assigned);
      });
    }
    // Started means joined: a caller that sends traffic right after start() finds the group
    // assigned, not in its first rebalance.
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrency ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (this.killed || batch.messages.length === 0) return;
        await this.options.eachBatch({
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          messages: batch.messages.map((m) => ({
            key: m.key ? m.key.toString('utf8') : null,
            value: m.value,
            headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v ? v.toString() : ''])),
            timestamp: Number(m.timestamp),
            offset: m.offset,
          })),
        });
        if (this.killed) throw new Error('consumer killed: batch not committed');
        const last = batch.messages[batch.messages.length - 1]!.offset;
        resolveOffset(last);
        if (this.options.commit) await this.commitSoon(consumer, batch.topic, batch.partition, (BigInt(last) + 1n).toString());
        await heartbeat();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise<void>((resolve) => (timer = setTimeout(resolve, JOIN_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Commits the partition's processed offset at most every commit interval (tuning.commitIntervalMs,
   * COMMIT_INTERVAL_MS by default): a commit per
   * batch would add a coordinator round trip before each next fetch. What is not yet
   * committed when a process dies is processed again (at-least-once); a graceful stop commits
   * it all.
   */
  private async commitSoon(consumer: Consumer, topic: string, partition: number, offset: string): Promise<void> {
    const key = `${topic}#${partition}`;
    this.pending.set(key, { topic, partition, offset });
    const now = Date.now();
    if (now - (this.lastCommit.get(key) ?? 0) < (this.tuning.commitIntervalMs ?? COMMIT_INTERVAL_MS)) return;
    this.lastCommit.set(key, now);
    this.pending.delete(key);
    try {
      await consumer.commitOffsets([{ topic, partition, offset }]);
    } catch (err) {
      // kafkajs wraps e.g. UNKNOWN_MEMBER_ID (a batch outlasted the session) as non-retriable,
      // and then stops consuming for good; its own error makes it rejoin (batch redelivered).
      throw rootCause(err);
    }
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    await consumer.stop(); // lets the batches in flight finish
    const pending = [...this.pending.values()];
    this.pending.clear();
    if (pending.length > 0 && !this.killed) await consumer.commitOffsets(pending).catch(() => {});
    await consumer.disconnect();
  }

  /** Test hook: a crash. Nothing more is committed; the session is dropped. */
  async kill(): Promise<void> {
    this.killed = true;
    await this.consumer?.disconnect().catch(() => {});
  }
}
