import { loadConfig } from '../core/config.js';
import { namespacedLog, openKafkaLog, type KafkaClientName, type LogClient } from '../streams/index.js';

/** Consumer-group lag from the broker's committed offsets (what `kafka-consumer-groups --describe` shows). */
export class LagReader {
  private log: Promise<LogClient> | null = null;
  /** `prefix`: the run's topic namespace, applied to group and topic names; `kafkaClient`: the platform's unless named. */
  constructor(
    private readonly brokers: string[],
    private readonly prefix = '',
    private readonly kafkaClient: KafkaClientName = benchKafkaClient(),
  ) {}

  private client(): Promise<LogClient> {
    this.log ??= openKafkaLog(this.kafkaClient, { brokers: this.brokers, clientId: 'bench-admin' }).then((log) => namespacedLog(log, this.prefix));
    return this.log;
  }

  /** Sum over partitions of end offset minus committed offset (uncommitted partitions count from 0). */
  async lag(group: string, topic: string): Promise<number> {
    const log = await this.client();
    const [ends, committed] = await Promise.all([log.endOffsets(topic), log.committedOffsets(group, topic)]);
    let lag = 0;
    for (const [partition, end] of ends) lag += Math.max(0, Number(end) - Number(committed.get(partition) ?? 0));
    return lag;
  }

  async close(): Promise<void> {
    const log = this.log;
    this.log = null;
    await (await log)?.close();
  }
}

export const brokers = (): string[] => (process.env.IM_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** The bench's own Kafka clients run on the platform's (IM_KAFKA_CLIENT), validated as the platform does. */
export const benchKafkaClient = (): KafkaClientName => loadConfig({ IM_KAFKA_CLIENT: process.env.IM_KAFKA_CLIENT }).kafka.client;
