import { randomUUID } from 'node:crypto';
import { type Logger, createLogger } from '../core/logger.js';
import { topicCatalog } from '../schemas/catalog.js';
import type { TopicSerde } from '../schemas/serde.js';
import type { TopicName } from '../schemas/types.generated.js';
import { type Clock, wallClock } from './clock.js';
import type { LogClient, LogProducer, TopicDefinition } from './log.js';
import { type PhysicalPlan, planTopology } from './plan.js';
import { type RunnerConfig, SubTopologyRunner } from './sub-topology-runner.js';
import { stateLimitsFor, TableMaterializer } from './table.js';
import { TableReader } from './table-reader.js';
import type { TableView, Topology } from './topology.js';

export interface StreamsAppOptions {
  log: LogClient;
  serde: TopicSerde;
  appId: string;
  runtime: Omit<RunnerConfig, 'appId' | 'instanceId'>;
  /** Run only these processors (a process per group of processors in production); default all. */
  processors?: string[];
  logger?: Logger;
  /** What the processors and the runtime read the time from; the wall clock unless a test drives it. */
  clock?: Clock;
}

/**
 * A store or table a process holds, for reading by operators (Kafka Streams' interactive
 * queries): `store` is state its processors write, `output table` one `groupByKey` folds into,
 * `table` one its processors read in full. Read-only: a view, never a way to write.
 */
export interface QueryableState {
  /** The compacted topic it is materialised from, its name. */
  topic: string;
  kind: 'store' | 'output table' | 'table';
  /** The processors that write it (store, output table) or read it (table). */
  processors: string[];
  view: Pick<TableView<unknown>, 'get' | 'withPrefix' | 'entries' | 'size'>;
}

/** Every topic of the catalogue, as the log needs it to create them. */
export function catalogTopicDefinitions(): TopicDefinition[] {
  return [...topicCatalog().values()].map((t) => ({ name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, config: t.config }));
}

/** Topics the catalogue marks as contracts, and any topic it does not know, stay real hops. */
export function isContractTopic(topic: string): boolean {
  return topicCatalog().get(topic as TopicName)?.contract ?? true;
}

/** The physical plan of a topology for the processors one process runs. */
export function planFor(topology: Topology, processors?: readonly string[]): PhysicalPlan {
  return planTopology(topology, { processors, isContract: isContractTopic });
}

/**
 * Runs a topology on a log (Kafka or in memory): plans it into sub-topologies, one
 * `SubTopologyRunner` (one consumer group) each, sharing one producer and the global tables.
 */
export class StreamsApp {
  readonly instanceId = randomUUID();
  private readonly runners: SubTopologyRunner[] = [];
  private readonly tables = new Map<string, TableMaterializer<unknown>>();
  private tableReader: TableReader | undefined;
  private producer: LogProducer | undefined;
  private readonly logger: Logger;

  constructor(private readonly topology: Topology, private readonly options: StreamsAppOptions) {
    this.logger = options.logger ?? createLogger('streams');
  }

  private selected(): string[] {
    const names = this.options.processors ?? [...this.topology.processors.keys()];
    for (const n of names) if (!this.topology.processors.has(n)) throw new Error(`topology ${this.topology.name} has no processor ${n}`);
    return names;
  }

  get plan(): PhysicalPlan {
    return planFor(this.topology, this.selected());
  }

  async start(): Promise<void> {
    const names = this.selected();
    const clock = this.options.clock ?? wallClock;
    this.topology.runOn(clock);
    const producer = await this.options.log.producer();
    this.producer = producer;
    // Every table and store is read on one consumer (table-reader.ts): tables here, each
    // runner's stores in its constructor; the reader starts once all are registered.
    const tableReader = new TableReader({ log: this.options.log, appId: this.options.appId });
    this.tableReader = tableReader;
    const tableTopics = new Set(names.flatMap((n) => [...this.topology.processors.get(n)!.tables]));
    for (const topic of tableTopics) {
      const limits = stateLimitsFor(topic, this.options.runtime.stateLimits);
      const m = new TableMaterializer<unknown>(topic as TopicName, { log: this.options.log, serde: this.options.serde, appId: this.options.appId, instanceId: this.instanceId, limits });
      m.followOn(tableReader);
      this.tables.set(topic, m);
    }
    const runners = this.plan.subTopologies.map(
      (sub) =>
        new SubTopologyRunner(
          sub,
          this.topology.processors,
          { log: this.options.log, serde: this.options.serde, producer, logger: this.logger, tables: this.tables, tableReader, clock },
          { ...this.options.runtime, appId: this.options.appId, instanceId: this.instanceId },
        ),
    );
    await tableReader.start();
    await this.tablesCaughtUp();
    for (const runner of runners) {
      await runner.start();
      this.runners.push(runner);
    }
  }

  /** Graceful: each task finishes its batch in flight, commits, and leaves its group. */
  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
    await this.tableReader?.stop();
    await this.producer?.close();
    this.runners.length = 0;
    this.tables.clear();
    this.tableReader = undefined;
  }

  /** Runs the punctuations that are due by the clock (`ProcessorBuilder.punctuate`); the test driver's way to move time on them. */
  async punctuate(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.punctuate()));
  }

  /** Test hook: every task stops as in a crash, committing nothing more. */
  async kill(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.kill()));
    await this.tableReader?.stop();
    this.runners.length = 0;
    this.tables.clear();
    this.tableReader = undefined;
  }

  /**
   * What this process holds, by topic: a store once (its writer's copy is the freshest), else
   * the table. Each instance holds every key (stores and tables read their whole topic), so
   * any instance answers for any key, as current as its last read.
   */
  queryableState(): QueryableState[] {
    const byTopic = new Map<string, QueryableState>();
    for (const runner of this.runners) {
      for (const { topic, processors, state } of runner.storeStates()) {
        const aggregate = processors.some((n) => this.topology.processors.get(n)!.aggregates.has(topic));
        byTopic.set(topic, { topic, kind: aggregate ? 'output table' : 'store', processors, view: state });
      }
    }
    for (const [topic, m] of this.tables) {
      if (byTopic.has(topic)) continue;
      const readers = this.selected().filter((n) => this.topology.processors.get(n)!.tables.has(topic));
      byTopic.set(topic, { topic, kind: 'table', processors: readers, view: m.state });
    }
    return [...byTopic.values()].sort((a, b) => a.topic.localeCompare(b.topic));
  }

  /** Waits until a table has applied everything written to its topic so far. */
  async tablesCaughtUp(): Promise<void> {
    await Promise.all([...this.tables.values()].map((t) => t.catchUp()));
  }
}
