import { Kafka, logLevel, type Admin } from 'kafkajs';

/** Consumer-group lag from the broker's committed offsets (what `kafka-consumer-groups --describe` shows). */
export class LagReader {
  private admin: Admin | null = null;
  /** `prefix`: the run's topic namespace, applied to group and topic names. */
  constructor(
    private readonly brokers: string[],
    private readonly prefix = '',
  ) {}

  private async client(): Promise<Admin> {
    if (!this.admin) {
      const a = new Kafka({ clientId: 'bench-admin', brokers: this.brokers, logLevel: logLevel.NOTHING }).admin();
      await a.connect();
      this.admin = a;
    }
    return this.admin;
  }

  /** Sum over partitions of end offset minus committed offset (uncommitted partitions count from 0). */
  async lag(logicalGroup: string, logicalTopic: string): Promise<number> {
    const [groupId, topic] = [this.prefix + logicalGroup, this.prefix + logicalTopic];
    const a = await this.client();
    const [ends, committed] = await Promise.all([a.fetchTopicOffsets(topic), a.fetchOffsets({ groupId, topics: [topic] })]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    let lag = 0;
    for (const p of ends) lag += Math.max(0, Number(p.high) - Math.max(0, done.get(p.partition) ?? 0));
    return lag;
  }

  async close(): Promise<void> {
    await this.admin?.disconnect();
    this.admin = null;
  }
}

export const brokers = (): string[] => (process.env.IM_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
