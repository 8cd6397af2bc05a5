import { PlatformError, PoisonError, errorMessage } from '../../core/errors.js';
import { CORRELATION_HEADER, type Logger } from '../../core/logger.js';
import { retry } from '../../core/retry.js';
import type { TopicSerde } from '../../schemas/serde.js';
import type { DeadLetter, TopicName } from '../../schemas/types.generated.js';
import type { ConsumedBatch, ConsumedMessage, LogClient, LogConsumer, LogProducer, OutgoingMessage } from './log.js';
import { runtimeMetrics } from './metrics.js';
import { type KeyValueState, StagedStore, TableMaterializer, WRITER_HEADER } from './table.js';
import type { Emit, ProcessContext, ProcessorDefinition, Rec, StepNode, TableView } from './topology.js';

export const DLQ_TOPIC = 'im.dlq';

export interface RunnerConfig {
  appId: string;
  instanceId: string;
  maxRetries: number;
  retryInitialMs: number;
  retryMaxMs: number;
  partitionsConcurrency: number;
}

export interface RunnerDeps {
  log: LogClient;
  serde: TopicSerde;
  producer: LogProducer;
  logger: Logger;
  /** Global tables shared by the processors of one app, by topic. */
  tables: Map<string, TableMaterializer<unknown>>;
}

interface Output {
  topic: string;
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
  timestamp: number;
}

interface Attempt {
  outputs: Output[];
  stores: Map<string, StagedStore<unknown>>;
  /** Records that reached a forEachBatch step, handed over once the whole batch is through. */
  batched: { step: BatchStep; rec: Rec<unknown> }[];
}

type Encoded = OutgoingMessage[];
type BatchStep = Extract<StepNode['step'], { kind: 'forEachBatch' }>;
interface RecordResult {
  encoded: Encoded;
  batched: Attempt['batched'];
}

/**
 * Runs one processor of a topology: consumes its sources in its own consumer group, passes
 * each record through the declared chain, produces every output and waits for the log's
 * acknowledgement, and only then lets the batch's offsets be committed (at-least-once).
 * Records with the same key are processed in order; different keys of a batch at once.
 */
export class ProcessorRunner {
  private consumer: LogConsumer | undefined;
  private readonly stores = new Map<string, TableMaterializer<unknown>>();
  private storesStale = false;
  private readonly logger: Logger;

  constructor(
    private readonly def: ProcessorDefinition,
    private readonly deps: RunnerDeps,
    private readonly config: RunnerConfig,
  ) {
    this.logger = deps.logger.child({ processor: def.name });
  }

  get groupId(): string {
    return `${this.config.appId}.${this.def.name}`;
  }

  async start(): Promise<void> {
    for (const topic of this.def.stores) {
      const m = new TableMaterializer<unknown>(topic as TopicName, { log: this.deps.log, serde: this.deps.serde, appId: this.config.appId, instanceId: this.config.instanceId }, true);
      await m.start();
      this.stores.set(topic, m);
    }
    this.consumer = this.deps.log.consumer({
      groupId: this.groupId,
      topics: [...this.def.sources.keys()],
      fromBeginning: true,
      commit: true,
      partitionsConcurrency: this.config.partitionsConcurrency,
      eachBatch: (batch) => this.processBatch(batch),
      // New partitions may come with state a previous owner wrote: read it before processing.
      onAssignment: () => {
        this.storesStale = this.stores.size > 0;
      },
    });
    await this.consumer.start();
    this.logger.info('processor started', { group: this.groupId, sources: [...this.def.sources.keys()] });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    await Promise.all([...this.stores.values()].map((s) => s.stop()));
  }

  /** Test hook: stop as a crash would, committing nothing more. */
  async kill(): Promise<void> {
    const c = this.consumer as (LogConsumer & { kill?: () => Promise<void> }) | undefined;
    await (c?.kill ? c.kill() : c?.stop());
    await Promise.all([...this.stores.values()].map((s) => s.stop()));
  }

  private async processBatch(batch: ConsumedBatch): Promise<void> {
    const started = performance.now();
    const root = this.def.sources.get(batch.topic);
    if (!root) return;
    // After a rebalance, stores must hold everything a previous owner of these partitions
    // wrote. Between rebalances this instance is the only writer, and it reads its own writes.
    if (this.storesStale) {
      this.storesStale = false;
      await Promise.all([...this.stores.values()].map((s) => s.catchUp()));
    }
    runtimeMetrics.recordsIn.inc({ processor: this.def.name, topic: batch.topic }, batch.messages.length);

    const results: RecordResult[] = new Array(batch.messages.length);
    const byKey = new Map<string | null, number[]>();
    batch.messages.forEach((m, i) => {
      const list = byKey.get(m.key);
      if (list) list.push(i);
      else byKey.set(m.key, [i]);
    });
    await Promise.all(
      [...byKey.values()].map(async (indexes) => {
        for (const i of indexes) results[i] = await this.processRecord(batch, batch.messages[i]!, root);
      }),
    );
    await this.flushBatchSteps(batch, results);

    const all = results.flatMap((r) => r.encoded);
    const changelog = all.filter((o) => this.def.stores.has(o.topic));
    const outputs = all.filter((o) => !this.def.stores.has(o.topic));
    // The changelog first: if we crash before the outputs, a redelivered record finds its
    // state (e.g. the stamped seq) and emits the same outputs again, never new ones.
    await this.send(changelog);
    await this.send(outputs);

    const elapsed = (performance.now() - started) / 1000;
    runtimeMetrics.latency.observe({ processor: this.def.name }, elapsed / batch.messages.length);
    const last = BigInt(batch.messages[batch.messages.length - 1]!.offset);
    runtimeMetrics.lag.set({ group: this.groupId, topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - last - 1n));
  }

  /** Calls each forEachBatch step once with its records; a lasting failure dead-letters them. */
  private async flushBatchSteps(batch: ConsumedBatch, results: RecordResult[]): Promise<void> {
    const bySteps = new Map<BatchStep, { recs: Rec<unknown>[]; indexes: number[] }>();
    results.forEach((r, i) => {
      for (const { step, rec } of r.batched) {
        let entry = bySteps.get(step);
        if (!entry) bySteps.set(step, (entry = { recs: [], indexes: [] }));
        entry.recs.push(rec);
        entry.indexes.push(i);
      }
    });
    for (const [step, { recs, indexes }] of bySteps) {
      try {
        await retry(() => step.fn(recs), this.retryOptions());
      } catch (err) {
        for (const i of new Set(indexes)) results[i]!.encoded.push(...(await this.deadLetter(batch, batch.messages[i]!, err, this.config.maxRetries + 1)));
      }
    }
  }

  private async processRecord(batch: ConsumedBatch, message: ConsumedMessage, root: StepNode): Promise<RecordResult> {
    let value: unknown;
    try {
      if (message.value === null) throw new PoisonError('tombstone on a stream topic');
      value = await retry(() => this.deps.serde.decode(batch.topic as TopicName, message.value!), this.retryOptions());
    } catch (err) {
      return { encoded: await this.deadLetter(batch, message, err, 1), batched: [] };
    }
    const rec: Rec<unknown> = { key: message.key, value, headers: message.headers, timestamp: message.timestamp };
    let attempts = 0;
    try {
      return await retry(async () => {
        attempts++;
        const attempt: Attempt = { outputs: [], stores: new Map(), batched: [] };
        await this.run(root, rec, this.context(batch, message, attempt), attempt);
        for (const [topic, staged] of attempt.stores) {
          for (const [key, v] of staged.writes) attempt.outputs.push({ topic, key, value: v, headers: { [WRITER_HEADER]: this.config.instanceId }, timestamp: Date.now() });
        }
        // Encoding inside the attempt: a value its schema rejects dead-letters this record only.
        const encoded = await this.encode(attempt.outputs);
        for (const staged of attempt.stores.values()) staged.commit();
        return { encoded, batched: attempt.batched };
      }, this.retryOptions());
    } catch (err) {
      return { encoded: await this.deadLetter(batch, message, err, attempts), batched: [] };
    }
  }

  private retryOptions() {
    return {
      retries: this.config.maxRetries,
      initialDelayMs: this.config.retryInitialMs,
      maxDelayMs: this.config.retryMaxMs,
      onRetry: (err: unknown, attempt: number) => {
        runtimeMetrics.errors.inc({ processor: this.def.name, code: err instanceof PlatformError ? err.code : 'ERROR' });
        this.logger.warn('retrying record', { attempt, error: errorMessage(err) });
      },
    };
  }

  private async deadLetter(batch: ConsumedBatch, message: ConsumedMessage, err: unknown, attempts: number): Promise<Encoded> {
    const code = err instanceof PlatformError ? err.code : 'PROCESSING_FAILED';
    runtimeMetrics.errors.inc({ processor: this.def.name, code });
    runtimeMetrics.deadLetters.inc({ processor: this.def.name, topic: batch.topic });
    this.logger.error('record sent to dead-letter topic', { correlationId: message.headers[CORRELATION_HEADER], topic: batch.topic, partition: batch.partition, offset: message.offset, code, error: errorMessage(err) });
    const letter: DeadLetter = {
      processor: this.def.name,
      sourceTopic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
      errorCode: code,
      reason: errorMessage(err),
      attempts,
      failedAt: Date.now(),
    };
    return this.encode([{ topic: DLQ_TOPIC, key: batch.topic, value: letter, headers: message.headers, timestamp: Date.now() }]);
  }

  private context(batch: ConsumedBatch, message: ConsumedMessage, attempt: Attempt): ProcessContext {
    const stores = this.stores;
    const baseLogger = this.logger;
    return {
      processor: this.def.name,
      source: { topic: batch.topic, partition: batch.partition, offset: message.offset },
      // Every log line about this record carries its correlation id, so one grep follows a
      // message through all the stages; the child logger is made only when something logs.
      get logger() {
        return baseLogger.child({ correlationId: message.headers[CORRELATION_HEADER], offset: message.offset });
      },
      table: (ref) => this.table(ref.topic).state as TableView<never>,
      catchUp: async (ref) => {
        if (!(await this.table(ref.topic).catchUp(10_000))) this.logger.warn('table did not catch up in time; reading it as it is', { table: ref.topic });
      },
      store: (ref) => {
        let staged = attempt.stores.get(ref.topic);
        if (!staged) {
          const s = stores.get(ref.topic);
          if (!s) throw new Error(`processor ${this.def.name} uses store ${ref.topic} it did not declare`);
          attempt.stores.set(ref.topic, (staged = new StagedStore(s.state as KeyValueState<unknown>)));
        }
        return staged as StagedStore<never>;
      },
    };
  }

  private table(topic: string): TableMaterializer<unknown> {
    const t = this.deps.tables.get(topic);
    if (!t) throw new Error(`processor ${this.def.name} reads table ${topic} it did not declare`);
    return t;
  }

  /** Walks the record through the operator tree, collecting sink outputs into the attempt. */
  private async run(node: StepNode, rec: Rec<unknown>, ctx: ProcessContext, attempt: Attempt): Promise<void> {
    const step = node.step;
    const next = async (r: Rec<unknown>): Promise<void> => {
      for (const child of node.children) await this.run(child, r, ctx, attempt);
    };
    switch (step.kind) {
      case 'source':
        return next(rec);
      case 'filter':
        return step.fn(rec, ctx) ? next(rec) : undefined;
      case 'map':
        return next(step.fn(rec, ctx));
      case 'flatMap':
        for (const r of step.fn(rec, ctx)) await next(r);
        return;
      case 'join': {
        const key = step.keyOf(rec);
        const table = this.deps.tables.get(step.table)!.state;
        const joined = step.joiner(rec, key === null ? undefined : table.get(key), ctx);
        return joined ? next(joined) : undefined;
      }
      case 'branch': {
        const arm = step.predicates.findIndex((p) => p(rec, ctx));
        if (arm >= 0) await this.run(node.children[arm]!, rec, ctx, attempt);
        return;
      }
      case 'process': {
        const emits: Emit[] = await step.fn(rec, ctx);
        for (const e of emits) attempt.outputs.push({ topic: e.topic, key: e.key, value: e.value, headers: { ...rec.headers, ...e.headers }, timestamp: rec.timestamp });
        return;
      }
      case 'forEachBatch':
        attempt.batched.push({ step, rec });
        return;
      case 'sink':
        attempt.outputs.push({ topic: step.topic, key: step.keyOf ? step.keyOf(rec) : rec.key, value: rec.value, headers: rec.headers, timestamp: rec.timestamp });
        return;
    }
  }

  private encode(outputs: Output[]): Promise<Encoded> {
    return Promise.all(
      outputs.map(async (o) => ({
        topic: o.topic,
        key: o.key,
        value: o.value === null ? null : await this.deps.serde.encode(o.topic as TopicName, o.value as never),
        headers: o.headers,
        timestamp: o.timestamp,
      })),
    );
  }

  /** Retries until the log takes the batch: giving up would lose accepted records. */
  private async send(messages: Encoded): Promise<void> {
    if (messages.length === 0) return;
    await retry(() => this.deps.producer.send(messages), { ...this.retryOptions(), retries: Number.MAX_SAFE_INTEGER });
    for (const m of messages) runtimeMetrics.recordsOut.inc({ processor: this.def.name, topic: m.topic });
  }
}
