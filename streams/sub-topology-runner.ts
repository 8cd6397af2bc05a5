import { PlatformError, PoisonError, errorMessage } from '../core/errors.js';
import { FailureStretchLog, retryLogged } from '../core/failure-stretch-log.js';
import { CORRELATION_HEADER, type Logger } from '../core/logger.js';
import { passStage, reachStage } from '../core/stages.js';
import type { TopicSerde } from '../schemas/serde.js';
import type { DeadLetter, TopicName } from '../schemas/types.generated.js';
import type { Clock } from './clock.js';
import type { ConsumedBatch, ConsumedMessage, LogClient, LogConsumer, LogProducer, OutgoingMessage } from './log.js';
import { runtimeMetrics } from './metrics.js';
import { type Attempt, type BatchStep, type Output, newAttempt, runChain } from './operators.js';
import { partitionFor } from './partitioner.js';
import { type SubTopology, subTopologyGroup } from './plan.js';
import { type KeyValueState, StagedStore, type StateLimits, stateLimitsFor, TableMaterializer, WRITER_HEADER } from './table.js';
import type { TableReader } from './table-reader.js';
import type { ProcessContext, ProcessorDefinition, Punctuation, PunctuationContext, Rec, TableView } from './topology.js';

export const DLQ_TOPIC = 'im.dlq';

export interface RunnerConfig {
  appId: string;
  instanceId: string;
  maxRetries: number;
  retryInitialMs: number;
  retryMaxMs: number;
  partitionsConcurrency: number;
  /** Bounds of the stores and tables, by topic (what the changelog's retention does not say: `stateLimitsFor`). */
  stateLimits?: Readonly<Record<string, StateLimits>>;
  /** While records keep failing, at most one `still failing` line per this many ms; default 30 s. */
  failureSummaryEveryMs?: number;
  /** false: punctuations run only when `punctuate()` is called (the test driver moves its clock and calls it). Default true: a wall-clock timer. */
  punctuateOnTimer?: boolean;
}

const FAILURE_SUMMARY_EVERY_MS = 30_000;

export interface RunnerDeps {
  log: LogClient;
  serde: TopicSerde;
  producer: LogProducer;
  logger: Logger;
  /** Global tables shared by the processors of one app, by topic. */
  tables: Map<string, TableMaterializer<unknown>>;
  /** The app's one reader of table and store topics: the runner's stores follow their changelogs on it. */
  tableReader: TableReader;
  /** Stamps the changelog and dead-letter records the runtime writes. */
  clock: Clock;
}

/** A record a task holds: decoded for the next processor, and its bytes for the log or the DLQ. */
interface TaskRecord {
  topic: string;
  rec: Rec<unknown>;
  bytes: Buffer | null;
}

/** Everything one consumed batch leads to inside the task, sent when the batch is through. */
interface TaskBatch {
  batch: ConsumedBatch;
  changelog: OutgoingMessage[];
  outputs: OutgoingMessage[];
  /** Side-effect processors' records, run once `changelog` and `outputs` are acknowledged. */
  afterProduce: { processor: string; record: TaskRecord; message: ConsumedMessage }[];
  batched: { processor: string; step: BatchStep; record: TaskRecord; message: ConsumedMessage }[];
  dead: OutgoingMessage[];
  /** Table updates of committed attempts, by `<offset>|<table>|<key>` (see `Attempt.updates`). */
  updates: Map<string, number>;
}

/**
 * Runs one sub-topology (see `plan.ts`): one consumer group over its source topics, a task per
 * partition number that handles one batch at a time, whichever source topic it comes from, so
 * the task is the only writer of its keys' state. Each record passes through its processor's
 * chain; outputs on fused edges go straight to the next processor of the task, the rest are
 * produced; the batch's offsets are committed only after every output is acknowledged
 * (at-least-once). Retries, dead letters and metrics stay per logical processor.
 */
export class SubTopologyRunner {
  private consumer: LogConsumer | undefined;
  private readonly stores = new Map<string, TableMaterializer<unknown>>();
  private storesStale = false;
  private readonly partitions = new Map<string, number>();
  private readonly tasks = new Map<number, Promise<void>>();
  private readonly logger: Logger;
  /** Which member processes a source topic's records, by topic. */
  private readonly consumersOf = new Map<string, ProcessorDefinition[]>();
  /** Stage names (core/stages.ts), made once: the task's, named after its first processor, and each member's. */
  private readonly stages: { consumed: string; sent: string; acked: string; effects: string };
  private readonly memberStages = new Map<string, { in: string; processed: string; done: string; effect: boolean }>();
  /** Retries logged per stretch of failures, not per record: a processor's, and the task's sends. */
  private readonly failureLogs = new Map<string, FailureStretchLog>();
  /** `topic#partition` this instance holds now: what `PunctuationContext.owns` answers from. */
  private readonly assigned = new Set<string>();
  /** Each punctuation with the processor declaring it and when it is due next (the engine's clock). */
  private readonly punctuations: { def: ProcessorDefinition; punctuation: Punctuation; due: number }[] = [];
  private punctuationTimer: NodeJS.Timeout | undefined;
  private punctuating: Promise<void> | undefined;

  constructor(
    readonly plan: SubTopology,
    private readonly defs: ReadonlyMap<string, ProcessorDefinition>,
    private readonly deps: RunnerDeps,
    private readonly config: RunnerConfig,
  ) {
    this.logger = deps.logger.child({ subTopology: plan.id });
    for (const name of plan.processors) {
      const def = this.def(name);
      for (const topic of def.sources.keys()) this.consumersOf.set(topic, [...(this.consumersOf.get(topic) ?? []), def]);
    }
    const task = plan.processors[0];
    this.stages = { consumed: `${task}:consumed`, sent: `${task}:sent`, acked: `${task}:acked`, effects: `${task}:effects` };
    const effects = new Set([...plan.afterProduce.values()].flat());
    for (const name of new Set([...plan.processors, ...effects])) this.memberStages.set(name, { in: `${name}:in`, processed: `${name}:processed`, done: `${name}:done`, effect: effects.has(name) });
    // Exported at 0 from the start: a series first scraped at 1 shows Prometheus no increase,
    // and ImDeadLetters would miss a processor's first dead letter.
    for (const name of this.memberStages.keys()) for (const topic of this.def(name).sources.keys()) runtimeMetrics.deadLetters.inc({ processor: name, topic }, 0);
    for (const name of plan.processors) {
      for (const punctuation of this.def(name).punctuations) {
        // Produced only: an effect inlined here would never see a punctuation's record.
        const inlined = [...this.def(name).sinks].filter((t) => plan.afterProduce.has(t));
        if (inlined.length > 0) throw new Error(`processor ${name}: punctuation ${punctuation.name} beside outputs read by inlined effects (${inlined.join(', ')})`);
        this.punctuations.push({ def: this.def(name), punctuation, due: 0 });
      }
    }
    for (const name of plan.processors) {
      for (const topic of this.def(name).stores) {
        if (this.stores.has(topic)) continue;
        const m = new TableMaterializer<unknown>(topic as TopicName, { log: deps.log, serde: deps.serde, appId: config.appId, instanceId: config.instanceId, limits: stateLimitsFor(topic, config.stateLimits) }, true);
        m.followOn(deps.tableReader);
        this.stores.set(topic, m);
      }
    }
  }

  get groupId(): string {
    return subTopologyGroup(this.config.appId, this.plan);
  }

  /** Its stores are read on the app's table reader, which the app starts; this waits until they are current. */
  async start(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.catchUp()));
    for (const topic of new Set([...this.plan.sources, ...this.plan.fused.keys()])) this.partitions.set(topic, await this.deps.log.partitionCount(topic));
    this.consumer = this.deps.log.consumer({
      groupId: this.groupId,
      topics: this.plan.sources,
      fromBeginning: true,
      commit: true,
      partitionsConcurrency: this.config.partitionsConcurrency,
      eachBatch: (batch) => {
        const now = Date.now();
        for (const m of batch.messages) passStage(m.headers, this.stages.consumed, now);
        return this.inTask(batch.partition, () => this.processBatch(batch));
      },
      // New partitions may come with state a previous owner wrote: read it before processing.
      onAssignment: (assigned) => {
        this.storesStale = this.stores.size > 0;
        this.assigned.clear();
        for (const a of assigned) this.assigned.add(`${a.topic}#${a.partition}`);
      },
    });
    await this.consumer.start();
    this.startPunctuations();
    this.logger.info('sub-topology started', { group: this.groupId, processors: this.plan.processors, sources: this.plan.sources });
  }

  async stop(): Promise<void> {
    await this.stopPunctuations();
    await this.consumer?.stop();
  }

  /** Test hook: stop as a crash would, committing nothing more. */
  async kill(): Promise<void> {
    await this.stopPunctuations();
    const c = this.consumer as (LogConsumer & { kill?: () => Promise<void> }) | undefined;
    await (c?.kill ? c.kill() : c?.stop());
  }

  /**
   * Runs every punctuation that is due by the engine's clock, one after another; a call while a
   * run is going on waits for that run. Each is due again `intervalMs` after it ran.
   */
  punctuate(): Promise<void> {
    this.punctuating ??= this.runDuePunctuations().finally(() => {
      this.punctuating = undefined;
    });
    return this.punctuating;
  }

  private startPunctuations(): void {
    if (this.punctuations.length === 0) return;
    const now = this.deps.clock.now();
    for (const p of this.punctuations) p.due = now + p.punctuation.intervalMs;
    if (this.config.punctuateOnTimer === false) return;
    // Ticks finer than the shortest interval, so a run is at most a tick late; never finer than 100 ms.
    const tick = Math.max(100, Math.min(1_000, ...this.punctuations.map((p) => p.punctuation.intervalMs)));
    this.punctuationTimer = setInterval(() => void this.punctuate(), tick);
    this.punctuationTimer.unref();
  }

  private async stopPunctuations(): Promise<void> {
    clearInterval(this.punctuationTimer);
    this.punctuationTimer = undefined;
    await this.punctuating;
  }

  private async runDuePunctuations(): Promise<void> {
    for (const p of this.punctuations) {
      const now = this.deps.clock.now();
      if (now < p.due) continue;
      p.due = now + p.punctuation.intervalMs;
      const processor = p.def.name;
      try {
        const emitted = await p.punctuation.fn(this.punctuationContext(p.def));
        const messages = await Promise.all(emitted.map(async (e): Promise<OutgoingMessage> => {
          if (p.def.stores.has(e.topic)) throw new Error(`punctuation ${p.punctuation.name} wrote store ${e.topic}, which only a record's processing may`);
          return { topic: e.topic, key: e.key, value: e.value === null ? null : await this.deps.serde.encode(e.topic, e.value as never), headers: e.headers ?? {}, timestamp: this.deps.clock.now() };
        }));
        await this.send(messages);
        for (const m of messages) runtimeMetrics.recordsOut.inc({ processor, topic: m.topic });
      } catch (err) {
        runtimeMetrics.errors.inc({ processor, code: err instanceof PlatformError ? err.code : 'ERROR' });
        this.logger.error('punctuation failed; it runs again at its next time', { processor, punctuation: p.punctuation.name, error: errorMessage(err) });
      }
    }
  }

  private punctuationContext(def: ProcessorDefinition): PunctuationContext {
    const source = [...def.sources.keys()][0]!;
    return {
      processor: def.name,
      logger: this.logger.child({ processor: def.name }),
      table: (ref) => this.table(def, ref.topic).state as TableView<never>,
      catchUp: async (ref) => {
        if (!(await this.table(def, ref.topic).catchUp(10_000))) this.logger.warn('table did not catch up in time; reading it as it is', { processor: def.name, table: ref.topic });
      },
      owns: (key) => {
        const n = this.partitions.get(source);
        return n !== undefined && this.assigned.has(`${source}#${partitionFor(key, n)}`);
      },
    };
  }

  /** The stores this task writes, by changelog topic, with the processors that write them. */
  storeStates(): { topic: string; processors: string[]; state: TableView<unknown> }[] {
    return [...this.stores].map(([topic, m]) => ({ topic, processors: this.plan.processors.filter((n) => this.def(n).stores.has(topic)), state: m.state }));
  }

  private def(name: string): ProcessorDefinition {
    const d = this.defs.get(name);
    if (!d) throw new Error(`sub-topology ${this.plan.id}: no processor ${name}`);
    return d;
  }

  private stageNames(processor: string): { in: string; processed: string; done: string; effect: boolean } {
    const names = this.memberStages.get(processor);
    if (!names) throw new Error(`sub-topology ${this.plan.id}: no processor ${processor}`);
    return names;
  }

  /** One batch at a time per partition number: batches of `im.ingress`/3 and `im.msg.checked`/3 never overlap. */
  private inTask(partition: number, work: () => Promise<void>): Promise<void> {
    const run = (this.tasks.get(partition) ?? Promise.resolve()).then(work);
    const settled = run.catch(() => undefined);
    this.tasks.set(partition, settled);
    void settled.then(() => {
      if (this.tasks.get(partition) === settled) this.tasks.delete(partition);
    });
    return run;
  }

  private async processBatch(batch: ConsumedBatch): Promise<void> {
    const started = performance.now();
    const consumers = this.consumersOf.get(batch.topic);
    if (!consumers) return;
    // After a rebalance, stores must hold everything a previous owner of these partitions
    // wrote. Between rebalances this task is the only writer, and it reads its own writes.
    if (this.storesStale) {
      this.storesStale = false;
      await Promise.all([...this.stores.values()].map((s) => s.catchUp()));
    }
    const task: TaskBatch = { batch, changelog: [], outputs: [], afterProduce: [], batched: [], dead: [], updates: new Map() };
    const serial = new KeyedSerial();

    const byKey = new Map<string | null, ConsumedMessage[]>();
    for (const m of batch.messages) {
      const list = byKey.get(m.key);
      if (list) list.push(m);
      else byKey.set(m.key, [m]);
    }
    await Promise.all(
      [...byKey.values()].map(async (messages) => {
        for (const message of messages) {
          const record = await this.decode(task, consumers[0]!.name, message);
          if (!record) continue;
          for (const def of consumers) await this.invoke(task, serial, def, record, message);
        }
      }),
    );
    await this.flushBatchSteps(task);

    // The changelog first: if we crash before the outputs, a redelivered record finds its
    // state (e.g. the stamped seq) and emits the same outputs again, never new ones.
    await this.send(task.changelog);
    const sentAt = Date.now();
    for (const o of task.outputs) passStage(o.headers, this.stages.sent, sentAt);
    await this.send(task.outputs);
    // The produced records travel on (their next stage is a consumer's); the effects start now.
    const ackedAt = Date.now();
    for (const o of task.outputs) reachStage(o.headers, this.stages.acked, ackedAt);
    for (const { record } of task.afterProduce) passStage(record.rec.headers, this.stages.effects, ackedAt);
    // Effects of one key (one gateway) in order, different keys at once: a batch's acks and
    // pushes go out together instead of one round trip after another.
    const effects = new KeyedSerial();
    await Promise.all(
      task.afterProduce.map(({ processor, record, message }) =>
        effects.run(`${processor}|${record.rec.key}`, async () => {
          await this.invoke(task, serial, this.def(processor), record, message);
          reachStage(record.rec.headers, this.stageNames(processor).done);
        }),
      ),
    );
    await this.send(task.dead);

    const elapsed = (performance.now() - started) / 1000;
    for (const def of consumers) runtimeMetrics.latency.observe({ processor: def.name }, elapsed / batch.messages.length);
    const last = BigInt(batch.messages[batch.messages.length - 1]!.offset);
    runtimeMetrics.lag.set({ group: this.groupId, topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - last - 1n));
  }

  private async decode(task: TaskBatch, processor: string, message: ConsumedMessage): Promise<TaskRecord | null> {
    const topic = task.batch.topic;
    try {
      if (message.value === null) throw new PoisonError('tombstone on a stream topic');
      const bytes = message.value;
      const value = await this.retrying(processor, () => this.deps.serde.decode(topic as TopicName, bytes));
      return { topic, bytes, rec: { key: message.key, value, headers: message.headers, timestamp: message.timestamp } };
    } catch (err) {
      task.dead.push(await this.deadLetter(processor, { topic, bytes: message.value, rec: { key: message.key, value: null, headers: message.headers, timestamp: message.timestamp } }, task.batch, message, err, 1));
      return null;
    }
  }

  /**
   * One record through one logical processor, retried on its own; then its outputs: fused
   * edges run the next processor here and now, side effects wait for the produce, the rest
   * is produced. A processor that keeps failing dead-letters the record it was given.
   */
  private async invoke(task: TaskBatch, serial: KeyedSerial, def: ProcessorDefinition, record: TaskRecord, message: ConsumedMessage): Promise<void> {
    const root = def.sources.get(record.topic);
    if (!root) return;
    runtimeMetrics.recordsIn.inc({ processor: def.name, topic: record.topic });
    const stage = this.stageNames(def.name);
    // An effect's record keeps the stage it was handed over at (`<task>:effects`): the push it
    // makes carries that, so the gateway can tell which task's path it ends.
    if (stage.effect) reachStage(record.rec.headers, stage.in);
    else passStage(record.rec.headers, stage.in);
    let attempts = 0;
    let routed: Routed;
    try {
      routed = await this.retrying(def.name, async () => {
        attempts++;
        const attempt = newAttempt();
        const updatesBefore = (tableKey: string): number => task.updates.get(`${message.offset}|${tableKey}`) ?? 0;
        await runChain(root, record.rec, this.context(def, task.batch, message, attempt), attempt, { lookup: (table, key) => this.table(def, table).state.get(key), updatesBefore });
        for (const [topic, staged] of attempt.stores) {
          for (const [key, v] of staged.writes) attempt.outputs.push({ topic, key, value: v, headers: { ...staged.writeHeaders.get(key), [WRITER_HEADER]: this.config.instanceId }, timestamp: this.deps.clock.now() });
        }
        // Encoding inside the attempt: a value its schema rejects dead-letters this record only,
        // on a fused edge as on a real one.
        const result = await this.route(def, task.batch, attempt, message.key);
        for (const staged of attempt.stores.values()) staged.commit(this.deps.clock.now());
        for (const [tableKey, made] of attempt.updates) task.updates.set(`${message.offset}|${tableKey}`, updatesBefore(tableKey) + made);
        return result;
      });
    } catch (err) {
      task.dead.push(await this.deadLetter(def.name, record, task.batch, message, err, attempts));
      await this.answerDeadLetter(task, serial, def, record, message, err);
      return;
    }
    const processedAt = Date.now();
    for (const o of routed.produced) {
      runtimeMetrics.recordsOut.inc({ processor: def.name, topic: o.topic });
      passStage(o.headers, stage.processed, processedAt);
    }
    for (const { record: next } of routed.forwards) passStage(next.rec.headers, stage.processed, processedAt);
    for (const { record: next } of routed.afterProduce) passStage(next.rec.headers, stage.processed, processedAt);
    task.changelog.push(...routed.changelog);
    task.outputs.push(...routed.produced);
    task.batched.push(...routed.batched.map((b) => ({ processor: def.name, step: b.step, record: { topic: record.topic, rec: b.rec, bytes: record.bytes }, message })));
    for (const { processor, record: next } of routed.afterProduce) task.afterProduce.push({ processor, record: next, message });
    for (const { processor, record: next } of routed.forwards) {
      runtimeMetrics.recordsOut.inc({ processor: def.name, topic: next.topic });
      const target = this.def(processor);
      // A processor with state sees one key at a time, in the order its records were made.
      if (target.stores.size > 0 && target !== def) await serial.run(`${processor}|${next.rec.key}`, () => this.invoke(task, serial, target, next, message));
      else await this.invoke(task, serial, target, next, message);
    }
  }

  /**
   * The answer a processor owes for a record it dead-lettered (`answerDeadLetters`), on the road
   * its own outputs take: produced with the batch's outputs, or handed to the effects and fused
   * processors they feed. Best effort: an answer that fails is logged, the dead letter stands.
   */
  private async answerDeadLetter(task: TaskBatch, serial: KeyedSerial, def: ProcessorDefinition, record: TaskRecord, message: ConsumedMessage, err: unknown): Promise<void> {
    const answer = def.deadLetterAnswers.get(record.topic);
    if (!answer || record.rec.value === null) return;
    try {
      const attempt = newAttempt();
      const code = err instanceof PlatformError ? err.code : 'PROCESSING_FAILED';
      for (const e of answer(record.rec, code)) attempt.outputs.push({ topic: e.topic, key: e.key, value: e.value, headers: { ...record.rec.headers, ...e.headers }, timestamp: this.deps.clock.now() });
      const routed = await this.route(def, task.batch, attempt, message.key);
      task.outputs.push(...routed.produced);
      for (const { processor, record: next } of routed.afterProduce) task.afterProduce.push({ processor, record: next, message });
      for (const { processor, record: next } of routed.forwards) await this.invoke(task, serial, this.def(processor), next, message);
    } catch (answerErr) {
      this.logger.error('dead-lettered record left unanswered', { processor: def.name, correlationId: message.headers[CORRELATION_HEADER], error: errorMessage(answerErr) });
    }
  }

  /** Decides where each output of one attempt goes. */
  private async route(def: ProcessorDefinition, batch: ConsumedBatch, attempt: Attempt, sourceKey: string | null): Promise<Routed> {
    const routed: Routed = { changelog: [], produced: [], forwards: [], afterProduce: [], batched: attempt.batched };
    for (const o of attempt.outputs) {
      const bytes = o.value === null ? null : await this.deps.serde.encode(o.topic as TopicName, o.value as never);
      const message: OutgoingMessage = { topic: o.topic, key: o.key, value: bytes, headers: o.headers, timestamp: o.timestamp };
      if (def.stores.has(o.topic)) {
        routed.changelog.push(message);
        continue;
      }
      const fusedTo = this.plan.fused.get(o.topic) ?? [];
      const effects = this.plan.afterProduce.get(o.topic) ?? [];
      if (bytes === null || (fusedTo.length === 0 && effects.length === 0)) {
        routed.produced.push(message);
        continue;
      }
      // The next processor reads exactly what it would have read from the topic.
      const record = await this.handOver(o, bytes);
      for (const processor of effects) routed.afterProduce.push({ processor, record });
      let viaLog = false;
      for (const processor of fusedTo) {
        // A key of another task's partition would break that task's single-writer state: the
        // record takes the topic to its own task.
        const target = this.def(processor);
        if (target.stores.size > 0 && !this.ownsKey(o.topic, o.key, batch)) viaLog = true;
        // A table's updates of a key must come in the order of one partition's offsets: records
        // of other keys of the batch run at the same time, so only the consumed key is fused.
        else if (target.aggregates.size > 0 && o.key !== sourceKey) viaLog = true;
        else routed.forwards.push({ processor, record });
      }
      if (viaLog) routed.produced.push(message);
    }
    return routed;
  }

  private async handOver(o: Output, bytes: Buffer): Promise<TaskRecord> {
    const value = await this.deps.serde.decode(o.topic as TopicName, bytes);
    return { topic: o.topic, bytes, rec: { key: o.key, value, headers: o.headers, timestamp: o.timestamp } };
  }

  /** Whether the key's partition of `topic` is this task's: same partition count, same number. */
  private ownsKey(topic: string, key: string | null, batch: ConsumedBatch): boolean {
    const n = this.partitions.get(topic);
    return key !== null && n !== undefined && n === this.partitions.get(batch.topic) && partitionFor(key, n) === batch.partition;
  }

  /** Calls each forEachBatch step once with its records; a lasting failure dead-letters them. */
  private async flushBatchSteps(task: TaskBatch): Promise<void> {
    const bySteps = new Map<BatchStep, TaskBatch['batched']>();
    for (const entry of task.batched) {
      const list = bySteps.get(entry.step);
      if (list) list.push(entry);
      else bySteps.set(entry.step, [entry]);
    }
    for (const [step, entries] of bySteps) {
      const processor = entries[0]!.processor;
      try {
        await this.retrying(processor, () => step.fn(entries.map((e) => e.record.rec)), entries.length);
      } catch (err) {
        for (const e of entries) task.dead.push(await this.deadLetter(processor, e.record, task.batch, e.message, err, this.config.maxRetries + 1));
      }
    }
  }

  /**
   * Runs `fn` with the runtime's retries. Each retry counts in the processor's errors; the log
   * tells the stretch of failures once (`FailureStretchLog`), with how many records it held,
   * not a line per record and attempt. `records`: how many one call carries.
   */
  private retrying<T>(processor: string, fn: () => Promise<T>, records = 1, options: { what: string; retries: number } = { what: 'retrying records', retries: this.config.maxRetries }): Promise<T> {
    const onRetry = (err: unknown) => void runtimeMetrics.errors.inc({ processor, code: err instanceof PlatformError ? err.code : 'ERROR' });
    const retries = { retries: options.retries, initialDelayMs: this.config.retryInitialMs, maxDelayMs: this.config.retryMaxMs, onRetry };
    return retryLogged(this.failureLog(processor, options.what), fn, retries, records);
  }

  private failureLog(processor: string, what: string): FailureStretchLog {
    const key = `${what}|${processor}`;
    let log = this.failureLogs.get(key);
    if (!log) {
      const summaryEveryMs = this.config.failureSummaryEveryMs ?? FAILURE_SUMMARY_EVERY_MS;
      this.failureLogs.set(key, (log = new FailureStretchLog({ logger: this.logger, what, counting: 'records', summaryEveryMs, now: () => this.deps.clock.now(), fields: { processor } })));
    }
    return log;
  }

  /** The dead letter names the logical processor and the topic it read, fused or not. */
  private async deadLetter(processor: string, record: TaskRecord, batch: ConsumedBatch, message: ConsumedMessage, err: unknown, attempts: number): Promise<OutgoingMessage> {
    const code = err instanceof PlatformError ? err.code : 'PROCESSING_FAILED';
    runtimeMetrics.errors.inc({ processor, code });
    runtimeMetrics.deadLetters.inc({ processor, topic: record.topic });
    this.logger.error('record sent to dead-letter topic', { processor, correlationId: message.headers[CORRELATION_HEADER], topic: record.topic, partition: batch.partition, offset: message.offset, code, error: errorMessage(err) });
    const letter: DeadLetter = {
      processor,
      sourceTopic: record.topic,
      partition: batch.partition,
      offset: message.offset,
      key: record.rec.key,
      value: record.bytes,
      errorCode: code,
      reason: errorMessage(err),
      attempts,
      failedAt: this.deps.clock.now(),
    };
    return { topic: DLQ_TOPIC, key: record.topic, value: await this.deps.serde.encode(DLQ_TOPIC, letter), headers: message.headers, timestamp: letter.failedAt };
  }

  private context(def: ProcessorDefinition, batch: ConsumedBatch, message: ConsumedMessage, attempt: Attempt): ProcessContext {
    const stores = this.stores;
    const baseLogger = this.logger;
    return {
      processor: def.name,
      source: { topic: batch.topic, partition: batch.partition, offset: message.offset },
      // Every log line about this record carries its correlation id, so one grep follows a
      // message through all the stages; the child logger is made only when something logs.
      get logger() {
        return baseLogger.child({ processor: def.name, correlationId: message.headers[CORRELATION_HEADER], offset: message.offset });
      },
      table: (ref) => this.table(def, ref.topic).state as TableView<never>,
      catchUp: async (ref) => {
        if (!(await this.table(def, ref.topic).catchUp(10_000))) this.logger.warn('table did not catch up in time; reading it as it is', { processor: def.name, table: ref.topic });
      },
      store: (ref) => {
        let staged = attempt.stores.get(ref.topic);
        if (!staged) {
          const s = def.stores.has(ref.topic) ? stores.get(ref.topic) : undefined;
          if (!s) throw new Error(`processor ${def.name} uses store ${ref.topic} it did not declare`);
          attempt.stores.set(ref.topic, (staged = new StagedStore(s.state as KeyValueState<unknown>)));
        }
        return staged as StagedStore<never>;
      },
    };
  }

  private table(def: ProcessorDefinition, topic: string): TableMaterializer<unknown> {
    const t = def.tables.has(topic) ? this.deps.tables.get(topic) : undefined;
    if (!t) throw new Error(`processor ${def.name} reads table ${topic} it did not declare`);
    return t;
  }

  /** Retries until the log takes the records: giving up would lose accepted records. */
  private async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.retrying(this.plan.processors[0]!, () => this.deps.producer.send(messages), messages.length, { what: 'retrying produce', retries: Number.MAX_SAFE_INTEGER });
  }
}

interface Routed {
  changelog: OutgoingMessage[];
  produced: OutgoingMessage[];
  forwards: { processor: string; record: TaskRecord }[];
  afterProduce: { processor: string; record: TaskRecord }[];
  batched: Attempt['batched'];
}

/** Runs work for one key after the previous work for that key, across a batch's concurrent keys. */
class KeyedSerial {
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, work: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(work);
    this.tails.set(key, next.catch(() => undefined));
    return next;
  }
}
