import type { Logger } from '../core/logger.js';
import type { Count, TopicName, TopicValues } from '../schemas/types.generated.js';
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
  /** How many entries `withPrefix(prefix)` yields, without visiting them. */
  countWithPrefix(prefix: string): number;
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

/**
 * What a punctuation (`ProcessorBuilder.punctuate`) may use: the processor's tables, and whether
 * a key is this instance's to handle. It has no record, so no stores: what it writes goes out as
 * records, which the processor (or another) reads back.
 */
export interface PunctuationContext {
  readonly processor: string;
  readonly logger: Logger;
  table<T extends TopicName>(ref: TableRef<T>): TableView<TopicValues[T]>;
  catchUp<T extends TopicName>(ref: TableRef<T>): Promise<void>;
  /**
   * Whether `key` falls, by the partitioner, on a partition of the processor's first source that
   * this instance holds now: each key is then handled by one instance of several, and by another
   * after a rebalance.
   */
  owns(key: string): boolean;
}

/** Work a processor does on the clock rather than on a record (Kafka Streams' wall-clock punctuator). */
export interface Punctuation {
  name: string;
  intervalMs: number;
  fn: (ctx: PunctuationContext) => Promise<Emit[]>;
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
  | { kind: 'aggregate'; name: string; table: string; sequence?: (r: AnyRec) => number; update: (current: unknown, r: AnyRec) => unknown }
  | { kind: 'forEachBatch'; name: string; fn: (records: AnyRec[]) => Promise<void> };

export interface StepNode {
  step: Step;
  children: StepNode[];
}

/** A stream of records of one value type, in the middle of a processor's chain. */
export class KStream<V> {
  constructor(
    private readonly node: StepNode,
    private readonly owner: ProcessorBuilder,
    /** Whether a step may have changed the keys (map, flatMap, join): then grouping by key needs a topic first. */
    private readonly rekeyed = false,
  ) {}

  private then<W>(step: Step, rekeys = false): KStream<W> {
    const child: StepNode = { step, children: [] };
    this.node.children.push(child);
    return new KStream<W>(child, this.owner, this.rekeyed || rekeys);
  }

  filter(fn: (r: Rec<V>, ctx: ProcessContext) => boolean, name = 'filter'): KStream<V> {
    return this.then({ kind: 'filter', name, fn: fn as (r: AnyRec, ctx: ProcessContext) => boolean });
  }

  /** Changes key, value or headers of each record. */
  map<W>(fn: (r: Rec<V>, ctx: ProcessContext) => Rec<W>, name = 'map'): KStream<W> {
    return this.then({ kind: 'map', name, fn: fn as (r: AnyRec, ctx: ProcessContext) => AnyRec }, true);
  }

  /** Changes values only: the keys stay, so `groupByKey` may follow. */
  mapValues<W>(fn: (v: V, r: Rec<V>) => W, name = 'mapValues'): KStream<W> {
    const step = (r: AnyRec): AnyRec => ({ ...r, value: fn(r.value as V, r as Rec<V>) });
    return this.then({ kind: 'map', name, fn: step });
  }

  flatMap<W>(fn: (r: Rec<V>, ctx: ProcessContext) => Rec<W>[], name = 'flatMap'): KStream<W> {
    return this.then({ kind: 'flatMap', name, fn: fn as (r: AnyRec, ctx: ProcessContext) => AnyRec[] }, true);
  }

  /** Each value to none or several, under the record's own key: `groupByKey` may follow. */
  flatMapValues<W>(fn: (v: V, r: Rec<V>) => W[], name = 'flatMapValues'): KStream<W> {
    const step = (r: AnyRec): AnyRec[] => fn(r.value as V, r as Rec<V>).map((value) => ({ ...r, value }));
    return this.then({ kind: 'flatMap', name, fn: step });
  }

  /** Each record goes to the first branch whose predicate holds; none: dropped. */
  branch(...predicates: ((r: Rec<V>, ctx: ProcessContext) => boolean)[]): KStream<V>[] {
    const node: StepNode = { step: { kind: 'branch', name: 'branch', predicates: predicates as ((r: AnyRec, ctx: ProcessContext) => boolean)[] }, children: [] };
    this.node.children.push(node);
    return predicates.map(() => {
      const child: StepNode = { step: { kind: 'filter', name: 'branch-arm', fn: () => true }, children: [] };
      node.children.push(child);
      return new KStream<V>(child, this.owner, this.rekeyed);
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
    }, true);
  }

  /**
   * Groups the records by their key, for `aggregate`, `count` or `reduce` into a table (Kafka
   * Streams' KTable). The key must be the one the record was consumed with: a task is the only
   * writer of its keys, so a stream re-keyed by map, flatMap or join first goes `to` a topic and
   * is grouped by the processor that reads it (what Kafka Streams' repartition topic does).
   * `sequence`, when records carry one per key (a message's seq), is what a replay is told
   * apart by, so it also skips a record produced twice upstream; a key then takes one update per
   * sequence number, rising. By default the consumed record's offset (streams/aggregate.ts).
   */
  groupByKey(options: { sequence?: (r: Rec<V>) => number } = {}): KGroupedStream<V> {
    if (this.rekeyed) throw new Error(`processor ${this.owner.definition.name}: groupByKey after a step that may change keys (map, flatMap, join); write the stream to a topic and group it where it is read, or use mapValues`);
    return new KGroupedStream<V>(this.node, this.owner, options.sequence as ((r: AnyRec) => number) | undefined);
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

/** The topics whose value is a `Count` (schemas/avro/count.avsc): what `count` may write. */
export type CountTopic = { [T in TopicName]: TopicValues[T] extends Count ? (Count extends TopicValues[T] ? T : never) : never }[TopicName];

/**
 * A stream grouped by key, folded into a table: a store of the processor whose compacted
 * changelog is the named topic, so the table is an output any processor or service may read
 * (`make topology` draws it as one). Each record updates its key once, however often it is
 * redelivered or replayed: the runtime keeps, per key, what it applied (streams/aggregate.ts).
 * A record with a null key is not counted, as in Kafka Streams.
 */
export class KGroupedStream<V> {
  constructor(
    private readonly node: StepNode,
    private readonly owner: ProcessorBuilder,
    private readonly sequence?: (r: AnyRec) => number,
  ) {}

  private fold(table: TopicName, name: string, update: (current: unknown, r: AnyRec) => unknown): void {
    this.owner.aggregateInto(table);
    this.node.children.push({ step: { kind: 'aggregate', name, table, sequence: this.sequence, update }, children: [] });
  }

  /** Folds each record into the key's value, starting from `initializer(key)`. */
  aggregate<T extends TopicName>(
    table: T,
    options: { initializer: (key: string) => TopicValues[T]; aggregator: (current: TopicValues[T], r: Rec<V>) => TopicValues[T] },
    name = 'aggregate',
  ): void {
    this.fold(table, name, (current, r) => options.aggregator((current as TopicValues[T] | undefined) ?? options.initializer(r.key!), r as Rec<V>));
  }

  /** Records per key, as a `Count` value. */
  count<T extends CountTopic>(table: T, name = 'count'): void {
    this.fold(table, name, (current, r): Count => ({ key: r.key!, count: ((current as Count | undefined)?.count ?? 0) + 1 }));
  }

  /** Combines the key's value with each record's; the first record is the first value. */
  reduce<T extends TopicName>(this: KGroupedStream<TopicValues[T]>, table: T, reducer: (current: TopicValues[T], value: TopicValues[T]) => TopicValues[T], name = 'reduce'): void {
    this.fold(table, name, (current, r) => (current === undefined ? r.value : reducer(current as TopicValues[T], r.value as TopicValues[T])));
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
  /** Tables it aggregates into (`groupByKey`): stores whose changelog is also an output. */
  aggregates: Set<string>;
  /** By source topic: the answer owed for a record dead-lettered. */
  deadLetterAnswers: Map<string, DeadLetterAnswer>;
  /** Work on the clock (`punctuate`). */
  punctuations: Punctuation[];
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
    this.definition = { name, sources: new Map(), tables: new Set(), stores: new Set(), sinks: new Set(), aggregates: new Set(), deadLetterAnswers: new Map(), punctuations: [] };
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

  /**
   * Runs `fn` every `intervalMs` of the engine's clock, in each instance running this processor
   * (Kafka Streams' wall-clock punctuation): for work no record starts, such as deleting what
   * expired. The wall clock's timer in production; under the test driver, `advanceWallClockTime`.
   * Runs never overlap; one that fails is logged and the next comes at its time. Its records are
   * produced (never handed over in memory) and `outputs` names every topic they may go to.
   * To share the work between instances, handle only the keys `ctx.owns`.
   */
  punctuate(name: string, options: { intervalMs: number; outputs: readonly TopicName[] }, fn: (ctx: PunctuationContext) => Promise<Emit[]>): void {
    if (!(options.intervalMs > 0)) throw new Error(`processor ${this.definition.name}: punctuation ${name} needs a positive interval`);
    for (const t of options.outputs) this.useSink(t);
    this.definition.punctuations.push({ name, intervalMs: options.intervalMs, fn });
  }

  /** A table `groupByKey` folds into: a store of this processor, one aggregation each. */
  aggregateInto(topic: TopicName): void {
    if (this.definition.stores.has(topic)) throw new Error(`processor ${this.definition.name}: ${topic} is already a store or a table it aggregates into`);
    this.store(topic);
    this.definition.aggregates.add(topic);
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
