import { randomUUID } from 'node:crypto';
import type { ConsumedBatch, LogClient, LogConsumer } from './log.js';

export type BatchApplier = (batch: ConsumedBatch) => Promise<void>;

/**
 * One consumer that follows every table and store topic a process materialises, as Kafka
 * Streams reads all global stores on one thread. A consumer per topic (two dozen in the
 * pipeline process) cost the broker a fetch per consumer for each record written to a state
 * topic, and after a broker outage each of them rejoined on its own.
 *
 * Its group is fresh and never commits: it is a reader of whole topics, not a member sharing them.
 */
export class TableReader {
  private readonly appliers = new Map<string, BatchApplier[]>();
  private consumer: LogConsumer | undefined;

  constructor(private readonly deps: { log: LogClient; appId: string }) {}

  /** Every batch of `topic` goes to `apply`, in order per partition. Registered before `start`. */
  follow(topic: string, apply: BatchApplier): void {
    if (this.consumer) throw new Error(`table reader already started; ${topic} must be followed before start()`);
    this.appliers.set(topic, [...(this.appliers.get(topic) ?? []), apply]);
  }

  get topics(): string[] {
    return [...this.appliers.keys()];
  }

  /** Reads from the beginning; resolves once assigned (the followers' `catchUp` says when they are current). */
  async start(): Promise<void> {
    if (this.appliers.size === 0) return;
    this.consumer = this.deps.log.consumer({
      groupId: `${this.deps.appId}.tables.${randomUUID()}`,
      topics: this.topics,
      fromBeginning: true,
      commit: false,
      partitionsConcurrency: 8,
      eachBatch: async (batch) => {
        for (const apply of this.appliers.get(batch.topic) ?? []) await apply(batch);
      },
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}
