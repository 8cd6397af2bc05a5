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
}

export interface LogProducer {
  /** Resolves once the log has acknowledged every message (acks=all). */
  send(messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface LogClient {
  readonly kind: 'kafka' | 'memory';
  createTopics(topics: TopicDefinition[]): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  /** Per partition, the offset the next written record will get. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  producer(): Promise<LogProducer>;
  consumer(options: ConsumerOptions): LogConsumer;
  close(): Promise<void>;
}
