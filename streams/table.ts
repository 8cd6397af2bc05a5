import { topicCatalog } from '../schemas/catalog.js';
import type { TopicSerde } from '../schemas/serde.js';
import type { TopicName } from '../schemas/types.generated.js';
import type { ConsumedBatch, LogClient } from './log.js';
import { runtimeMetrics } from './metrics.js';
import { TableReader } from './table-reader.js';
import type { StoreView, TableView } from './topology.js';

/** Header naming the instance that wrote a changelog record, so it skips its own echoes. */
export const WRITER_HEADER = 'im-writer';

/** Header of an aggregated table's changelog record: what its key has applied (aggregate.ts). */
export const APPLIED_HEADER = 'im-applied';

/**
 * How much of its changelog a state keeps in memory. A changelog with `cleanup.policy`
 * `compact,delete` forgets keys after `retention.ms`; the state forgets them too, by the time
 * each key was last written (the record's timestamp, or the runtime's clock for its own
 * writes), and at most `maxEntries` keys, oldest write first, so its memory is bounded
 * whatever the traffic. A forgotten key reads as absent, as it would after a restore.
 */
export interface StateLimits {
  retentionMs?: number;
  maxEntries?: number;
}

export type EvictionReason = 'retention' | 'size';

/**
 * A state's bounds: its changelog's `retention.ms` where the topic deletes old records
 * (`schemas/topics.json`), then the deployment's overrides for that topic.
 */
export function stateLimitsFor(topic: string, overrides?: Readonly<Record<string, StateLimits>>): StateLimits {
  const config = topicCatalog().get(topic as TopicName)?.config ?? {};
  const deletes = (config['cleanup.policy'] ?? '').split(',').includes('delete');
  const retention = deletes && config['retention.ms'] !== undefined ? Number(config['retention.ms']) : undefined;
  return { ...(retention !== undefined ? { retentionMs: retention } : {}), ...overrides?.[topic] };
}

/**
 * Key-value state with a secondary index on the key's part before `|`, so "all members of
 * group G" (keys `G|user`) is a lookup, not a scan.
 */
export class KeyValueState<V> implements TableView<V> {
  private readonly map = new Map<string, V>();
  private readonly index = new Map<string, Set<string>>();
  /** By key, what an aggregation has applied to it (aggregate.ts); absent for other state. */
  private readonly applied = new Map<string, string>();
  /** Keys in the order of their last write, with its time; kept only for a bounded state. */
  private readonly writtenAt: Map<string, number> | null;

  constructor(
    private readonly limits: StateLimits = {},
    private readonly onEvict?: (reason: EvictionReason) => void,
  ) {
    this.writtenAt = limits.retentionMs !== undefined || limits.maxEntries !== undefined ? new Map() : null;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  *withPrefix(prefix: string): IterableIterator<[string, V]> {
    for (const key of this.index.get(prefix) ?? []) yield [key, this.map.get(key)!];
  }

  countWithPrefix(prefix: string): number {
    return this.index.get(prefix)?.size ?? 0;
  }

  entries(): IterableIterator<[string, V]> {
    return this.map.entries();
  }

  appliedOf(key: string): string | undefined {
    return this.applied.get(key);
  }

  /** `at`: when the change was written, ms since the epoch (what retention counts from); `applied`: an aggregation's mark. */
  apply(key: string, value: V | null, at = 0, applied?: string): void {
    this.set(key, value);
    if (applied !== undefined && value !== null) this.applied.set(key, applied);
    if (!this.writtenAt) return;
    this.writtenAt.delete(key);
    if (value !== null) this.writtenAt.set(key, at);
    this.evict(at);
  }

  /** Drops keys from the oldest write on while there are too many or they are past retention at `now`. */
  private evict(now: number): void {
    const { retentionMs, maxEntries } = this.limits;
    for (const [key, at] of this.writtenAt!) {
      const reason: EvictionReason | null = maxEntries !== undefined && this.writtenAt!.size > maxEntries ? 'size' : retentionMs !== undefined && at < now - retentionMs ? 'retention' : null;
      if (!reason) return;
      this.writtenAt!.delete(key);
      this.set(key, null);
      this.onEvict?.(reason);
    }
  }

  private set(key: string, value: V | null): void {
    const bar = key.indexOf('|');
    const prefix = bar >= 0 ? key.slice(0, bar) : null;
    this.applied.delete(key);
    if (value === null) {
      this.map.delete(key);
      if (prefix !== null) {
        const set = this.index.get(prefix);
        set?.delete(key);
        if (set?.size === 0) this.index.delete(prefix);
      }
      return;
    }
    this.map.set(key, value);
    if (prefix !== null) {
      let set = this.index.get(prefix);
      if (!set) this.index.set(prefix, (set = new Set()));
      set.add(key);
    }
  }
}

/**
 * Keeps a `KeyValueState` equal to a compacted topic: reads it from the beginning and follows
 * it after. Its records come through a `TableReader`: the process's shared one (`followOn`,
 * then the owner starts the reader and waits for `catchUp`), or one of its own (`start`).
 */
export class TableMaterializer<V> {
  readonly state: KeyValueState<V>;
  private ownReader: TableReader | undefined;
  private readonly positions = new Map<number, bigint>();
  private waiters: { target: Map<number, bigint>; resolve: () => void }[] = [];

  constructor(
    private readonly topic: TopicName,
    private readonly deps: { log: LogClient; serde: TopicSerde; appId: string; instanceId: string; limits?: StateLimits },
    /** For a store: skip records this instance wrote (already applied locally). Tables apply all. */
    private readonly skipOwnWrites = false,
    /** Sees every applied change, e.g. to keep an index the key layout cannot give. */
    private readonly onChange?: (key: string, value: V | null) => void,
  ) {
    this.state = new KeyValueState<V>(deps.limits, (reason) => runtimeMetrics.stateEvictions.inc({ state: topic, reason }));
  }

  /** Reads its topic on a reader of its own; resolves once caught up with the end offsets seen at start. */
  async start(): Promise<void> {
    this.ownReader = new TableReader(this.deps);
    this.followOn(this.ownReader);
    await this.ownReader.start();
    await this.catchUp();
  }

  /** Takes its records from a reader shared with other tables; call before the reader starts. */
  followOn(reader: TableReader): void {
    reader.follow(this.topic, (batch) => this.applyBatch(batch));
  }

  /**
   * Resolves when every record written before this call has been applied; with `timeoutMs`,
   * false after that long (a stuck reader must not stall an optional causal read). Restores
   * and stores wait without limit: reading a partial store would be wrong, not just stale.
   */
  async catchUp(timeoutMs?: number): Promise<boolean> {
    const ends = await this.deps.log.endOffsets(this.topic);
    const target = new Map([...ends].map(([p, o]) => [p, BigInt(o)]));
    if (this.caughtUp(target)) return true;
    let timer: NodeJS.Timeout | undefined;
    const reached = new Promise<boolean>((resolve) => this.waiters.push({ target, resolve: () => resolve(true) }));
    if (timeoutMs === undefined) return reached;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([reached, gaveUp]);
    clearTimeout(timer);
    return result;
  }

  /** Stops its own reader; a shared one is its owner's to stop. */
  async stop(): Promise<void> {
    await this.ownReader?.stop();
  }

  private caughtUp(target: Map<number, bigint>): boolean {
    for (const [p, end] of target) if (end > 0n && (this.positions.get(p) ?? 0n) < end) return false;
    return true;
  }

  private async applyBatch(batch: ConsumedBatch): Promise<void> {
    for (const m of batch.messages) {
      if (m.key !== null && !(this.skipOwnWrites && m.headers[WRITER_HEADER] === this.deps.instanceId)) {
        const value = m.value === null ? null : ((await this.deps.serde.decode(this.topic, m.value)) as V);
        this.state.apply(m.key, value, m.timestamp, m.headers[APPLIED_HEADER]);
        this.onChange?.(m.key, value);
      }
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) this.positions.set(batch.partition, BigInt(last.offset) + 1n);
    this.waiters = this.waiters.filter((w) => (this.caughtUp(w.target) ? (w.resolve(), false) : true));
  }
}

/**
 * A store's view for one processing attempt: reads see the attempt's own writes first; the
 * writes reach the shared state (and the changelog) only if the attempt succeeds.
 */
export class StagedStore<V> implements StoreView<V> {
  readonly writes = new Map<string, V | null>();
  /** The headers an aggregation's write carries to the changelog (aggregate.ts), by key. */
  readonly writeHeaders = new Map<string, Record<string, string>>();

  constructor(private readonly state: KeyValueState<V>) {}

  get size(): number {
    return this.state.size;
  }

  get(key: string): V | undefined {
    if (this.writes.has(key)) return this.writes.get(key) ?? undefined;
    return this.state.get(key);
  }

  withPrefix(prefix: string): IterableIterator<[string, V]> {
    return this.state.withPrefix(prefix);
  }

  countWithPrefix(prefix: string): number {
    return this.state.countWithPrefix(prefix);
  }

  /** The committed entries (this attempt's writes are not among them). */
  entries(): IterableIterator<[string, V]> {
    return this.state.entries();
  }

  put(key: string, value: V | null): void {
    this.writes.set(key, value);
    this.writeHeaders.delete(key);
  }

  appliedOf(key: string): string | undefined {
    return this.writes.has(key) ? this.writeHeaders.get(key)?.[APPLIED_HEADER] : this.state.appliedOf(key);
  }

  /** An aggregation's write: the value and the headers (with what it applied) its changelog record carries. */
  putApplied(key: string, value: V, headers: Record<string, string>): void {
    this.writes.set(key, value);
    this.writeHeaders.set(key, headers);
  }

  /** `now`: the time the writes are stamped with in the changelog. */
  commit(now: number): void {
    for (const [k, v] of this.writes) this.state.apply(k, v, now, this.writeHeaders.get(k)?.[APPLIED_HEADER]);
  }
}
