import { randomUUID } from 'node:crypto';
import { type Logger, createLogger } from '../../core/logger.js';
import { topicCatalog } from '../../schemas/catalog.js';
import type { TopicSerde } from '../../schemas/serde.js';
import type { TopicName } from '../../schemas/types.generated.js';
import type { LogClient, LogProducer, TopicDefinition } from './log.js';
import { ProcessorRunner, type RunnerConfig } from './processor-runner.js';
import { TableMaterializer } from './table.js';
import type { Topology } from './topology.js';

export interface StreamsAppOptions {
  log: LogClient;
  serde: TopicSerde;
  appId: string;
  runtime: Omit<RunnerConfig, 'appId' | 'instanceId'>;
  /** Run only these processors (one process per processor in production); default all. */
  processors?: string[];
  logger?: Logger;
}

/** Every topic of the catalogue, as the log needs it to create them. */
export function catalogTopicDefinitions(): TopicDefinition[] {
  return [...topicCatalog().values()].map((t) => ({ name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, config: t.config }));
}

/**
 * Runs a topology on a log (Kafka or in memory): one `ProcessorRunner` per processor, each in
 * its own consumer group, sharing one producer and the global tables they read.
 */
export class StreamsApp {
  readonly instanceId = randomUUID();
  private readonly runners = new Map<string, ProcessorRunner>();
  private readonly tables = new Map<string, TableMaterializer<unknown>>();
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

  async start(): Promise<void> {
    const names = this.selected();
    this.producer = await this.options.log.producer();
    const tableTopics = new Set(names.flatMap((n) => [...this.topology.processors.get(n)!.tables]));
    await Promise.all(
      [...tableTopics].map(async (topic) => {
        const m = new TableMaterializer<unknown>(topic as TopicName, { log: this.options.log, serde: this.options.serde, appId: this.options.appId, instanceId: this.instanceId });
        await m.start();
        this.tables.set(topic, m);
      }),
    );
    for (const name of names) {
      const runner = new ProcessorRunner(
        this.topology.processors.get(name)!,
        { log: this.options.log, serde: this.options.serde, producer: this.producer, logger: this.logger, tables: this.tables },
        { ...this.options.runtime, appId: this.options.appId, instanceId: this.instanceId },
      );
      await runner.start();
      this.runners.set(name, runner);
    }
  }

  /** Graceful: each processor finishes its batch in flight, commits, and leaves its group. */
  async stop(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    await Promise.all([...this.tables.values()].map((t) => t.stop()));
    await this.producer?.close();
    this.runners.clear();
    this.tables.clear();
  }

  /** Test hook: every processor stops as in a crash, committing nothing more. */
  async kill(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.kill()));
    await Promise.all([...this.tables.values()].map((t) => t.stop()));
    this.runners.clear();
    this.tables.clear();
  }

  /** Waits until a table has applied everything written to its topic so far. */
  async tablesCaughtUp(): Promise<void> {
    await Promise.all([...this.tables.values()].map((t) => t.catchUp()));
  }
}
