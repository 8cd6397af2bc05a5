import type { Logger } from '../core/logger.js';
import type { TopicName, TopicValues } from '../schemas/types.generated.js';
import { type Clock, wallClock } from './clock.js';

/**
 * The topology DSL. A topology only describes: processors, each with its source topics, a
 * chain of operators, sinks, and the tables and stores it reads. Nothing here runs; an engine
 * (`StreamsApp` on a Kafka or in-memory log) executes the description, and `describe()` prints it.
 */

/** One record as operators see it. Values are the decoded Avro records of the topic. */
export interface Rec<V> {
  key: string | null;
  value: V;
  headers: Record<string, string>;
  timestamp: number;
}

/** Where the record being processed came from. */
export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string;
}

/** A read-only view of a table materialised from a compacted topic. */
export interface TableView<V> {
  get(key: string): V | undefined;
  /** Entries whose key starts with `<prefix>|` (e.g. every member of a group). */
  withPrefix(prefix: string): IterableIterator<[string, V]>;
  /** Every entry (e.g. to rebuild a copy kept outside the log). */
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

/** A read-write store backed by a compacted changelog topic; writes are read back at once. */
export interface StoreView<V> extends TableView<V> {
  put(key: string, value: V | null): void;
}

/** What an operator may use besides the record itself. */
export interface ProcessContext {
  readonly processor: string;
  readonly source: SourcePosition;
  readonly logger: Logger;
  table<T extends TopicName>(ref: TableRef<T>): TableView<TopicValues[T]>;
  /**
   * Waits until the table holds everything written to its topic so far. For causal reads:
   * e.g. a "members added" notice was produced after the memberships, so catching up when
   * it arrives makes every later message of the group see the new members.
   */
  catchUp<T extends TopicName>(ref: TableRef<T>): Promise<void>;
  store<T extends TopicName>(ref: StoreRef<T>): StoreView<TopicValues[T]>;
}

export interface TableRef<T extends TopicName> {
  readonly kind: 'table';
  readonly topic: T;
}

export interface StoreRef<T extends TopicName> {
  readonly kind: 'store';
  readonly topic: T;
}

/** An output a `process` step returns: a record for a named topic. */
export interface Emit<T extends TopicName = TopicName> {
  topic: T;
  key: string | null;
  value: TopicValues[T] | null;
  headers?: Record<string, string>;
}

type AnyRec = Rec<unknown>;

export type Step =
  | { kind: 'source'; topic: string }
  | { kind: 'filter'; name: string; fn: (r: AnyRec, ctx: ProcessContext) => boolean }
  | { kind: 'map'; name: string; fn: (r: AnyRec, ctx: ProcessContext) => AnyRec }
  | { kind: 'flatMap'; name: string; fn: (r: AnyRec, ctx: ProcessContext) => AnyRec[] }
  | { kind: 'join'; name: string; table: string; keyOf: (r: AnyRec) => string | null; joiner: (r: AnyRec, t: unknown, ctx: ProcessContext) => AnyRec | null }
  | { kind: 'branch'; name: string; predicates: ((r: AnyRec, ctx: ProcessContext) => boolean)[] }
  | { kind: 'process'; name: string; fn: (r: AnyRec, ctx: ProcessContext) => Promise<Emit[]> }
  | { kind: 'sink'; name: string; topic: string; keyOf?: (r: AnyRec) => string | null }
  | { kind: 'forEachBatch'; name: string; fn: (records: AnyRec[]) => Promise<void> };

export interface StepNode {
  step: Step;
  children: StepNode[];
}

/** A stream of records of one value type, in the middle of a processor's chain. */
export class KStream<V> {
  constructor(private readonly node: StepNode, private readonly owner: ProcessorBuilder) {}

  private then<W>(step: Step): KStream<W> {
    const child: StepNode = { step, children: [] };
    this.node.children.push(child);
    return new KStream<W>(child, this.owner);
  }

  filter(fn: (r: Rec<V>, ctx: ProcessContext) => boolean, name = 'filter'): KStream<V> {
    return this.then({ kind: 'filter', name, fn: fn as (r: AnyRec, ctx: ProcessContext) => boolean });
  }

  /** Changes key, value or headers of each record. */
  map<W>(fn: (r: Rec<V>, ctx: ProcessContext) => Rec<W>, name = 'map'): KStream<W> {
    return this.then({ kind: 'map', name, fn: fn as (r: AnyRec, ctx: ProcessContext) => AnyRec });
  }

  mapValues<W>(fn: (v: V, r: Rec<V>) => W, name = 'mapValues'): KStream<W> {
    return this.map((r) => ({ ...r, value: fn(r.value, r) }), name);
  }

  flatMap<W>(fn: (r: Rec<V>, ctx: ProcessContext) => Rec<W>[], name = 'flatMap'): KStream<W> {
    return this.then({ kind: 'flatMap', name, fn: fn as (r: AnyRec, ctx: ProcessContext) => AnyRec[] });
  }

  /** Each record goes to the first branch whose predicate holds; none: dropped. */
  branch(...predicates: ((r: Rec<V>, ctx: ProcessContext) => boolean)[]): KStream<V>[] {
    const node: StepNode = { step: { kind: 'branch', name: 'branch', predicates: predicates as ((r: AnyRec, ctx: ProcessContext) => boolean)[] }, children: [] };
    this.node.children.push(node);
    return predicates.map(() => {
      const child: StepNode = { step: { kind: 'filter', name: 'branch-arm', fn: () => true }, children: [] };
      node.children.push(child);
      return new KStream<V>(child, this.owner);
    });
  }

  /**
   * Stream-table join: looks the table up by `keyOf(record)`; the joiner sees the table value
   * (undefined when absent) and returns the joined record, or null to drop it.
   */
  join<T extends TopicName, W>(
    table: TableRef<T>,
    keyOf: (r: Rec<V>) => string | null,
    joiner: (r: Rec<V>, t: TopicValues[T] | undefined, ctx: ProcessContext) => Rec<W> | null,
    name = `join-${table.topic}`,
  ): KStream<W> {
    this.owner.useTable(table.topic);
    return this.then({
      kind: 'join',
      name,
      table: table.topic,
      keyOf: keyOf as (r: AnyRec) => string | null,
      joiner: joiner as (r: AnyRec, t: unknown, ctx: ProcessContext) => AnyRec | null,
    });
  }

  /**
   * An asynchronous step for side effects (Redis, MongoDB) and for outputs to several topics.
   * Records with the same key run one after another, in offset order; other keys run at once.
   * `outputs` names every topic it may emit to, so the topology can describe itself.
   */
  process(outputs: readonly TopicName[], fn: (r: Rec<V>, ctx: ProcessContext) => Promise<Emit[]>, name = 'process'): void {
    for (const t of outputs) this.owner.useSink(t);
    this.then({ kind: 'process', name, fn: fn as (r: AnyRec, ctx: ProcessContext) => Promise<Emit[]> });
  }

  /**
   * A terminal step for sinks that write in bulk (MongoDB, search indexes): called once per
   * consumed batch with every record that reached it, in offset order, before the batch's
   * offsets are committed. A failure retries the whole call; one that persists dead-letters
   * the batch's records.
   */
  forEachBatch(fn: (records: Rec<V>[]) => Promise<void>, name = 'forEachBatch'): void {
    this.then({ kind: 'forEachBatch', name, fn: fn as (records: AnyRec[]) => Promise<void> });
  }

  /** Writes to a topic whose schema the values match; the key is kept unless `key` picks another. */
  to<T extends TopicName>(this: KStream<TopicValues[T] | null>, topic: T, options: { key?: (r: Rec<TopicValues[T] | null>) => string | null } = {}): void {
    this.owner.useSink(topic);
    this.then({ kind: 'sink', name: `to-${topic}`, topic, keyOf: options.key as ((r: AnyRec) => string | null) | undefined });
  }
}

/** What a processor emits for a record of its source that it dead-lettered (see `answerDeadLetters`). */
export type DeadLetterAnswer = (r: Rec<unknown>, errorCode: string) => Emit[];

export interface ProcessorDefinition {
  name: string;
  sources: Map<string, StepNode>;
  tables: Set<string>;
  stores: Set<string>;
  sinks: Set<string>;
  /** By source topic: the answer owed for a record dead-lettered. */
  deadLetterAnswers: Map<string, DeadLetterAnswer>;
}

/** Declares one processor: its own consumer group, sources, tables, stores and sinks. */
export class ProcessorBuilder {
  readonly definition: ProcessorDefinition;

  /**
   * The time of the engine running this processor: the wall clock in production, the test
   * driver's clock in tests. Read it for every time-based decision (rate limits, windows,
   * timeouts, the timestamps a step stamps), never `Date.now()`; state made at declaration
   * (a rate limiter, a breaker) may hold it.
   */
  readonly clock: Clock;

  constructor(name: string, clock: Clock = wallClock) {
    this.definition = { name, sources: new Map(), tables: new Set(), stores: new Set(), sinks: new Set(), deadLetterAnswers: new Map() };
    this.clock = clock;
  }

  stream<T extends TopicName>(topic: T): KStream<TopicValues[T]> {
    let node = this.definition.sources.get(topic);
    if (!node) this.definition.sources.set(topic, (node = { step: { kind: 'source', topic }, children: [] }));
    return new KStream<TopicValues[T]>(node, this);
  }

  /** A table every instance holds in full (a global table), restored from the topic's start. */
  table<T extends TopicName>(topic: T): TableRef<T> {
    this.useTable(topic);
    return { kind: 'table', topic };
  }

  /** A store written by this processor, restored from its compacted changelog topic. */
  store<T extends TopicName>(changelog: T): StoreRef<T> {
    this.definition.stores.add(changelog);
    this.definition.sinks.add(changelog);
    return { kind: 'store', topic: changelog };
  }

  /**
   * What to emit when this processor dead-letters a record of `topic`, e.g. an error frame to the
   * client whose frame it was: a client's frame must be answered even when it cannot be handled.
   * Its outputs take the same road as the processor's own; one that fails too is logged and dropped.
   */
  answerDeadLetters<T extends TopicName>(topic: T, outputs: readonly TopicName[], fn: (r: Rec<TopicValues[T]>, errorCode: string) => Emit[]): void {
    for (const t of outputs) this.useSink(t);
    this.definition.deadLetterAnswers.set(topic, fn as DeadLetterAnswer);
  }

  useTable(topic: string): void {
    this.definition.tables.add(topic);
  }

  useSink(topic: string): void {
    this.definition.sinks.add(topic);
  }
}

/** A whole topology: named processors. A value; run it with `StreamsApp`. */
export class Topology {
  readonly processors = new Map<string, ProcessorDefinition>();
  private engineClock: Clock = wallClock;
  /** What every processor's `p.clock` reads: the clock of the engine that last started the topology. */
  private readonly clock: Clock = { now: () => this.engineClock.now() };

  constructor(readonly name: string) {}

  /** Called by an engine as it starts: the topology's processors then read `clock`. */
  runOn(clock: Clock): void {
    this.engineClock = clock;
  }

  processor(name: string, declare: (p: ProcessorBuilder) => void): this {
    if (this.processors.has(name)) throw new Error(`topology ${this.name}: processor ${name} declared twice`);
    const builder = new ProcessorBuilder(name, this.clock);
    declare(builder);
    if (builder.definition.sources.size === 0) throw new Error(`processor ${name} has no source`);
    this.processors.set(name, builder.definition);
    return this;
  }
}
