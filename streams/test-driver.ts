import { PlatformError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createRegistryClient, createTopicSerde, registerAllSchemas, type TopicSerde } from '../schemas/serde.js';
import type { TopicName, TopicValues } from '../schemas/types.generated.js';
import type { Clock } from './clock.js';
import type { ConsumedBatch, ConsumerOptions, LogClient, LogConsumer, LogMessage, LogProducer, OutgoingMessage, TopicDefinition, TopicDescription } from './log.js';
import { partitionFor } from './partitioner.js';
import type { PhysicalPlan } from './plan.js';
import { catalogTopicDefinitions, type QueryableState, StreamsApp } from './streams-app.js';
import type { RunnerConfig } from './sub-topology-runner.js';
import type { Topology } from './topology.js';

/**
 * Kafka Streams' `TopologyTestDriver` for this runtime: a topology run in memory by the real
 * runtime (the same plan, fused edges, stores, tables, dead letters and Avro serde as on Kafka),
 * on a log that delivers nothing by itself. `pipe` writes records and then hands every pending
 * record to its consumer group until none is left: outputs on real hops, re-keyed records,
 * effect-only processors, dead letters, all done when it resolves. No polling, no timers; the
 * clock moves only by `advanceTime` (and `advanceWallClockTime`, which also runs the punctuations
 * then due), and it is the clock every processor reads (`p.clock`).
 *
 * Delivery follows write order: the oldest record waiting for a group goes first, and the
 * records after it on the same partition join its batch while nothing older waits elsewhere
 * for that group, as a consumer's fetch would bring them. Tables and stores read each record
 * as it is written, so a table is never behind. Records of one `pipe` on different partitions
 * are therefore seen in the order given; to have one record and everything it causes
 * finished before the next, pipe them one call at a time.
 */

/** A clock that stands still until a test moves it. */
export class ManualClock implements Clock {
  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`a clock only moves forward (asked to move ${ms} ms)`);
    this.time += ms;
  }
}

/** A record piped into a topic; the timestamp defaults to the driver's clock. */
export interface TestRecord<V> {
  key: string | null;
  /** null writes a tombstone (deletes the key of a compacted topic). */
  value: V | null;
  headers?: Record<string, string>;
  timestamp?: number;
}

/** A record read back from a topic, decoded. */
export interface OutputRecord<V> {
  key: string | null;
  value: V;
  headers: Record<string, string>;
  timestamp: number;
  partition: number;
  offset: number;
}

export interface TestDriverOptions {
  /** The clock's time at start, ms since the epoch; default 2024-01-01T00:00:00Z, the same every run. */
  startTime?: number;
  /** Run only these processors, planned as a process running just them is; default all. */
  processors?: string[];
  /** Runtime retries of a failing record before it is dead-lettered; default none. Retries do not wait. */
  maxRetries?: number;
  /** Bounds of stores and tables by topic, as a deployment sets them (`RunnerConfig.stateLimits`). */
  stateLimits?: RunnerConfig['stateLimits'];
  logger?: Logger;
}

const DEFAULT_START = Date.UTC(2024, 0, 1);
/** A topology whose records keep causing records never quiesces; past this many batches it is a bug. */
const MAX_BATCHES_PER_RUN = 100_000;
const BATCH_MAX = 500;

export class TopologyTestDriver {
  private running = false;

  private constructor(
    private readonly app: StreamsApp,
    private readonly driverLog: DriverLog,
    readonly serde: TopicSerde,
    readonly clock: ManualClock,
  ) {}

  /** Starts `topology` on a fresh in-memory log with every catalogued topic. */
  static async start(topology: Topology, options: TestDriverOptions = {}): Promise<TopologyTestDriver> {
    const serde = await sharedSerde();
    const clock = new ManualClock(options.startTime ?? DEFAULT_START);
    const log = new DriverLog(serde);
    await log.createTopics(catalogTopicDefinitions());
    const retries = options.maxRetries ?? 0;
    const app = new StreamsApp(topology, {
      log,
      serde,
      appId: 'test-driver',
      runtime: { maxRetries: retries, retryInitialMs: 0, retryMaxMs: 0, partitionsConcurrency: 1, stateLimits: options.stateLimits, punctuateOnTimer: false },
      processors: options.processors,
      logger: options.logger,
      clock,
    });
    await app.start();
    return new TopologyTestDriver(app, log, serde, clock);
  }

  /** The log the topology runs on, for a connector under test that reads topics itself. */
  get log(): LogClient {
    return this.driverLog;
  }

  get plan(): PhysicalPlan {
    return this.app.plan;
  }

  /** Writes records to a topic (Avro-encoded, as a producer would) and runs to quiescence. */
  pipe<T extends TopicName>(topic: T, records: TestRecord<TopicValues[T]>[]): Promise<void> {
    return this.run(async () => {
      const messages = await Promise.all(
        records.map(async (r): Promise<OutgoingMessage> => ({
          topic,
          key: r.key,
          value: r.value === null ? null : await this.serde.encode(topic, r.value),
          headers: r.headers ?? {},
          timestamp: r.timestamp ?? this.clock.now(),
        })),
      );
      await this.driverLog.write(messages);
    });
  }

  /** Writes bytes as they are, e.g. a record no schema reads (a poison record), and runs to quiescence. */
  pipeBytes(topic: TopicName, records: { key: string | null; value: Buffer | null; headers?: Record<string, string> }[]): Promise<void> {
    return this.run(() => this.driverLog.write(records.map((r) => ({ topic, key: r.key, value: r.value, headers: r.headers ?? {}, timestamp: this.clock.now() }))));
  }

  /**
   * Every record written to `topic` so far, in write order, decoded. Tombstones and records that
   * are not valid Avro of the topic are left out (`state` applies the first; the DLQ names the second).
   */
  read<T extends TopicName>(topic: T): OutputRecord<TopicValues[T]>[] {
    return this.driverLog.recordsOf(topic).flatMap((r) =>
      r.decoded === undefined ? [] : [{ key: r.message.key, value: r.decoded as TopicValues[T], headers: r.message.headers, timestamp: r.message.timestamp, partition: r.partition, offset: r.offset }],
    );
  }

  /** The latest value per key of a table or store topic (tombstones delete): what a table reading it holds. */
  state<T extends TopicName>(topic: T): ReadonlyMap<string, TopicValues[T]> {
    const latest = new Map<string, TopicValues[T]>();
    for (const r of this.driverLog.recordsOf(topic)) {
      if (r.message.key === null) continue;
      if (r.message.value === null) latest.delete(r.message.key);
      else if (r.decoded !== undefined) latest.set(r.message.key, r.decoded as TopicValues[T]);
    }
    return latest;
  }

  /** The stores and tables the topology holds, as an operator's state view reads them (`StreamsApp.queryableState`). */
  queryableState(): QueryableState[] {
    return this.app.queryableState();
  }

  /** Moves the clock every processor and the runtime read. Nothing runs by time alone, so nothing else happens. */
  advanceTime(ms: number): void {
    this.clock.advance(ms);
  }

  /**
   * Moves the clock, then runs every punctuation due by then (`ProcessorBuilder.punctuate`),
   * once each, as Kafka Streams' driver does for wall-clock punctuators, and runs to quiescence.
   */
  advanceWallClockTime(ms: number): Promise<void> {
    this.clock.advance(ms);
    return this.run(() => this.app.punctuate());
  }

  /**
   * Every group reading `topic` reads all of it again, as after a crash before any commit, with
   * its stores as their changelogs hold them; runs to quiescence. For idempotence tests.
   */
  redeliver(topic: TopicName): Promise<void> {
    return this.run(async () => this.driverLog.rewind(topic));
  }

  async close(): Promise<void> {
    await this.app.stop();
  }

  /** One run at a time: two would hand the same batches over twice. */
  private async run(write: () => Promise<void>): Promise<void> {
    if (this.running) throw new Error('test driver: the previous pipe is still running; await it first');
    this.running = true;
    try {
      await write();
      await this.driverLog.deliverAll();
    } finally {
      this.running = false;
    }
  }
}

let serde: Promise<TopicSerde> | undefined;

/** Schemas never change within a test process: one mock registry serves every driver. */
function sharedSerde(): Promise<TopicSerde> {
  serde ??= (async () => {
    const url = 'mock://test-driver';
    const client = createRegistryClient(url);
    await registerAllSchemas(client, url);
    return createTopicSerde(client);
  })();
  return serde;
}

/** One record of the driver's log. `decoded` is undefined for a tombstone or undecodable bytes. */
interface LoggedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Position in write order across the whole log. */
  seq: number;
  message: LogMessage;
  decoded: unknown;
}

/** Where a consumer is in one partition: the next offset to hand over. */
interface Cursor {
  topic: string;
  partition: number;
  next: number;
}

/** A consumer the driver feeds: a group member (delivered by `deliverAll`) or a table reader (fed as records are written). */
interface Subscriber {
  options: ConsumerOptions;
  cursors: Cursor[];
}

const tp = (topic: string, partition: number): string => `${topic}#${partition}`;

/**
 * The log under the driver. Same topics, partitioner, offsets and group commits as the other
 * logs, but no consumer loop: group members get records only from `deliverAll`, and readers
 * that do not commit (tables, stores) get each record before the write that made it returns.
 */
class DriverLog implements LogClient {
  readonly kind = 'memory' as const;
  private readonly partitionsOf = new Map<string, LoggedRecord[][]>();
  private readonly byTopic = new Map<string, LoggedRecord[]>();
  private readonly configs = new Map<string, Record<string, string>>();
  private readonly members: Subscriber[] = [];
  private readonly readers: Subscriber[] = [];
  private readonly committed = new Map<string, Map<string, number>>();
  private written = 0;
  /** Readers are fed one write after another, never two at once. */
  private feeding: Promise<void> = Promise.resolve();
  private readerFailure: unknown;

  constructor(private readonly serde: TopicSerde) {}

  async createTopics(defs: TopicDefinition[]): Promise<void> {
    for (const def of defs) {
      if (!this.partitionsOf.has(def.name)) {
        this.partitionsOf.set(def.name, Array.from({ length: def.partitions }, () => []));
        this.byTopic.set(def.name, []);
      }
      this.configs.set(def.name, { ...def.config });
    }
  }

  async partitionCount(topic: string): Promise<number> {
    return this.partitions(topic).length;
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    return new Map(this.partitions(topic).map((p, i) => [i, String(p.length)]));
  }

  async listTopics(): Promise<string[]> {
    return [...this.partitionsOf.keys()];
  }

  async describeTopic(topic: string): Promise<TopicDescription | null> {
    const partitions = this.partitionsOf.get(topic);
    return partitions ? { name: topic, partitions: partitions.length, config: { ...this.configs.get(topic) } } : null;
  }

  async deleteTopics(topics: string[]): Promise<void> {
    for (const t of topics) {
      this.partitionsOf.delete(t);
      this.byTopic.delete(t);
      this.configs.delete(t);
    }
  }

  async listGroups(): Promise<string[]> {
    return [...this.committed.keys()];
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    const live = groupIds.filter((id) => this.members.some((m) => m.options.groupId === id));
    for (const id of groupIds) if (!live.includes(id)) this.committed.delete(id);
    if (live.length > 0) throw new PlatformError('LOG_GROUP_NOT_DELETED', `consumer groups not deleted: ${live.map((id) => `${id} (NON_EMPTY_GROUP)`).join(', ')}`);
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const [key, offset] of this.committed.get(groupId) ?? []) {
      const bar = key.lastIndexOf('#');
      if (key.slice(0, bar) === topic) out.set(Number(key.slice(bar + 1)), String(offset));
    }
    return out;
  }

  async producer(): Promise<LogProducer> {
    return { send: (messages) => this.write(messages), close: async () => {} };
  }

  consumer(options: ConsumerOptions): LogConsumer {
    const subscriber: Subscriber = { options, cursors: [] };
    const list = options.commit ? this.members : this.readers;
    const leave = async (): Promise<void> => {
      const i = list.indexOf(subscriber);
      if (i >= 0) list.splice(i, 1);
    };
    return {
      start: async () => {
        const committed = options.commit ? this.committed.get(options.groupId) : undefined;
        for (const topic of options.topics) {
          this.partitions(topic).forEach((records, partition) => subscriber.cursors.push({ topic, partition, next: committed?.get(tp(topic, partition)) ?? (options.fromBeginning ? 0 : records.length) }));
        }
        if (options.commit && !this.committed.has(options.groupId)) this.committed.set(options.groupId, new Map());
        list.push(subscriber);
        // The only member of its group: every partition is its own.
        options.onAssignment?.(subscriber.cursors.map(({ topic, partition }) => ({ topic, partition })));
        if (!options.commit) await this.feedReaders();
      },
      stop: leave,
      kill: leave,
    };
  }

  async close(): Promise<void> {}

  recordsOf(topic: string): readonly LoggedRecord[] {
    const records = this.byTopic.get(topic);
    if (!records) throw new Error(`test driver: no topic ${topic}`);
    return records;
  }

  /** Appends, decodes for reading back, and feeds the table and store readers. */
  async write(messages: OutgoingMessage[]): Promise<void> {
    for (const m of messages) {
      const partitions = this.partitions(m.topic);
      const partition = m.partition ?? partitionFor(m.key, partitions.length);
      const list = partitions[partition];
      if (!list) throw new Error(`test driver: ${m.topic} has no partition ${partition}`);
      const record: LoggedRecord = { topic: m.topic, partition, offset: list.length, seq: this.written++, message: { key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }, decoded: undefined };
      if (m.value !== null) record.decoded = await this.serde.decode(m.topic as TopicName, m.value).catch(() => undefined);
      list.push(record);
      this.byTopic.get(m.topic)!.push(record);
    }
    await this.feedReaders();
  }

  /** Hands every waiting record to its groups, oldest write first, until no group has any left. */
  async deliverAll(): Promise<void> {
    await this.deliverWaiting();
    if (this.readerFailure !== undefined) {
      const err = this.readerFailure;
      this.readerFailure = undefined;
      throw err;
    }
  }

  private async deliverWaiting(): Promise<void> {
    for (let batches = 0; ; batches++) {
      if (batches >= MAX_BATCHES_PER_RUN) throw new Error(`test driver: still delivering after ${MAX_BATCHES_PER_RUN} batches; do records keep causing records?`);
      const next = this.oldestWaiting();
      if (!next) break;
      const { member, cursor, records } = next;
      await member.options.eachBatch(this.batchOf(cursor, records));
      cursor.next = records[records.length - 1]!.offset + 1;
      this.committed.get(member.options.groupId)!.set(tp(cursor.topic, cursor.partition), cursor.next);
    }
  }

  /** Every group reading `topic` starts it again from the beginning. */
  rewind(topic: string): void {
    for (const m of this.members) for (const c of m.cursors) if (c.topic === topic) c.next = 0;
  }

  private partitions(topic: string): LoggedRecord[][] {
    const p = this.partitionsOf.get(topic);
    if (!p) throw new Error(`test driver: no topic ${topic} (is it in schemas/topics.json?)`);
    return p;
  }

  /** The batch to deliver next: the member whose waiting record is the oldest write, and what may join it. */
  private oldestWaiting(): { member: Subscriber; cursor: Cursor; records: LoggedRecord[] } | undefined {
    let best: { member: Subscriber; cursor: Cursor; head: LoggedRecord } | undefined;
    for (const member of this.members) {
      for (const cursor of member.cursors) {
        const head = this.recordsAt(cursor)[cursor.next];
        if (head && (!best || head.seq < best.head.seq)) best = { member, cursor, head };
      }
    }
    if (!best) return undefined;
    // Later records of the partition join while none of this member's other partitions holds an older one.
    let bound = Infinity;
    for (const c of best.member.cursors) if (c !== best.cursor) bound = Math.min(bound, this.recordsAt(c)[c.next]?.seq ?? Infinity);
    const partition = this.recordsAt(best.cursor);
    const records = [best.head];
    for (let o = best.cursor.next + 1; o < partition.length && records.length < BATCH_MAX && partition[o]!.seq < bound; o++) records.push(partition[o]!);
    return { member: best.member, cursor: best.cursor, records };
  }

  /** A partition's records; none once its topic is deleted. */
  private recordsAt(c: Cursor): LoggedRecord[] {
    return this.partitionsOf.get(c.topic)?.[c.partition] ?? [];
  }

  private batchOf(c: Cursor, records: LoggedRecord[]): ConsumedBatch {
    return { topic: c.topic, partition: c.partition, messages: records.map((r) => ({ ...r.message, offset: String(r.offset) })), highWatermark: String(this.recordsAt(c).length) };
  }

  /** Brings every table and store reader up to the end of its topics. */
  private feedReaders(): Promise<void> {
    this.feeding = this.feeding.then(async () => {
      for (const reader of [...this.readers]) {
        for (const cursor of reader.cursors) {
          const records = this.recordsAt(cursor);
          if (cursor.next >= records.length) continue;
          const batch = this.batchOf(cursor, records.slice(cursor.next));
          cursor.next = records.length;
          try {
            await reader.options.eachBatch(batch);
          } catch (err) {
            // A table that cannot read its topic fails the test at the end of this run, not the writer.
            this.readerFailure ??= err;
          }
        }
      }
    });
    return this.feeding;
  }
}
