import { PoisonError, errorMessage } from '../../core/errors.js';
import { FailureStretchLog, retryLogged } from '../../core/failure-stretch-log.js';
import { type Logger, createLogger } from '../../core/logger.js';
import { counter } from '../../core/metrics.js';
import type { TopicSerde } from '../../schemas/serde.js';
import type { ConsumedBatch, LogClient, LogConsumer } from '../../streams/index.js';
import type { MessageStore, ReceiptPositionMove } from '../message-store/message-store.js';
import { readPositionKey } from '../../domain/conversations.js';
import type { ReadState } from '../../schemas/types.generated.js';
import { MIRRORED_TOPICS, type MirrorStore, type MirrorWrite } from './mirror-store.js';

export interface MirrorSinkOptions {
  log: LogClient;
  serde: TopicSerde;
  store: MirrorStore;
  /**
   * Where read and delivered positions go (`im.state.reads`, the receipts processor's store), for
   * the conversation list's unread counts and the receipts queries; not followed when absent.
   */
  positions?: Pick<MessageStore, 'movePositions'>;
  /** Consumer group; its committed offsets let a restart resume instead of re-reading all. */
  groupId: string;
  logger?: Logger;
  retryInitialMs?: number;
  retryMaxMs?: number;
}

const applied = counter('im_mirror_writes_total', 'State records applied to the query mirror', ['topic', 'kind']);

const READ_POSITIONS = 'im.state.reads';

/** The positions a batch of `im.state.reads` records leaves: the furthest per key (tombstones have none to move). */
export function positionMoves(states: readonly (ReadState | null)[]): ReceiptPositionMove[] {
  const furthest = new Map<string, ReceiptPositionMove>();
  for (const s of states) {
    if (!s) continue;
    const key = readPositionKey(s.conversationId, s.userId);
    const before = furthest.get(key);
    const readSeq = Math.max(before?.readSeq ?? 0, s.readSeq);
    furthest.set(key, { conversationId: s.conversationId, userId: s.userId, readSeq, deliveredSeq: Math.max(readSeq, before?.deliveredSeq ?? 0, s.deliveredSeq ?? 0) });
  }
  return [...furthest.values()];
}

/**
 * A sink connector from the compacted state topics to the mirror. Not a stream processor: the
 * stream runtime treats a tombstone on a stream as poison, while here a tombstone is the
 * delete. Each batch is applied, retried until the store takes it, and only then committed,
 * so the mirror converges on the topics (at-least-once, and applying twice is harmless).
 */
export class MirrorSink {
  private consumer: LogConsumer | undefined;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  /** While MongoDB is away every batch fails: told once per stretch, per topic (`FailureStretchLog`). */
  private readonly failures = new Map<string, FailureStretchLog>();

  constructor(private readonly options: MirrorSinkOptions) {
    this.logger = options.logger ?? createLogger('mongo-mirror');
  }

  private failureLog(topic: string): FailureStretchLog {
    let log = this.failures.get(topic);
    if (!log) this.failures.set(topic, (log = new FailureStretchLog({ logger: this.logger, what: 'mirror write failed; retrying', counting: 'records', summaryEveryMs: 30_000, now: Date.now, fields: { topic } })));
    return log;
  }

  async start(): Promise<void> {
    this.consumer = this.options.log.consumer({
      groupId: this.options.groupId,
      topics: [...MIRRORED_TOPICS, ...(this.options.positions ? [READ_POSITIONS] : [])],
      fromBeginning: true,
      commit: true,
      partitionsConcurrency: 4,
      eachBatch: (batch) => this.applyBatch(batch),
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.consumer?.stop();
  }

  private async applyBatch(batch: ConsumedBatch): Promise<void> {
    if (batch.topic === READ_POSITIONS) return this.applyPositions(batch);
    const topic = batch.topic as MirrorWrite['topic'];
    const writes: MirrorWrite[] = [];
    for (const m of batch.messages) {
      if (m.key === null) continue;
      try {
        const value = m.value === null ? null : await this.options.serde.decode(topic, m.value);
        writes.push({ topic, key: m.key, value } as MirrorWrite);
      } catch (err) {
        // A record that cannot be decoded never will be; the next write of its key repairs the mirror.
        if (!(err instanceof PoisonError)) throw err;
        this.logger.error('undecodable state record skipped', { topic, partition: batch.partition, offset: m.offset, error: errorMessage(err) });
      }
    }
    if (writes.length === 0) return;
    await retryLogged(this.failureLog(topic), () => this.options.store.apply(writes), this.retryOptions(), writes.length);
    for (const w of writes) applied.inc({ topic, kind: w.value === null ? 'delete' : 'upsert' });
  }

  /**
   * A group's positions move a member at a time (a DELIVERED per member and second): one bulk
   * per batch here instead of a database round trip per record in the receipts processor.
   */
  private async applyPositions(batch: ConsumedBatch): Promise<void> {
    const states: (ReadState | null)[] = [];
    for (const m of batch.messages) {
      try {
        states.push(m.value === null ? null : await this.options.serde.decode(READ_POSITIONS, m.value));
      } catch (err) {
        if (!(err instanceof PoisonError)) throw err;
        this.logger.error('undecodable state record skipped', { topic: READ_POSITIONS, partition: batch.partition, offset: m.offset, error: errorMessage(err) });
      }
    }
    const moves = positionMoves(states);
    if (moves.length === 0 || !this.options.positions) return;
    const positions = this.options.positions;
    await retryLogged(this.failureLog(READ_POSITIONS), () => positions.movePositions(moves), this.retryOptions(), moves.length);
    applied.inc({ topic: READ_POSITIONS, kind: 'upsert' }, moves.length);
  }

  private retryOptions() {
    return { retries: Number.MAX_SAFE_INTEGER, initialDelayMs: this.options.retryInitialMs ?? 100, maxDelayMs: this.options.retryMaxMs ?? 5_000, signal: this.abort.signal };
  }
}
