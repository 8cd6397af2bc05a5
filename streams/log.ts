/**
 * The contract between the stream runtime and a log (Kafka or the in-memory engine): just
 * what the runtime needs: topics, acknowledged produce, consumer groups with explicit commits,
 * and end offsets. Both implementations are tested with the same cases.
 */
export interface LogMessage {
  key: string | null;
  /** null is a tombstone (deletes the key of a compacted topic). */
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

export interface ConsumedMessage extends LogMessage {
  offset: string;
}

export interface OutgoingMessage extends LogMessage {
  topic: string;
  /** Computed by the runtime with Kafka's default partitioner when absent. */
  partition?: number;
}

export interface TopicDefinition {
  name: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** Offset of the next record the log will write: lag = highWatermark - (last offset + 1). */
  highWatermark: string;
}

export interface ConsumerOptions {
  /** One group per processor; its committed offsets survive restarts. */
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts. */
  fromBeginning: boolean;
  /**
   * Called per batch of one partition, in offset order. When it resolves, the consumer commits
   * the offset after the batch's last record; when it rejects, nothing is committed and the
   * batch is delivered again.
   */
  eachBatch: (batch: ConsumedBatch) => Promise<void>;
  /** false for table readers that must see the whole topic on each start. */
  commit: boolean;
  /** Batches of different partitions processed at the same time. */
  partitionsConcurrency?: number;
  onAssignment?: (assigned: { topic: string; partition: number }[]) => void;
}

export interface LogConsumer {
  start(): Promise<void>;
  /** Finishes the batch in flight, commits it and leaves the group. */
  stop(): Promise<void>;
  /**
   * A crash, for tests: nothing more is processed or committed and the group is not told
   * (it notices by the session timeout, or at once where the client cannot skip LeaveGroup).
   */
  kill(): Promise<void>;
}

export interface LogProducer {
  /** Resolves once the log has acknowledged every message (acks=all). */
  send(messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** What the log says about one topic (provisioning checks, operators' tools). */
export interface TopicDescription {
  name: string;
  partitions: number;
  /** The topic's explicitly set configs (e.g. cleanup.policy), not the broker defaults. */
  config: Record<string, string>;
}

export interface LogClient {
  /** The engine: a Kafka cluster (whichever client library) or the in-memory log. */
  readonly kind: 'kafka' | 'memory';
  createTopics(topics: TopicDefinition[]): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  /** Per partition, the offset the next written record will get. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** Kafka's internal topics (`__consumer_offsets`, ...) are left out. */
  listTopics(): Promise<string[]>;
  /** null when the topic does not exist. */
  describeTopic(topic: string): Promise<TopicDescription | null>;
  /** Deletes the topics that exist; missing names are ignored. */
  deleteTopics(topics: string[]): Promise<void>;
  listGroups(): Promise<string[]>;
  /** Deletes the groups (they must have no live members); missing ids are ignored. */
  deleteGroups(groupIds: string[]): Promise<void>;
  /** Per partition, the group's committed offset on the topic; partitions never committed are absent. */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  producer(): Promise<LogProducer>;
  consumer(options: ConsumerOptions): LogConsumer;
  close(): Promise<void>;
}

/**
 * The Kafka client libraries the platform can run on; one file per client imports its package
 * (streams/kafka-clients.ts opens the chosen one). The config module declares the list.
 */
export { KAFKA_CLIENTS, type KafkaClientName } from '../core/config.js';

/**
 * The client settings that move latency and CPU (docs/tuning.md has the measured effect of
 * each). Absent fields keep the client file's defaults; every client maps the same meaning.
 */
export interface KafkaTuning {
  /** How long the producer waits to fill a batch (linger.ms); 0 sends at once. */
  lingerMs?: number;
  /** How long the broker may hold a fetch with no data (fetch.max.wait.ms). */
  fetchMaxWaitMs?: number;
  /**
   * Bytes a fetch waits for, up to fetchMaxWaitMs (fetch.min.bytes; 1: answered at the first
   * record). A process off the latency path (the storage group: the persistence writer, the query
   * mirror) sets more, so a fetch brings a batch instead of each record waking a fetch.
   */
  fetchMinBytes?: number;
  /** Bytes fetched per partition per request (max.partition.fetch.bytes). */
  maxBytesPerPartition?: number;
  /** Least interval between two commits of one partition's offset. */
  commitIntervalMs?: number;
}

export interface KafkaLogConfig {
  brokers: string[];
  clientId: string;
  tuning?: KafkaTuning;
}
