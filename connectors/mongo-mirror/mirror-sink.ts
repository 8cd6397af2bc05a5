import { PoisonError, errorMessage } from '../../core/errors.js';
import { FailureStretchLog, retryLogged } from '../../core/failure-stretch-log.js';
import { type Logger, createLogger } from '../../core/logger.js';
import { counter } from '../../core/metrics.js';
import type { TopicSerde } from '../../schemas/serde.js';
import type { ConsumedBatch, LogClient, LogConsumer } from '../../streams/index.js';
import { MIRRORED_TOPICS, type MirrorStore, type MirrorWrite } from './mirror-store.js';

export interface MirrorSinkOptions {
  log: LogClient;
  serde: TopicSerde;
  store: MirrorStore;
  /** Consumer group; its committed offsets let a restart resume instead of re-reading all. */
  groupId: string;
  logger?: Logger;
  retryInitialMs?: number;
  retryMaxMs?: number;
}

const applied = counter('im_mirror_writes_total', 'State records applied to the query mirror', ['topic', 'kind']);

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
      topics: [...MIRRORED_TOPICS],
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
    const options = { retries: Number.MAX_SAFE_INTEGER, initialDelayMs: this.options.retryInitialMs ?? 100, maxDelayMs: this.options.retryMaxMs ?? 5_000, signal: this.abort.signal };
    await retryLogged(this.failureLog(topic), () => this.options.store.apply(writes), options, writes.length);
    for (const w of writes) applied.inc({ topic, kind: w.value === null ? 'delete' : 'upsert' });
  }
}
