import { KafkaJS, RdKafka } from '@confluentinc/kafka-javascript';
import { createLogger } from '../core/logger.js';
import { oneAtATime } from '../core/one-at-a-time.js';
import { retry, sleep } from '../core/retry.js';
import { errorMessage, PlatformError } from '../core/errors.js';
import type {
  ConsumedBatch,
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
import { KafkaLog } from './log-kafka.js';
import { partitionFor } from './partitioner.js';

/**
 * The Kafka engine's log on @confluentinc/kafka-javascript (librdkafka), with the kafkajs log's
 * semantics. This file is the only one that imports the package. The producer and the admin
 * calls use the package's librdkafka API; the consumer uses its KafkaJS-style layer, whose
 * per-partition workers, prefetch cache and rebalance barrier are what a group member needs.
 */
const log = createLogger('kafka');

/** librdkafka logs at syslog severities; 4 is warning, so nothing below it is even produced. */
const LIBRDKAFKA_LOG_LEVEL = 4;

/** librdkafka's error codes the log acts on. */
const ERR = {
  queueFull: RdKafka.CODES.ERRORS.ERR__QUEUE_FULL,
  assignPartitions: RdKafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS,
  unknownTopic: RdKafka.CODES.ERRORS.ERR_UNKNOWN_TOPIC_OR_PART,
  groupNotFound: RdKafka.CODES.ERRORS.ERR_GROUP_ID_NOT_FOUND,
};

/**
 * Defaults of the tuning; the consumer's are the kafkajs log's. linger.ms is 0: librdkafka still
 * batches whatever arrives while its requests are in flight (up to 5 per broker with
 * idempotence), so under load requests fill by themselves, and an idle pipeline pays no wait
 * at any of its hops. On the local stack 1 ms of linger took a produce's acknowledgement from
 * 0.45 to 1.8 ms at p50 (librdkafka's timer adds to the linger itself).
 */
const DEFAULT_LINGER_MS = 0;
const DEFAULT_FETCH_MAX_WAIT_MS = 500;
const DEFAULT_MAX_BYTES_PER_PARTITION = 256 * 1024;
const DEFAULT_COMMIT_INTERVAL_MS = 100;

/** The layer's logger interface, fed to the platform's log at warn and above. */
const layerLogger: KafkaJS.Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, extra) => log.warn(message, { ...extra }),
  error: (message, extra) => log.error(message, { ...extra }),
  namespace: () => layerLogger,
  setLogLevel: () => {},
};

interface LibrdkafkaLogLine {
  severity: number;
  fac: string;
  message: string;
}

function logLibrdkafka(line: LibrdkafkaLogLine): void {
  if (line.severity <= 3) log.error(line.message, { facility: line.fac });
  else log.warn(line.message, { facility: line.fac });
}

/** librdkafka reports transient conditions (a broker away) as errors too; they are logged, not thrown. */
function logClientError(err: RdKafka.LibrdKafkaError): void {
  // A fatal error (the idempotent producer's sequence lost) leaves the client unusable: every send fails from then on.
  if (err.isFatal) log.error('librdkafka fatal error: the client must be recreated', { error: err.message, code: err.code });
  else log.warn('librdkafka error', { error: err.message, code: err.code });
}

const partitionKey = (topic: string, partition: number): string => `${topic}#${partition}`;

/** The settings every librdkafka client of one log shares. */
interface SharedSettings {
  'bootstrap.servers': string;
  'client.id': string;
  log_level: number;
}

/** A librdkafka admin call as a promise. */
function call<T>(start: (done: (err: RdKafka.LibrdKafkaError | null | undefined, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, result) => (err ? reject(asError(err)) : resolve(result))));
}

/** librdkafka's errors, as a PlatformError with their code as the cause; the retry helper treats them as transient. */
function asError(err: RdKafka.LibrdKafkaError): PlatformError {
  return new PlatformError('KAFKA_CLIENT_ERROR', `librdkafka: ${err.message} (code ${err.code})`, { retriable: true, cause: err });
}

const codeOf = (err: unknown): number | undefined => {
  const cause = err instanceof PlatformError ? err.cause : err;
  return cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'number' ? cause.code : undefined;
};

export class ConfluentKafkaLog implements LogClient {
  readonly kind = 'kafka' as const;
  private readonly brokers: string;
  private readonly clientId: string;
  private readonly tuning: KafkaTuning;
  private adminClient: RdKafka.IAdminClient | undefined;
  /**
   * librdkafka's JS binding has no DescribeConfigs nor AlterConfigs: a topic's configs are read
   * and altered through the kafkajs log (always installed), on its own connection, and only by
   * provisioning-time calls (describeTopic, createTopics of topics that exist).
   */
  private topicConfigLog: KafkaLog | undefined;
  private readonly partitionCache = new Map<string, number>();
  private readonly producers = new Set<ConfluentProducer>();

  constructor(private readonly config: KafkaLogConfig) {
    this.brokers = config.brokers.join(',');
    this.clientId = config.clientId;
    this.tuning = config.tuning ?? {};
  }

  private common(): SharedSettings {
    return { 'bootstrap.servers': this.brokers, 'client.id': this.clientId, log_level: LIBRDKAFKA_LOG_LEVEL };
  }

  private admin(): RdKafka.IAdminClient {
    this.adminClient ??= RdKafka.AdminClient.create(this.common(), { 'event.log': logLibrdkafka, 'event.error': logClientError });
    return this.adminClient;
  }

  private topicConfigs(): KafkaLog {
    this.topicConfigLog ??= new KafkaLog(this.config);
    return this.topicConfigLog;
  }

  /**
   * Each admin call holds a thread of libuv's pool until the broker answers, and the consumers
   * fetch through that pool too: one call at a time keeps it free for them.
   */
  private readonly serially = oneAtATime();

  /** A fresh topic's metadata or leaders can lag its creation; such calls are tried again. */
  private withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, { retries: 6, initialDelayMs: 100, maxDelayMs: 2_000, onRetry: (err) => log.warn('kafka call retried', { error: errorMessage(err) }) });
  }

  async createTopics(defs: TopicDefinition[]): Promise<void> {
    await this.serially(() =>
      retry(() => this.createMissing(defs), { retries: 12, initialDelayMs: 250, maxDelayMs: 3_000, onRetry: (err) => log.warn('topic creation retried', { error: errorMessage(err) }) }),
    );
  }

  private async createMissing(defs: TopicDefinition[]): Promise<void> {
    const admin = this.admin();
    const existing = new Set(await call<string[]>((done) => admin.listTopics({ timeout: 10_000 }, done)));
    const missing = defs.filter((d) => !existing.has(d.name));
    for (const d of missing) {
      await call<void>((done) =>
        admin.createTopic({ topic: d.name, num_partitions: d.partitions, replication_factor: d.replicationFactor, config: d.config }, 30_000, (err) =>
          // Created meanwhile by another process: what was asked for is there.
          done(err && err.code !== RdKafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS ? err : null, undefined),
        ),
      );
    }
    if (missing.length > 0) await this.leadersElected(missing.map((d) => d.name));
    // Existing topics get their declared configs (idempotent); partitions only ever grow.
    const present = defs.filter((d) => existing.has(d.name) && Object.keys(d.config).length > 0);
    if (present.length > 0) await this.topicConfigs().createTopics(present);
  }

  /** Returns once every partition of the topics has a leader, so the first produce or offset look-up finds one. */
  private async leadersElected(topics: string[]): Promise<void> {
    await retry(
      async () => {
        const described = await call<RdKafka.TopicDescription[]>((done) => this.admin().describeTopics(topics, { timeout: 10_000 }, done));
        const leaderless = described.filter((t) => t.error || t.partitions.length === 0 || t.partitions.some((p) => !p.leader)).map((t) => t.name);
        if (leaderless.length > 0) throw new PlatformError('KAFKA_LEADER_PENDING', `no leader yet for ${leaderless.join(', ')}`, { retriable: true });
      },
      { retries: 20, initialDelayMs: 50, maxDelayMs: 1_000 },
    );
  }

  async partitionCount(topic: string): Promise<number> {
    let n = this.partitionCache.get(topic);
    if (n === undefined) {
      // Tried again: the metadata may not list a topic another client created a moment ago.
      n = await this.serially(() =>
        this.withRetry(async () => {
          const [described] = await call<RdKafka.TopicDescription[]>((done) => this.admin().describeTopics([topic], { timeout: 10_000 }, done));
          const count = described?.error ? 0 : (described?.partitions.length ?? 0);
          if (count === 0) throw new PlatformError('KAFKA_TOPIC_MISSING', `kafka: topic ${topic} does not exist (run provisioning)`, { retriable: true });
          return count;
        }),
      );
      this.partitionCache.set(topic, n);
    }
    return n;
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const partitions = await this.partitionCount(topic);
    const offsets = await this.serially(() =>
      this.withRetry(() =>
        call<RdKafka.ListOffsetsResult[]>((done) =>
          this.admin().listOffsets(
            Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: RdKafka.OffsetSpec.LATEST })),
            { timeout: 10_000 },
            done,
          ),
        ),
      ),
    );
    return new Map(offsets.map((o) => [o.partition, String(o.offset)]));
  }

  /** Kafka's own topics (`__consumer_offsets`...) are not listed: they belong to no platform. */
  async listTopics(): Promise<string[]> {
    const names = await this.serially(() => this.withRetry(() => call<string[]>((done) => this.admin().listTopics({ timeout: 10_000 }, done))));
    return names.filter((t) => !t.startsWith('__'));
  }

  async describeTopic(topic: string): Promise<TopicDescription | null> {
    return this.topicConfigs().describeTopic(topic);
  }

  /** Returns once the cluster no longer lists the topics, so the names can be created again at once. */
  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.serially(async () => {
      const listTopics = () => call<string[]>((done) => this.admin().listTopics({ timeout: 10_000 }, done));
      const existing = new Set(await this.withRetry(listTopics));
      const present = topics.filter((t) => existing.has(t));
      for (const topic of present) {
        await this.withRetry(() =>
          call<void>((done) => this.admin().deleteTopic(topic, 30_000, (err) => done(err && err.code !== ERR.unknownTopic ? err : null, undefined))),
        );
      }
      for (const t of topics) this.partitionCache.delete(t);
      const deleted = new Set(present);
      await retry(
        async () => {
          const left = (await listTopics()).filter((t) => deleted.has(t));
          if (left.length > 0) throw new PlatformError('KAFKA_TOPIC_DELETE_PENDING', `topics still listed after deletion: ${left.join(', ')}`, { retriable: true });
        },
        { retries: 20, initialDelayMs: 100, maxDelayMs: 1_000 },
      );
    });
  }

  async listGroups(): Promise<string[]> {
    const { groups } = await this.serially(() => this.withRetry(() => call<{ groups: RdKafka.GroupOverview[] }>((done) => this.admin().listGroups({ timeout: 10_000 }, done))));
    return groups.map((g) => g.groupId);
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const reports = await this.serially(() => call<RdKafka.DeleteGroupsResult[]>((done) => this.admin().deleteGroups(groupIds, { timeout: 10_000 }, done)));
    // A group the coordinator does not know is already what we want.
    const refused = reports.filter((r) => r.error && r.error.code !== ERR.groupNotFound);
    if (refused.length > 0) {
      throw new PlatformError('LOG_GROUP_NOT_DELETED', `consumer groups not deleted: ${refused.map((r) => `${r.groupId} (${r.error?.message})`).join(', ')}`);
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const partitions = await this.partitionCount(topic);
    const [group] = await this.serially(() =>
      this.withRetry(() =>
        call<RdKafka.GroupResults[]>((done) =>
          this.admin().listConsumerGroupOffsets([{ groupId, partitions: Array.from({ length: partitions }, (_, partition) => ({ topic, partition })) }], { timeout: 10_000 }, done),
        ),
      ),
    );
    if (group?.error) throw asError(group.error);
    // The broker answers -1 for a partition the group never committed.
    return new Map((group?.partitions ?? []).filter((p) => p.offset >= 0).map((p) => [p.partition, String(p.offset)]));
  }

  async producer(): Promise<LogProducer> {
    const producer = await ConfluentProducer.open(
      {
        ...this.common(),
        'enable.idempotence': true,
        acks: -1,
        'linger.ms': this.tuning.lingerMs ?? DEFAULT_LINGER_MS,
        dr_cb: true,
      },
      (topic) => this.partitionCount(topic),
    );
    this.producers.add(producer);
    producer.onClose = () => this.producers.delete(producer);
    return producer;
  }

  consumer(options: ConsumerOptions): LogConsumer {
    return new ConfluentConsumer(this.common(), options, this.tuning);
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers].map((p) => p.close()));
    this.adminClient?.disconnect();
    this.adminClient = undefined;
    await this.topicConfigLog?.close();
  }
}

/** One send's messages: the send settles when the last delivery report arrives, or the first failure. */
class Delivery {
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (err: unknown) => void;
  private settled = false;

  constructor(private outstanding: number) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  delivered(): void {
    if (--this.outstanding === 0 && !this.settled) {
      this.settled = true;
      this.resolve();
    }
  }

  failed(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }
}

/**
 * Every message goes to an explicit partition (Kafka's default partitioner, so each client
 * places a key alike). No request shaping of our own (the kafkajs log's SendCoalescer and
 * chunkBySize): librdkafka queues per partition, sends what accumulated while its requests were
 * in flight, and splits batches at batch.size (under the broker's 1 MB message.max.bytes).
 */
class ConfluentProducer implements LogProducer {
  onClose: () => void = () => {};
  /** Sends waiting for room in a full local queue, woken by the next delivery report. */
  private roomWaiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly producer: RdKafka.Producer,
    private readonly partitionCount: (topic: string) => Promise<number>,
  ) {
    producer.on('delivery-report', (err, report) => {
      const delivery: unknown = report?.opaque;
      if (delivery instanceof Delivery) {
        if (err) delivery.failed(asError(err));
        else delivery.delivered();
      }
      for (const wake of this.roomWaiters.splice(0)) wake();
    });
  }

  static async open(config: RdKafka.ProducerGlobalConfig & RdKafka.ProducerTopicConfig, partitionCount: (topic: string) => Promise<number>): Promise<ConfluentProducer> {
    const producer = new RdKafka.Producer(config);
    producer.on('event.log', logLibrdkafka);
    producer.on('event.error', logClientError);
    await call<unknown>((done) => producer.connect({}, done));
    // Delivery reports are served by librdkafka's own thread and reach JS at once, not on a timer.
    producer.setPollInBackground(true);
    return new ConfluentProducer(producer, partitionCount);
  }

  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const counts = new Map(await Promise.all([...new Set(messages.map((m) => m.topic))].map(async (t) => [t, await this.partitionCount(t)] as const)));
    const delivery = new Delivery(messages.length);
    // One synchronous loop while there is room: the batch reaches librdkafka's queue together.
    for (const m of messages) {
      const partition = m.partition ?? partitionFor(m.key, counts.get(m.topic)!);
      const headers = Object.entries(m.headers).map(([k, v]) => ({ [k]: v }));
      for (;;) {
        try {
          this.producer.produce(m.topic, partition, m.value, m.key, m.timestamp, delivery, headers);
          break;
        } catch (err) {
          if (codeOf(err) !== ERR.queueFull) {
            delivery.failed(err);
            return delivery.done;
          }
          await this.room();
        }
      }
    }
    return delivery.done;
  }

  /** A full queue holds undelivered messages: their next delivery report frees room. */
  private room(): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    // Waits up to the timeout for the deliveries outstanding, then leaves.
    await new Promise<void>((resolve) => this.producer.disconnect(30_000, () => resolve()));
  }
}

/** How long start() waits for the first group join; a slow broker is not a failed start. */
const JOIN_WAIT_MS = 30_000;
/** How long a revocation waits for the batches in flight and their commit before the member rejoins. */
const REVOCATION_COMMIT_WAIT_MS = 10_000;
/** A rejected batch is delivered again after a pause that grows with each failure in a row. */
const REDELIVERY_DELAY_MS = { initial: 100, max: 2_000 };

type ConsumerState = 'new' | 'running' | 'stopping' | 'stopped' | 'killed';

class ConfluentConsumer implements LogConsumer {
  private consumer: KafkaJS.Consumer | undefined;
  private state: ConsumerState = 'new';
  /** The partitions this member owns; replaced at each assignment. */
  private owned = new Set<string>();
  /** Bumped when partitions are assigned or lost: a batch commits only in the generation it started in. */
  private generation = 0;
  /** Between a revocation and the next assignment, finished batches are committed at once. */
  private revoking = false;
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private lastCommitAt = 0;
  private commitTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly commitsInFlight = new Set<Promise<void>>();
  private readonly failuresInARow = new Map<string, number>();
  private joined: () => void = () => {};

  constructor(
    private readonly common: SharedSettings,
    private readonly options: ConsumerOptions,
    private readonly tuning: KafkaTuning,
  ) {}

  async start(): Promise<void> {
    const joined = new Promise<void>((resolve) => (this.joined = resolve));
    const fetchBytes = this.tuning.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION;
    const consumer = new KafkaJS.Kafka({}).consumer({
      ...this.common,
      kafkaJS: { groupId: this.options.groupId, logger: layerLogger },
      // Co-partitioning: range gives each member one contiguous range of partition numbers
      // per topic, computed alike for every topic the members all subscribe to, so partition
      // n of equally partitioned topics (the catalogue's sub-topology sources) goes to one
      // member, as the kafkajs log's CoPartitioned assigner does. librdkafka takes no custom
      // assignor from JS. A member subscribing to other topics (a rolling upgrade that changes
      // a sub-topology's sources) breaks this until every member runs the same plan, and a
      // group cannot mix this client with kafkajs's (no protocol in common).
      'partition.assignment.strategy': 'range',
      'enable.auto.commit': false,
      'auto.offset.reset': this.options.fromBeginning ? 'earliest' : 'latest',
      'allow.auto.create.topics': false,
      'session.timeout.ms': 10_000,
      'heartbeat.interval.ms': 1_000,
      // Also the rebalance timeout; the layer doubles it for librdkafka and clears its cache
      // when a worker has not fetched for this long.
      'max.poll.interval.ms': 20_000,
      // The broker answers a fetch as soon as any data is there (min bytes 1): a long wait costs
      // no latency and saves the idle polling of dozens of consumers.
      'fetch.wait.max.ms': this.tuning.fetchMaxWaitMs ?? DEFAULT_FETCH_MAX_WAIT_MS,
      'fetch.min.bytes': this.tuning.fetchMinBytes ?? 1,
      // Both names of one setting: the layer sets each (10 MB under the older one).
      'fetch.message.max.bytes': fetchBytes,
      'max.partition.fetch.bytes': fetchBytes,
      // A partition's batch is all of it that librdkafka has fetched, as kafkajs's is one fetch
      // (a bounded batch size makes the layer start with one-record batches). The prefetch
      // bounds it: about four fetches ahead (64 MB by default, per consumer, of which a
      // process has dozens); past it, fetching resumes 10 ms after the queue drains, not 1 s.
      'js.consumer.max.batch.size': -1,
      'queued.max.messages.kbytes': Math.max(1, Math.ceil((4 * fetchBytes) / 1024)),
      'fetch.queue.backoff.ms': 10,
      // librdkafka's own back-off between protocol retries; the layer would raise it to 300 ms
      // growing to 30 s, which holds a member back long after a broker is back.
      'retry.backoff.ms': 100,
      'retry.backoff.max.ms': 1_000,
      rebalance_cb: (err: RdKafka.LibrdKafkaError, assignment: RdKafka.TopicPartition[], fns: { assignmentLost(): boolean }) => this.onRebalance(err, assignment, fns),
    });
    this.consumer = consumer;
    this.state = 'running';
    await consumer.connect();
    fetchWithoutTrailingWait(consumer);
    await consumer.subscribe({ topics: this.options.topics });
    await consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrency ?? 1,
      eachBatch: (payload) => this.track(this.process(payload)),
    });
    // Started means joined: a caller that sends traffic right after start() finds the group
    // assigned, not in its first rebalance.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise<void>((resolve) => (timer = setTimeout(resolve, JOIN_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /**
   * The layer calls this before it applies a new assignment, and before it gives up revoked
   * partitions, which it does only once the batches in flight have finished: until then the
   * revoked partitions are still ours and their progress is committed.
   */
  private async onRebalance(err: RdKafka.LibrdKafkaError, assignment: RdKafka.TopicPartition[], fns: { assignmentLost(): boolean }): Promise<void> {
    if (err.code === ERR.assignPartitions) {
      this.generation++;
      this.owned = new Set(assignment.map((a) => partitionKey(a.topic, a.partition)));
      this.pending.clear();
      this.revoking = false;
      this.options.onAssignment?.(assignment.map(({ topic, partition }) => ({ topic, partition })));
      this.joined();
      return;
    }
    if (fns.assignmentLost()) {
      // The session expired: the partitions may have new owners already; nothing of ours is committed for them.
      this.generation++;
      this.owned = new Set();
      this.pending.clear();
      return;
    }
    this.revoking = true;
    if (!this.running) return;
    // The layer waits for this before it unassigns and rejoins: a commit sent and forgotten here
    // raced the rejoin, and under load it was sometimes never applied (the revocation test found
    // the offsets missing after 30 s), leaving the new owner to process those records again. So
    // the batches still in flight finish and their offsets are committed first, within a bound
    // that keeps an unreachable coordinator from holding the rebalance.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, REVOCATION_COMMIT_WAIT_MS)));
    const committed = Promise.all(this.inFlight).then(() => {
      void this.flushCommits();
      return Promise.all(this.commitsInFlight);
    });
    await Promise.race([committed, bound]);
    clearTimeout(timer);
  }

  /** Read through getters: a check made before an await says nothing about after it. */
  private get killed(): boolean {
    return this.state === 'killed';
  }

  private get running(): boolean {
    return this.state === 'running';
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  /**
   * A batch not resolved here is delivered again (the layer seeks back to its first record):
   * after a rejection, and when the member is stopping.
   */
  private async process(payload: KafkaJS.EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!this.running || batch.messages.length === 0) return;
    const key = partitionKey(batch.topic, batch.partition);
    const generation = this.generation;
    try {
      await this.options.eachBatch(toConsumedBatch(batch));
    } catch (err) {
      const failures = (this.failuresInARow.get(key) ?? 0) + 1;
      this.failuresInARow.set(key, failures);
      log.warn('batch failed; delivered again', { topic: batch.topic, partition: batch.partition, failures, error: errorMessage(err) });
      if (this.running) await sleep(Math.min(REDELIVERY_DELAY_MS.max, REDELIVERY_DELAY_MS.initial * 2 ** (failures - 1)));
      return;
    }
    this.failuresInARow.delete(key);
    // Killed: a crash commits nothing more. Stale: the layer took the partition back meanwhile.
    if (this.killed || payload.isStale()) return;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    payload.resolveOffset(last);
    if (this.options.commit && generation === this.generation && this.owned.has(key)) {
      this.commitSoon(key, batch.topic, batch.partition, (BigInt(last) + 1n).toString());
    }
  }

  /**
   * Commits at most every commit interval (tuning.commitIntervalMs): a commit per batch would
   * add a coordinator request per batch. Offsets held back are committed when the interval is
   * over, at a revocation, or at stop(); what a crash loses is processed again (at-least-once).
   */
  private commitSoon(key: string, topic: string, partition: number, offset: string): void {
    this.pending.set(key, { topic, partition, offset });
    const wait = this.lastCommitAt + (this.tuning.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS) - Date.now();
    if (this.revoking || wait <= 0) void this.flushCommits();
    else this.commitTimer ??= setTimeout(() => void this.flushCommits(), wait);
  }

  /**
   * Commits the pending offsets of partitions still owned. The request is queued in librdkafka,
   * which sends it in order; the promise settles with its answer (a refusal is logged, not thrown).
   */
  private flushCommits(): Promise<void> {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    const offsets = [...this.pending].filter(([key]) => this.owned.has(key)).map(([, o]) => o);
    this.pending.clear();
    if (offsets.length === 0 || !this.consumer || this.killed) return Promise.resolve();
    this.lastCommitAt = Date.now();
    const commit = this.consumer
      .commitOffsets(offsets)
      .catch((err: unknown) => log.warn('offsets not committed; their records will be processed again', { error: errorMessage(err) }))
      .finally(() => this.commitsInFlight.delete(commit));
    this.commitsInFlight.add(commit);
    return commit;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.state !== 'running') return;
    this.state = 'stopping';
    await Promise.all(this.inFlight);
    void this.flushCommits();
    // Closing waits for the commit queued above, then leaves the group.
    await consumer.disconnect();
    this.state = 'stopped';
  }

  /** Test hook: a crash. Nothing more is committed; the layer lets the batch in flight end first. */
  async kill(): Promise<void> {
    this.state = 'killed';
    clearTimeout(this.commitTimer);
    this.pending.clear();
    await this.consumer?.disconnect().catch(() => {});
  }
}

/**
 * The layer fetches from librdkafka's local queue with a 0 ms timeout once woken by the queue's
 * non-empty callback, but after the first record it waits 1 ms for more; that wait lands on
 * every batch (a produce-to-consume round trip took 2.4 ms at p50 instead of 0.7 ms on the
 * local stack). The layer offers no setting for it, so its librdkafka consumer is told
 * directly, through the one internal accessor the package has (pinned version); without it
 * the consumer is only slower.
 */
function fetchWithoutTrailingWait(consumer: KafkaJS.Consumer): void {
  const internal = (consumer as unknown as { _getInternalClient?: () => { setDefaultIsTimeoutOnlyForFirstMessage?: (only: boolean) => void } | null })._getInternalClient?.();
  if (internal?.setDefaultIsTimeoutOnlyForFirstMessage) internal.setDefaultIsTimeoutOnlyForFirstMessage(false);
  else log.warn('@confluentinc/kafka-javascript changed: its consumer keeps waiting 1 ms after each fetched record');
}

function headerValue(v: Buffer | string | (Buffer | string)[] | undefined): string {
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  return last === undefined ? '' : last.toString();
}

function toConsumedBatch(batch: KafkaJS.Batch): ConsumedBatch {
  const last = batch.messages[batch.messages.length - 1]!.offset;
  // The layer answers -1001 when it has no watermark yet; the batch's own end is a lower bound.
  const next = BigInt(last) + 1n;
  const highWatermark = BigInt(batch.highWatermark) >= next ? batch.highWatermark : next.toString();
  return {
    topic: batch.topic,
    partition: batch.partition,
    highWatermark,
    messages: batch.messages.map((m) => ({
      key: m.key ? m.key.toString('utf8') : null,
      value: m.value,
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, headerValue(v)])),
      timestamp: Number(m.timestamp),
      offset: m.offset,
    })),
  };
}
