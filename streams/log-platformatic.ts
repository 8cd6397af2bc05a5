import type { EventEmitter } from 'node:events';
import {
  Admin,
  ConfigResourceTypes,
  ConfigSources,
  Consumer,
  consumerFetchesChannel,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializer,
  stringSerializer,
  type BaseOptions,
  type CommitOptions,
  type GroupAssignment,
  type GroupPartitionsAssigner,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import { createLogger, type Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import { errorMessage, PlatformError } from '../core/errors.js';
import type {
  ConsumedMessage,
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
import { guardIncompleteMetadata, guardMissingBrokerLookups, retryDelayWithFreshMetadata } from './log-platformatic-guard.js';
import { watchUnansweredRequests } from './log-platformatic-requests.js';
import { partitionFor } from './partitioner.js';
import { coalescedSend } from './produce-batching.js';

/**
 * The Kafka engine's log on @platformatic/kafka (pure JavaScript). This file is the only one that
 * imports the package; the semantics are those of log-kafka.ts (kafkajs), the same contract
 * cases check both.
 *
 * What the package does not give and this file makes up for:
 * - Its consumer is a stream of single records over all assigned partitions; the contract wants
 *   per-partition batches with redelivery of a rejected batch, so records are queued per
 *   partition here and a partition's queue is delivered as one batch when the partition has none
 *   in flight (nothing waits for a batch to fill).
 * - It rejoins the group by itself the moment the coordinator announces a rebalance, without a
 *   revocation callback: a batch in flight for a partition that moved keeps running and may
 *   overlap the new owner's first batch of it. Its commit is dropped (at-least-once, no skipped
 *   record); the overlap lasts one batch at most.
 * - Records carry no high watermark; it is read from the fetch responses the package publishes
 *   on its diagnostics channel.
 * - Its send() has no linger, so tuning.lingerMs is not applied: an idle producer sends at once,
 *   a busy one coalesces sends (SendCoalescer), as with kafkajs.
 * - Its logs are events, not a logger: errors and warnings among them go to the 'kafka' logger.
 * - A request it times out is a bare "Request timed out": requests unanswered for 10 s are
 *   logged by API and broker (log-platformatic-requests.ts).
 */
const log = createLogger('kafka');
guardMissingBrokerLookups();
guardIncompleteMetadata();
// Past a heartbeat's session and a fetch's wait, under a join's rebalance timeout (20 s): a join
// held that long by the coordinator is worth a line too.
watchUnansweredRequests({ logger: log, overdueMs: 10_000, forgetMs: 60_000, sweepMs: 2_000 });

/** Records of the platform: string keys and header values, raw value bytes (null: tombstone). */
type RecordConsumer = Consumer<string, Buffer, string, string>;
type RecordStream = MessagesStream<string, Buffer, string, string>;
type RecordProducer = Producer<string, Buffer | null, string, string>;

/**
 * Defaults chosen for latency (each overridable through KafkaTuning):
 * - fetch max wait 500 ms: the broker answers a fetch as soon as one byte is there (min bytes 1),
 *   so the wait only bounds how long an idle fetch is held; a long one spares the broker the idle
 *   polling of dozens of consumers and costs no latency.
 * - 256 KiB per partition: one batch's processing stays short and its outputs fit one request.
 * - commits at most every 100 ms: a commit per batch would put a coordinator round trip beside
 *   every batch; what a crash leaves uncommitted is at most 100 ms of records processed again.
 */
const DEFAULT_FETCH_MAX_WAIT_MS = 500;
const DEFAULT_MAX_BYTES_PER_PARTITION = 256 * 1024;
const DEFAULT_COMMIT_INTERVAL_MS = 100;

/** How long start() waits for the first group join; a slow broker is not a failed start. */
const JOIN_WAIT_MS = 30_000;
/**
 * Pause before a consumer whose record stream failed (broker gone past the retries) reads again:
 * short at first, because after a stalled broker resumes the first attempts fail for a few
 * seconds (joins refused, offsets not listed) and each wait adds to the outage; doubled on each
 * failure in a row up to a second. A cap of 5 s let a consumer that failed just before the
 * broker resumed sit out up to 5 s more (broker SIGSTOP: acks back after 4.6-7.6 s); an attempt
 * a second per consumer (a few per process since tables share one, table-reader.ts) is no load.
 */
const STREAM_REOPEN_DELAY_MS = { first: 200, max: 1_000 } as const;
const DELETE_TOPICS_PER_REQUEST = 100;

export class PlatformaticKafkaLog implements LogClient {
  readonly kind = 'kafka' as const;
  private readonly admin: Admin;
  private readonly partitionCache = new Map<string, number>();
  private readonly producers = new Set<RecordProducer>();
  private readonly tuning: KafkaTuning;

  constructor(private readonly config: KafkaLogConfig) {
    this.tuning = config.tuning ?? {};
    this.admin = withLoggedEvents(new Admin(clientOptions(config)), 'admin');
  }

  /** Idempotent; retried as a whole, since waiting for leaders can meet a stale metadata view. */
  async createTopics(defs: TopicDefinition[]): Promise<void> {
    // Leader elections for new topics can take many seconds on a busy single broker.
    await retry(() => this.createMissing(defs), { retries: 12, initialDelayMs: 250, maxDelayMs: 3_000, onRetry: (err) => log.warn('topic creation retried', { error: errorMessage(err) }) });
  }

  private async createMissing(defs: TopicDefinition[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = defs.filter((d) => !existing.has(d.name));
    await Promise.all(
      missing.map(async (d) => {
        try {
          await this.admin.createTopics({
            topics: [d.name],
            partitions: d.partitions,
            replicas: d.replicationFactor,
            configs: Object.entries(d.config).map(([name, value]) => ({ name, value })),
          });
        } catch (err) {
          // Another process created it meanwhile: what was asked for is there.
          if (!protocolErrorIds(err).includes('TOPIC_ALREADY_EXISTS')) throw err;
        }
      }),
    );
    // Existing topics get their declared configs (idempotent); partitions only ever grow.
    const present = defs.filter((d) => existing.has(d.name) && Object.keys(d.config).length > 0);
    if (present.length > 0) {
      await this.admin.alterConfigs({
        resources: present.map((d) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: d.name, configs: Object.entries(d.config).map(([name, value]) => ({ name, value })) })),
      });
    }
    // The package's createTopics returns before the partitions have leaders (kafkajs waits).
    if (missing.length > 0) await this.leadersElected(missing);
  }

  private async leadersElected(defs: TopicDefinition[]): Promise<void> {
    const metadata = await this.admin.metadata({ topics: defs.map((d) => d.name), forceUpdate: true });
    const leaderless = defs.filter((d) => {
      const topic = metadata.topics.get(d.name);
      return !topic || topic.partitionsCount < d.partitions || topic.partitions.some((p) => p.leader < 0);
    });
    if (leaderless.length > 0) throw new PlatformError('KAFKA_LEADERS_PENDING', `no leader yet for partitions of ${leaderless.map((d) => d.name).join(', ')}`, { retriable: true });
  }

  async partitionCount(topic: string): Promise<number> {
    let n = this.partitionCache.get(topic);
    if (n === undefined) {
      const metadata = await this.withRetry(() => this.admin.metadata({ topics: [topic] })).catch((err: unknown) => {
        const missing = protocolErrorIds(err).includes('UNKNOWN_TOPIC_OR_PARTITION') || errorMessage(err).startsWith('Unknown topic');
        throw missing ? new PlatformError('KAFKA_TOPIC_MISSING', `kafka: topic ${topic} does not exist (run provisioning)`, { cause: err }) : err;
      });
      n = metadata.topics.get(topic)?.partitionsCount ?? 0;
      if (n === 0) throw new PlatformError('KAFKA_TOPIC_MISSING', `kafka: topic ${topic} does not exist (run provisioning)`);
      this.partitionCache.set(topic, n);
    }
    return n;
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const partitions = await this.partitionCount(topic);
    const listed = await this.withRetry(() =>
      this.admin.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp: LATEST_OFFSET })) }] }),
    );
    const offsets = listed.find((t) => t.name === topic)?.partitions ?? [];
    return new Map(offsets.map((p) => [p.partitionIndex, p.offset.toString()]));
  }

  /** Kafka's own topics (`__consumer_offsets`...) are not listed: they belong to no platform. */
  async listTopics(): Promise<string[]> {
    const names = await this.withRetry(() => this.admin.listTopics());
    return names.filter((t) => !t.startsWith('__'));
  }

  async describeTopic(topic: string): Promise<TopicDescription | null> {
    return this.withRetry(async () => {
      // Metadata of a missing topic is an error after the package's own retries; the list is not.
      if (!(await this.admin.listTopics()).includes(topic)) return null;
      const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
      const [described] = await this.admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }] });
      const set = (described?.configs ?? []).filter((c) => c.configSource === ConfigSources.TOPIC_CONFIG && c.value !== null);
      return { name: topic, partitions: metadata.topics.get(topic)?.partitionsCount ?? 0, config: Object.fromEntries(set.map((c) => [c.name, c.value ?? ''])) };
    });
  }

  /** Returns once the cluster no longer lists the topics, so the names can be created again at once. */
  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const existing = new Set(await this.withRetry(() => this.admin.listTopics()));
    const present = topics.filter((t) => existing.has(t));
    // Hundreds of names in one request can outlast its timeout on a single busy broker.
    for (let i = 0; i < present.length; i += DELETE_TOPICS_PER_REQUEST) {
      const slice = present.slice(i, i + DELETE_TOPICS_PER_REQUEST);
      await this.withRetry(async () => {
        try {
          await this.admin.deleteTopics({ topics: slice });
        } catch (err) {
          // A retry after a timed-out request finds them gone already.
          if (!protocolErrorIds(err).every((id) => id === 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
        }
      });
    }
    for (const t of topics) this.partitionCache.delete(t);
    // A name created again must not be sent to with the deleted topic's partition count.
    for (const p of this.producers) p.clearMetadata();
    const deleted = new Set(present);
    await retry(
      async () => {
        const left = (await this.admin.listTopics()).filter((t) => deleted.has(t));
        if (left.length > 0) throw new PlatformError('KAFKA_TOPIC_DELETE_PENDING', `topics still listed after deletion: ${left.join(', ')}`, { retriable: true });
      },
      { retries: 20, initialDelayMs: 100, maxDelayMs: 1_000 },
    );
  }

  async listGroups(): Promise<string[]> {
    const groups = await this.withRetry(() => this.admin.listGroups());
    return [...groups.keys()];
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    try {
      await this.admin.deleteGroups({ groups: groupIds });
    } catch (err) {
      // The broker answers per group; a missing one is already what we want.
      const refused = protocolErrorIds(err).filter((id) => id !== 'GROUP_ID_NOT_FOUND');
      if (refused.length > 0 || protocolErrorIds(err).length === 0) {
        throw new PlatformError('LOG_GROUP_NOT_DELETED', `consumer groups not deleted: ${groupIds.join(', ')} (${refused.join(', ') || errorMessage(err)})`, { cause: err });
      }
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const groups = await this.withRetry(() => this.admin.listConsumerGroupOffsets({ groups: [groupId] }));
    const partitions = groups.find((g) => g.groupId === groupId)?.topics.find((t) => t.name === topic)?.partitions ?? [];
    // The broker answers -1 for a partition the group never committed.
    return new Map(partitions.filter((p) => p.committedOffset >= 0n).map((p) => [p.partitionIndex, p.committedOffset.toString()]));
  }

  async producer(): Promise<LogProducer> {
    const producer: RecordProducer = withLoggedEvents(
      new Producer<string, Buffer | null, string, string>({
        ...clientOptions(this.config),
        idempotent: true,
        acks: ProduceAcks.ALL,
        autocreateTopics: false,
        serializers: { key: stringSerializer, value: (value) => value ?? undefined, headerKey: stringSerializer, headerValue: stringSerializer },
      }),
      'producer',
    );
    // The producer id is fetched now rather than on the first send, which would carry the wait.
    await this.withRetry(() => producer.initIdempotentProducer({}));
    this.producers.add(producer);
    const send = coalescedSend(async (chunk) => {
      const records = await this.toRecords(chunk);
      await this.withRetry(() => producer.send({ messages: records, acks: ProduceAcks.ALL }));
    });
    return {
      send,
      close: async () => {
        this.producers.delete(producer);
        await producer.close();
      },
    };
  }

  /** Partitions are explicit (Kafka's default partitioner), so every client places a key alike. */
  private async toRecords(byTopic: Map<string, OutgoingMessage[]>) {
    const records = [];
    for (const [topic, ms] of byTopic) {
      const partitions = await this.partitionCount(topic);
      for (const m of ms) {
        records.push({ topic, key: m.key ?? undefined, value: m.value, headers: m.headers, timestamp: BigInt(m.timestamp), partition: m.partition ?? partitionFor(m.key, partitions) });
      }
    }
    return records;
  }

  /** The package retries inside one request; a fresh topic's leader election can outlast that. */
  private withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, { retries: 6, initialDelayMs: 100, maxDelayMs: 2_000, onRetry: (err) => log.warn('kafka call retried', failureFields(err)) });
  }

  consumer(options: ConsumerOptions): LogConsumer {
    return new PlatformaticConsumer(this.config, options, this.tuning);
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers].map((p) => p.close()));
    this.producers.clear();
    await this.admin.close();
  }
}

/** ListOffsets' timestamp for "the offset the next record will get". */
const LATEST_OFFSET = -1n;

function clientOptions(config: KafkaLogConfig): BaseOptions {
  // The package's defaults (3 retries, 1 s apart) give up during a broker restart; these ride
  // it out. Failures a resend cannot mend go through their retries quickly, on fresh metadata
  // (log-platformatic-guard.ts).
  return { clientId: config.clientId, bootstrapBrokers: config.brokers, retries: 10, retryDelay: retryDelayWithFreshMetadata(250, 50) };
}

/** The package reports through events; what needs an operator's eye goes to the log. */
export function withLoggedEvents<C extends Pick<EventEmitter, 'on'>>(client: C, role: string, logger: Logger = log): C {
  // An 'error' event without a listener would crash the process.
  client.on('error', (err: Error) => logger.error('kafka client error', { role, error: err.message }));
  // The client retries a lost broker every few hundred ms: one line when it is lost, one when
  // it is back, not one per attempt (a 40 s outage printed hundreds).
  const down = new Set<string>();
  const name = (payload: { broker: { host: string; port: number } }): string => `${payload.broker.host}:${payload.broker.port}`;
  client.on('client:broker:failed', (payload: { broker: { host: string; port: number } }) => {
    const broker = name(payload);
    if (down.has(broker)) return;
    down.add(broker);
    logger.warn('kafka broker connection failed', { role, broker });
  });
  client.on('client:broker:connect', (payload: { broker: { host: string; port: number } }) => {
    if (down.delete(name(payload))) logger.warn('kafka broker connected again', { role, broker: name(payload) });
  });
  return client;
}

/**
 * A failure as a log line's fields: the package's top message ("fetch failed 11 times.") says
 * what was tried, the causes inside it (Kafka error names, or the innermost messages) say why.
 */
function failureFields(err: unknown): { error: string; causes?: string } {
  const causes = new Set<string>();
  const walk = (e: unknown): void => {
    if (!(e instanceof Error)) return;
    const apiId: unknown = 'apiId' in e ? e.apiId : undefined;
    const inner = e instanceof AggregateError ? e.errors : [];
    if (typeof apiId === 'string') causes.add(apiId);
    else if (inner.length === 0 && !e.cause) causes.add(e.message);
    for (const i of inner) walk(i);
    walk(e.cause);
  };
  walk(err);
  const message = errorMessage(err);
  causes.delete(message);
  return causes.size > 0 ? { error: message, causes: [...causes].slice(0, 5).join(', ') } : { error: message };
}

/** The Kafka error names (e.g. NON_EMPTY_GROUP) anywhere inside one of the package's errors. */
function protocolErrorIds(err: unknown): string[] {
  if (!(err instanceof Error)) return [];
  const apiId: unknown = 'apiId' in err ? err.apiId : undefined;
  const own = typeof apiId === 'string' ? [apiId] : [];
  const nested = err instanceof AggregateError ? err.errors.flatMap(protocolErrorIds) : [];
  return [...own, ...nested, ...(err.cause ? protocolErrorIds(err.cause) : [])];
}

/**
 * Partition n of every topic a group reads goes to the same member (members sorted by id), as
 * Kafka Streams assigns tasks: a sub-topology's task for partition n (its stores' keys) lives in
 * one member whichever topic its records come from. Needs equal partition counts, which the
 * catalogue gives every topic a sub-topology reads. The plan and the protocol name are those of
 * log-kafka.ts, so members on either client agree on it in one group.
 */
const coPartitioned: GroupPartitionsAssigner = (_leader, members, topics, metadata) => {
  const ids = [...members.keys()].sort();
  const plan = ids.map((memberId) => ({ memberId, assignments: new Map<string, GroupAssignment>() }));
  const subscribed = new Set([...topics, ...[...members.values()].flatMap((m) => m.topics ?? [])]);
  for (const topic of [...subscribed].sort()) {
    const partitions = metadata.topics.get(topic)?.partitionsCount ?? 0;
    for (let partition = 0; partition < partitions; partition++) {
      const owner = plan[partition % ids.length]!.assignments;
      const assigned = owner.get(topic);
      if (assigned) assigned.partitions.push(partition);
      else owner.set(topic, { topic, partitions: [partition] });
    }
  }
  return plan;
};

/**
 * Round-robin second, by the name kafkajs uses: members of an older version (without
 * CoPartitioned) can still share the group during a rolling upgrade. Whichever protocol the group
 * picks, a leader on this client plans with coPartitioned (the package has one assigner).
 */
const GROUP_PROTOCOLS = [
  { name: 'CoPartitioned', version: 1 },
  { name: 'RoundRobinAssigner', version: 1 },
];

interface FetchResult {
  responses: { topicId: string; partitions: { partitionIndex: number; highWatermark: bigint }[] }[];
}

/**
 * High watermarks by consumer: the package publishes every fetch's response on a diagnostics
 * channel, the only place they are, and one subscriber hands each to the consumer that sent it.
 */
const fetchWatchers = new Map<object, (result: FetchResult) => void>();
let fetchChannelSubscribed = false;

function watchFetches(consumer: RecordConsumer, onResult: (result: FetchResult) => void): void {
  fetchWatchers.set(consumer, onResult);
  if (fetchChannelSubscribed) return;
  fetchChannelSubscribed = true;
  // asyncStart is published with the result before the fetch's callback pushes its records.
  consumerFetchesChannel.asyncStart.subscribe((message) => {
    const context = message as { client?: object; result?: FetchResult };
    if (context.client && context.result) fetchWatchers.get(context.client)?.(context.result);
  });
}

/** One partition the member owns: its records not yet processed, in offset order. */
interface PartitionQueue {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  records: ConsumedMessage[];
  /** Of the records waiting (not in a batch in flight): what holds the fetching back. */
  bytes: number;
  /** After the last record queued: the stream fetches again from the committed offset after a rejoin. */
  next: bigint | undefined;
  /** A batch in flight or waiting to be delivered again: the next one waits. */
  busy: boolean;
  /** In the list of partitions waiting for a free slot. */
  waiting: boolean;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

/**
 * Closes the consumer's streams and leaves the group (force: the package leaves only once its
 * streams are closed). Its promise overload is shadowed by the callback one for `close(true)`.
 */
function leaveGroup(consumer: RecordConsumer): Promise<void> {
  return new Promise((resolve, reject) => consumer.close(true, (err) => (err ? reject(err) : resolve())));
}

const recordBytes = (m: ConsumedMessage): number => (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64;

class PlatformaticConsumer implements LogConsumer {
  private consumer: RecordConsumer | undefined;
  private stream: RecordStream | undefined;
  /** The partitions assigned now; a queue object stands for one spell of ownership. */
  private readonly owned = new Map<string, PartitionQueue>();
  private readonly ready: PartitionQueue[] = [];
  private pumpScheduled = false;
  private batchesInFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly highWatermarks = new Map<string, bigint>();
  private paused = false;
  private stopping = false;
  private killed = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenDelayMs: number = STREAM_REOPEN_DELAY_MS.first;
  /** When the stream last failed with none reading since: a recovery's length, logged once it reads again. */
  private failedAt: number | undefined;

  /** Processed offsets not yet committed, by partition, with the spell of ownership they belong to. */
  private readonly toCommit = new Map<string, { queue: PartitionQueue; offset: bigint }>();
  private readonly commitsInFlight = new Map<CommitOptions, PartitionQueue[]>();
  private commitRunning: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private lastCommitAt = 0;

  private readonly concurrency: number;
  private readonly maxBytesPerPartition: number;
  private readonly commitIntervalMs: number;

  constructor(
    private readonly config: KafkaLogConfig,
    private readonly options: ConsumerOptions,
    private readonly tuning: KafkaTuning,
  ) {
    this.concurrency = Math.max(1, options.partitionsConcurrency ?? 1);
    this.maxBytesPerPartition = tuning.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION;
    this.commitIntervalMs = tuning.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
  }

  async start(): Promise<void> {
    const consumer: RecordConsumer = withLoggedEvents(
      new Consumer<string, Buffer, string, string>({
        ...clientOptions(this.config),
        groupId: this.options.groupId,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        rebalanceTimeout: 20_000,
        protocols: GROUP_PROTOCOLS,
        partitionAssigner: coPartitioned,
        autocommit: false,
        minBytes: this.tuning.fetchMinBytes ?? 1,
        maxWaitTime: this.tuning.fetchMaxWaitMs ?? DEFAULT_FETCH_MAX_WAIT_MS,
        maxBytesPerPartition: this.maxBytesPerPartition,
        deserializers: { key: stringDeserializer, headerKey: stringDeserializer, headerValue: stringDeserializer },
      }),
      'consumer',
    );
    this.consumer = consumer;
    // The package tracks a consumer's topics by its open streams, and a rejoin subscribes to
    // what is tracked then. Between a failed stream's close and the next one's start nothing is,
    // so a rejoin in that gap (after a broker stall) subscribed to nothing while the package's
    // own sync step then read a topic it had no metadata for, and threw: the pipeline process
    // died (the faults bench, broker SIGSTOP, 1 run of 5). Pinned here, the topics stay
    // subscribed for the consumer's whole life.
    consumer.topics.trackAll(...this.options.topics);
    consumer.on('consumer:group:join', (joined) => this.onAssignment(joined.assignments ?? []));
    // The member still owns its partitions until it has rejoined: what it processed is committed now.
    consumer.on('consumer:group:rebalance', () => void this.commitNow());
    consumer.on('consumer:heartbeat:error', (failed) => log.warn('kafka heartbeat failed', { group: this.options.groupId, error: failed.error.message }));
    // Emitted when a rejoin failed past its retries: the member is out of the group until it reads again.
    consumer.on('error', () => void this.stream?.close().catch(() => {}));
    watchFetches(consumer, (result) => this.recordHighWatermarks(result));

    // Started means joined: a caller that sends traffic right after start() finds the group
    // assigned and the positions resolved.
    let late = false;
    let timer: NodeJS.Timeout | undefined;
    const opened = this.openStream().catch((err: unknown) => {
      if (!late) throw err;
      log.warn('kafka consumer failed to start; retrying', { group: this.options.groupId, ...failureFields(err) });
      this.reopenLater();
    });
    try {
      await Promise.race([opened, new Promise<void>((resolve) => (timer = setTimeout(() => resolve(void (late = true)), JOIN_WAIT_MS)))]);
    } catch (err) {
      this.stopping = true;
      fetchWatchers.delete(consumer);
      await leaveGroup(consumer).catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Joins (if needed) and reads; resolves once the stream knows where each partition starts. */
  private async openStream(): Promise<void> {
    const consumer = this.consumer!;
    const stream = await consumer.consume({
      topics: this.options.topics,
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: this.options.fromBeginning ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
    });
    if (this.stopping || this.killed) {
      await stream.close();
      return;
    }
    this.stream = stream;
    const positioned = new Promise<void>((resolve, reject) => {
      stream.once('offsets', resolve);
      stream.once('error', reject);
    });
    // Only the current stream's records count: a stream given up below may still deliver.
    stream.on('data', (message) => {
      if (this.stream === stream) this.enqueue(message);
    });
    stream.on('error', (err) => {
      log.warn('kafka consumer stream failed; reading again', { group: this.options.groupId, ...failureFields(err) });
      // A failed stream reads no more, but its 'close' waits on the package closing its broker
      // connections, which after a broker stall took forever: every consumer of the pipeline
      // stopped for good (the faults bench, broker SIGSTOP). So it is given up now, not at 'close'.
      if (this.stream === stream) this.stream = undefined;
      this.failedAt ??= Date.now();
      void stream.close().catch(() => {});
      // The next stream asks for leaders and epochs afresh: those cached may be why this one failed.
      consumer.clearMetadata();
      this.reopenLater();
    });
    stream.on('close', () => {
      if (this.stream === stream) this.stream = undefined;
      this.reopenLater();
    });
    if (this.paused) stream.pause();
    await positioned;
    this.reopenDelayMs = STREAM_REOPEN_DELAY_MS.first;
    // Once per outage, not per attempt: which group read last tells what held a recovery.
    if (this.failedAt !== undefined) log.warn('kafka consumer reading again', { group: this.options.groupId, afterMs: Date.now() - this.failedAt });
    this.failedAt = undefined;
  }

  private reopenLater(): void {
    if (this.reopenTimer || this.stopping || this.killed) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.stream || this.stopping || this.killed) return;
      this.openStream().catch((err: unknown) => {
        log.warn('kafka consumer could not read again; retrying', { group: this.options.groupId, ...failureFields(err) });
        this.reopenLater();
      });
    }, this.reopenDelayMs);
    this.reopenDelayMs = Math.min(this.reopenDelayMs * 2, STREAM_REOPEN_DELAY_MS.max);
  }

  private onAssignment(assignments: GroupAssignment[]): void {
    const assigned = new Set(assignments.flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)));
    for (const [key, queue] of this.owned) {
      if (assigned.has(key)) continue;
      // Another member owns it now: its records and offsets are no longer this member's business.
      this.owned.delete(key);
      this.toCommit.delete(key);
      this.highWatermarks.delete(key);
      clearTimeout(queue.retryTimer);
      queue.records = [];
      queue.bytes = 0;
    }
    for (const { topic, partitions } of assignments) {
      for (const partition of partitions) {
        const key = `${topic}:${partition}`;
        if (!this.owned.has(key)) this.owned.set(key, { key, topic, partition, records: [], bytes: 0, next: undefined, busy: false, waiting: false, failures: 0, retryTimer: undefined });
      }
    }
    // The package retries a commit refused for a rebalance after rejoining, with the same
    // request: partitions that moved are taken out of it so it cannot overwrite their new owner's.
    for (const [request, queues] of this.commitsInFlight) {
      for (let i = request.offsets.length - 1; i >= 0; i--) {
        if (this.owned.get(queues[i]!.key) !== queues[i]) {
          request.offsets.splice(i, 1);
          queues.splice(i, 1);
        }
      }
    }
    this.resumeIfDrained();
    this.options.onAssignment?.(assignments.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition }))));
  }

  private recordHighWatermarks(result: FetchResult): void {
    const topics = this.consumer?.currentMetadata?.topics;
    if (!topics) return;
    for (const response of result.responses) {
      const topic = [...topics].find(([, t]) => t.id === response.topicId)?.[0];
      if (topic === undefined) continue;
      for (const p of response.partitions) this.highWatermarks.set(`${topic}:${p.partitionIndex}`, p.highWatermark);
    }
  }

  private enqueue(message: Message<string, Buffer, string, string>): void {
    if (this.stopping || this.killed) return;
    const queue = this.owned.get(`${message.topic}:${message.partition}`);
    // A fetch answered after its partition went to another member.
    if (!queue) return;
    if (queue.next !== undefined && message.offset < queue.next) return;
    queue.next = message.offset + 1n;
    const record: ConsumedMessage = {
      key: message.key ?? null,
      value: message.value ?? null,
      headers: Object.fromEntries([...message.headers].map(([k, v]) => [k, v ?? ''])),
      timestamp: Number(message.timestamp),
      offset: message.offset.toString(),
    };
    queue.records.push(record);
    queue.bytes += recordBytes(record);
    this.schedule(queue);
  }

  /**
   * A partition whose processing lags holds the fetching back, as with kafkajs: a partition keeps
   * at most a batch in flight and about a fetch's worth waiting. Decided once a fetch's records
   * are all queued and the batches that could start have, so one slow partition does not strand
   * the others' records of the same fetch in the stream.
   */
  private pauseIfFull(): void {
    if (this.paused || this.stopping || this.killed) return;
    for (const queue of this.owned.values()) {
      if (queue.bytes > this.maxBytesPerPartition) {
        this.paused = true;
        this.stream?.pause();
        return;
      }
    }
  }

  private resumeIfDrained(): void {
    if (!this.paused || this.stopping || this.killed) return;
    for (const queue of this.owned.values()) if (queue.bytes > this.maxBytesPerPartition) return;
    this.paused = false;
    this.stream?.resume();
  }

  private schedule(queue: PartitionQueue): void {
    if (!queue.busy && !queue.waiting && queue.records.length > 0) {
      queue.waiting = true;
      this.ready.push(queue);
    }
    // The stream hands over a fetch's records one by one in one synchronous loop: batches start
    // once it ends (a microtask later), so a partition's batch holds all it fetched, not the first record.
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
      this.pauseIfFull();
    });
  }

  /** Starts a batch for each waiting partition while slots are free (partitionsConcurrency). */
  private pump(): void {
    while (this.batchesInFlight < this.concurrency && this.ready.length > 0 && !this.stopping && !this.killed) {
      const queue = this.ready.shift()!;
      queue.waiting = false;
      if (this.owned.get(queue.key) !== queue || queue.busy || queue.records.length === 0) continue;
      void this.deliver(queue);
    }
  }

  /** What has arrived for the partition, up to a fetch's worth, as one batch. */
  private async deliver(queue: PartitionQueue): Promise<void> {
    queue.busy = true;
    this.batchesInFlight++;
    let count = 0;
    let bytes = 0;
    while (count < queue.records.length && (count === 0 || bytes + recordBytes(queue.records[count]!) <= this.maxBytesPerPartition)) bytes += recordBytes(queue.records[count++]!);
    queue.bytes -= bytes;
    const messages = queue.records.slice(0, count);
    const next = BigInt(messages[messages.length - 1]!.offset) + 1n;
    const highWatermark = this.highWatermarks.get(queue.key) ?? next;
    let failure: unknown;
    try {
      await this.options.eachBatch({ topic: queue.topic, partition: queue.partition, messages, highWatermark: (highWatermark > next ? highWatermark : next).toString() });
    } catch (err) {
      failure = err ?? new Error('batch rejected');
    } finally {
      this.batchesInFlight--;
    }
    const stillOwned = this.owned.get(queue.key) === queue;
    if (failure !== undefined) queue.bytes += bytes;
    if (failure === undefined) {
      queue.records.splice(0, count);
      queue.failures = 0;
      queue.busy = false;
      if (stillOwned && this.options.commit && !this.killed) this.markProcessed(queue, next);
    } else if (stillOwned && !this.stopping && !this.killed) {
      // Delivered again, from the same record, after a pause that grows with each failure.
      queue.failures++;
      const delayMs = Math.min(100 * 2 ** (queue.failures - 1), 5_000);
      log.warn('batch rejected; delivered again', { group: this.options.groupId, topic: queue.topic, partition: queue.partition, attempt: queue.failures, delayMs, error: errorMessage(failure) });
      queue.retryTimer = setTimeout(() => {
        queue.retryTimer = undefined;
        queue.busy = false;
        this.schedule(queue);
      }, delayMs);
    }
    if (!queue.busy && stillOwned) this.schedule(queue);
    this.resumeIfDrained();
    this.pump();
    if (this.batchesInFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * Commits processed offsets at most every commit interval, all partitions in one request
   * (tuning.commitIntervalMs): a commit per batch would add a coordinator round trip per batch.
   * A batch's offset held back is committed when the interval ends, by a timer if no batch
   * follows. What is not committed when a process dies is processed again (at-least-once).
   */
  private markProcessed(queue: PartitionQueue, offset: bigint): void {
    this.toCommit.set(queue.key, { queue, offset });
    this.scheduleCommit();
  }

  private scheduleCommit(): void {
    if (this.commitRunning || this.commitTimer || this.killed) return;
    const waitMs = this.lastCommitAt + this.commitIntervalMs - Date.now();
    if (waitMs <= 0) {
      void this.commitNow();
      return;
    }
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commitNow();
    }, waitMs);
  }

  private async commitNow(): Promise<void> {
    if (this.commitRunning) return this.commitRunning;
    const consumer = this.consumer;
    // Only offsets of partitions still owned in the same spell: never over a new owner's.
    const entries = [...this.toCommit.values()].filter((e) => this.owned.get(e.queue.key) === e.queue);
    this.toCommit.clear();
    if (!consumer || this.killed || entries.length === 0) return;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.lastCommitAt = Date.now();
    const request: CommitOptions = { offsets: entries.map((e) => ({ topic: e.queue.topic, partition: e.queue.partition, offset: e.offset, leaderEpoch: -1 })) };
    this.commitsInFlight.set(request, entries.map((e) => e.queue));
    let failed = false;
    this.commitRunning = (async () => {
      try {
        await consumer.commit(request);
      } catch (err) {
        failed = true;
        log.warn('kafka commit failed; kept for the next one', { group: this.options.groupId, ...failureFields(err) });
        for (const e of entries) if (!this.toCommit.has(e.queue.key)) this.toCommit.set(e.queue.key, e);
      } finally {
        this.commitsInFlight.delete(request);
        this.commitRunning = undefined;
      }
    })();
    await this.commitRunning;
    // A failed commit waits for the next batch (or stop) rather than retrying in a loop.
    if (!failed && this.toCommit.size > 0) this.scheduleCommit();
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.stopping) return;
    this.stopping = true;
    clearTimeout(this.reopenTimer);
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.stream?.pause();
    // A batch waiting to be delivered again is not: it stays uncommitted for the next start.
    for (const queue of this.owned.values()) clearTimeout(queue.retryTimer);
    while (this.batchesInFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.commitRunning;
    if (!this.killed) await this.commitNow();
    fetchWatchers.delete(consumer);
    await leaveGroup(consumer).catch((err: unknown) => log.warn('kafka consumer close failed', { group: this.options.groupId, error: errorMessage(err) }));
  }

  /**
   * Test hook: a crash. Nothing more is processed or committed. The package cannot drop its
   * session without a LeaveGroup, so the group hands the partitions over at once.
   */
  async kill(): Promise<void> {
    this.killed = true;
    this.stopping = true;
    clearTimeout(this.reopenTimer);
    clearTimeout(this.commitTimer);
    for (const queue of this.owned.values()) clearTimeout(queue.retryTimer);
    const consumer = this.consumer;
    if (!consumer) return;
    fetchWatchers.delete(consumer);
    await leaveGroup(consumer).catch(() => {});
  }
}
