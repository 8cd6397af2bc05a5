import { EventEmitter } from 'node:events';
import type {
  ConsumedMessage,
  ConsumerOptions,
  LogClient,
  LogConsumer,
  LogMessage,
  LogProducer,
  OutgoingMessage,
  TopicDefinition,
  TopicDescription,
} from './log.js';
import { PlatformError } from '../core/errors.js';
import { partitionFor } from './partitioner.js';

/**
 * The in-memory engine's log: Kafka's semantics in one process. Partitions hold ordered
 * offsets; keys are placed by Kafka's partitioner; consumer groups split partitions among
 * members, rebalance on join and leave, and keep committed offsets that a restarted member
 * resumes from. A commit from a member that no longer owns the partition is refused, as Kafka
 * refuses one from a stale generation. What it does not do: replication, retention, compaction
 * on disk (a table reader sees every version, then the last one wins, as after compaction).
 */
interface Partition {
  records: (LogMessage & { offset: number })[];
}

type TopicPartition = `${string}#${number}`;
const tp = (topic: string, partition: number): TopicPartition => `${topic}#${partition}`;
const topicOf = (p: TopicPartition): string => p.slice(0, p.lastIndexOf('#'));
const partitionNumber = (p: TopicPartition): number => Number(p.slice(p.lastIndexOf('#') + 1));

class Group {
  readonly committed = new Map<TopicPartition, number>();
  readonly members = new Map<number, { topics: string[] }>();
  generation = 0;
  assignment = new Map<number, TopicPartition[]>();
}

const BATCH_MAX = 500;

export class MemoryLog implements LogClient {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, Partition[]>();
  private readonly topicConfigs = new Map<string, Record<string, string>>();
  private readonly groups = new Map<string, Group>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  private nextMemberId = 1;

  async createTopics(defs: TopicDefinition[]): Promise<void> {
    for (const def of defs) {
      if (!this.topics.has(def.name)) this.topics.set(def.name, Array.from({ length: def.partitions }, () => ({ records: [] })));
      // As the Kafka engine: an existing topic's declared configs replace its old ones.
      if (!this.topicConfigs.has(def.name) || Object.keys(def.config).length > 0) this.topicConfigs.set(def.name, { ...def.config });
    }
  }

  async listTopics(): Promise<string[]> {
    return [...this.topics.keys()];
  }

  async describeTopic(topic: string): Promise<TopicDescription | null> {
    const partitions = this.topics.get(topic);
    if (!partitions) return null;
    return { name: topic, partitions: partitions.length, config: { ...this.topicConfigs.get(topic) } };
  }

  /** Records go with the topic, and so do the groups' committed offsets on it (as in Kafka). */
  async deleteTopics(topics: string[]): Promise<void> {
    const deleted = new Set(topics.filter((t) => this.topics.delete(t)));
    if (deleted.size === 0) return;
    for (const t of deleted) this.topicConfigs.delete(t);
    for (const [groupId, g] of this.groups) {
      for (const p of g.committed.keys()) if (deleted.has(topicOf(p))) g.committed.delete(p);
      if ([...g.members.values()].some((m) => m.topics.some((t) => deleted.has(t)))) this.rebalance(groupId);
    }
  }

  async listGroups(): Promise<string[]> {
    return [...this.groups.keys()];
  }

  /** A group with live members is refused, as Kafka refuses it (NON_EMPTY_GROUP); the others go. */
  async deleteGroups(groupIds: string[]): Promise<void> {
    const live = groupIds.filter((id) => (this.groups.get(id)?.members.size ?? 0) > 0);
    for (const id of groupIds) if (!live.includes(id)) this.groups.delete(id);
    if (live.length > 0) throw new PlatformError('LOG_GROUP_NOT_DELETED', `consumer groups not deleted: ${live.map((id) => `${id} (NON_EMPTY_GROUP)`).join(', ')}`);
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const committed = [...(this.groups.get(groupId)?.committed ?? [])].filter(([p]) => topicOf(p) === topic);
    return new Map(committed.map(([p, offset]) => [partitionNumber(p), String(offset)]));
  }

  async partitionCount(topic: string): Promise<number> {
    return this.partitions(topic).length;
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    return new Map(this.partitions(topic).map((p, i) => [i, String(p.records.length)]));
  }

  async producer(): Promise<LogProducer> {
    return {
      send: async (messages: OutgoingMessage[]) => {
        for (const m of messages) this.append(m);
        await Promise.resolve();
      },
      close: async () => {},
    };
  }

  consumer(options: ConsumerOptions): LogConsumer {
    return new MemoryConsumer(this, options);
  }

  async close(): Promise<void> {
    this.events.emit('close');
  }

  /** Every record of a partition, for tests that inspect the log. */
  read(topic: string, partition: number): ConsumedMessage[] {
    return (this.partitions(topic)[partition]?.records ?? []).map(({ offset, ...m }) => ({ ...m, offset: String(offset) }));
  }

  // ---- internals used by MemoryConsumer ----

  topicPartitions(topic: string): Partition[] | undefined {
    return this.topics.get(topic);
  }

  partitions(topic: string): Partition[] {
    const p = this.topics.get(topic);
    if (!p) throw new Error(`memory log: topic ${topic} does not exist (create it first)`);
    return p;
  }

  private append(m: OutgoingMessage): void {
    const parts = this.partitions(m.topic);
    const partition = m.partition ?? partitionFor(m.key, parts.length);
    const target = parts[partition];
    if (!target) throw new Error(`memory log: ${m.topic} has no partition ${partition}`);
    target.records.push({ key: m.key, value: m.value, headers: { ...m.headers }, timestamp: m.timestamp, offset: target.records.length });
    this.events.emit('data');
  }

  waitForData(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.events.off('data', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.once('data', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  group(id: string): Group {
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = new Group()));
    return g;
  }

  join(groupId: string, topics: string[]): number {
    const id = this.nextMemberId++;
    this.group(groupId).members.set(id, { topics });
    this.rebalance(groupId);
    return id;
  }

  leave(groupId: string, memberId: number): void {
    this.group(groupId).members.delete(memberId);
    this.rebalance(groupId);
  }

  /**
   * Co-partitioned assignment, as the Kafka engine's: partition n of every subscribed topic goes
   * to the same member (members in join order), so one member owns a task's keys on all topics.
   */
  private rebalance(groupId: string): void {
    const g = this.group(groupId);
    g.generation++;
    g.assignment = new Map([...g.members.keys()].map((id) => [id, []]));
    const memberIds = [...g.members.keys()];
    if (memberIds.length === 0) return;
    const all = new Set<TopicPartition>();
    // A subscribed topic that was deleted has no partitions to assign (a Kafka member idles on it).
    for (const m of g.members.values()) for (const t of m.topics) this.topics.get(t)?.forEach((_, i) => all.add(tp(t, i)));
    for (const p of all) g.assignment.get(memberIds[partitionNumber(p) % memberIds.length]!)!.push(p);
  }
}

class MemoryConsumer implements LogConsumer {
  private memberId = 0;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private killed = false;
  /** Next offset to read per partition, reset from the committed offsets at each rebalance. */
  private positions = new Map<TopicPartition, number>();
  private generation = -1;

  constructor(private readonly log: MemoryLog, private readonly options: ConsumerOptions) {}

  async start(): Promise<void> {
    for (const t of this.options.topics) this.log.partitions(t); // unknown topic: fail now
    this.memberId = this.log.join(this.options.groupId, this.options.topics);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.log.leave(this.options.groupId, this.memberId);
  }

  /** Test hook: a crash. No in-flight work is committed; the group sees the member leave. */
  async kill(): Promise<void> {
    this.killed = true;
    this.abort.abort();
    this.log.leave(this.options.groupId, this.memberId);
  }

  private assigned(): TopicPartition[] {
    const g = this.log.group(this.options.groupId);
    if (g.generation !== this.generation) {
      this.generation = g.generation;
      const mine = g.assignment.get(this.memberId) ?? [];
      this.positions = new Map(mine.map((p) => [p, this.startOffset(g.committed.get(p), p)]));
      this.options.onAssignment?.(mine.map((p) => ({ topic: topicOf(p), partition: partitionNumber(p) })));
    }
    return [...this.positions.keys()];
  }

  private startOffset(committed: number | undefined, p: TopicPartition): number {
    if (committed !== undefined && this.options.commit) return committed;
    return this.options.fromBeginning ? 0 : this.records(p).length;
  }

  /** Empty once the topic is deleted: the next rebalance then drops the partition. */
  private records(p: TopicPartition): Partition['records'] {
    return this.log.topicPartitions(topicOf(p))?.[partitionNumber(p)]?.records ?? [];
  }

  private async run(): Promise<void> {
    const concurrency = this.options.partitionsConcurrency ?? 1;
    while (!this.abort.signal.aborted) {
      const ready = this.assigned().filter((p) => this.positions.get(p)! < this.records(p).length);
      if (ready.length === 0) {
        await this.log.waitForData(50, this.abort.signal);
        continue;
      }
      for (let i = 0; i < ready.length && !this.abort.signal.aborted; i += concurrency) {
        await Promise.all(ready.slice(i, i + concurrency).map((p) => this.deliver(p)));
      }
    }
  }

  private async deliver(p: TopicPartition): Promise<void> {
    const generation = this.generation;
    const records = this.records(p);
    const from = this.positions.get(p)!;
    const slice = records.slice(from, from + BATCH_MAX);
    if (slice.length === 0) return;
    const batch = {
      topic: topicOf(p),
      partition: partitionNumber(p),
      // Each delivery gets its own headers, as each Kafka fetch decodes its own: a consumer that
      // adds headers must not change what other groups (or a redelivery) read.
      messages: slice.map(({ offset, headers, ...m }) => ({ ...m, headers: { ...headers }, offset: String(offset) })),
      highWatermark: String(records.length),
    };
    try {
      await this.options.eachBatch(batch);
    } catch {
      // Redelivered from the last commit, as Kafka does after a failed batch.
      await this.log.waitForData(100, this.abort.signal);
      if (this.generation === generation) this.positions.set(p, this.log.group(this.options.groupId).committed.get(p) ?? from);
      return;
    }
    const next = from + slice.length;
    if (this.killed) return;
    const g = this.log.group(this.options.groupId);
    const stillOwner = g.assignment.get(this.memberId)?.includes(p) ?? false;
    if (this.options.commit && stillOwner) g.committed.set(p, next);
    if (this.generation === generation && this.positions.has(p)) this.positions.set(p, next);
  }
}
