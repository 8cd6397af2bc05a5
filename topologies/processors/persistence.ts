import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { counter, histogram } from '../../core/metrics.js';
import { retry } from '../../core/retry.js';
import type { MessageStore } from '../../connectors/message-store/message-store.js';
import { toStored } from '../../connectors/message-store/message-store.js';
import { MicroBatcher, type MicroBatcherConfig } from '../../connectors/message-store/micro-batcher.js';
import type { RecentCache } from '../../connectors/message-store/recent-cache.js';
import type { StampedMessage } from '../../schemas/types.generated.js';
import type { ProcessorBuilder } from '../runtime/topology.js';

export interface PersistenceDeps {
  store: MessageStore;
  /** The hot tier for queries; written after the store so it never holds what the store lacks. */
  recent?: RecentCache;
}

export interface PersistenceConfig extends MicroBatcherConfig {
  /**
   * Retries of a failed bulk write before the records fail to the runtime (whose own retries end
   * in the dead-letter topic). Large by default: while MongoDB is down the writer should stall
   * and lag, not dead-letter messages; sending is unaffected (own consumer group).
   */
  writeRetries?: number;
  writeRetryMaxMs?: number;
}

const written = counter('im_persistence_messages_total', 'Stamped messages handled by the persistence writer, by outcome', ['outcome'] as const);
const logger = createLogger('persistence');
const batchSize = histogram('im_persistence_batch_size', 'Messages per bulk write of the persistence writer', [] as const, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);

/**
 * The persistence writer (seed 000's persistence pipeline): every stamped message into the
 * message store in bulk, idempotently, in its own consumer group so sending never waits for
 * the database. Each record's step resolves only when its batch is written, and the runtime
 * commits offsets only after every step of a consumer batch resolved: nothing is acknowledged
 * before it is durable. A failed batch fails each record's step, which the runtime retries.
 */
export function persistence(deps: PersistenceDeps, config: PersistenceConfig) {
  return (p: ProcessorBuilder): void => {
    const retries = { retries: config.writeRetries ?? 1_000, initialDelayMs: 50, maxDelayMs: config.writeRetryMaxMs ?? 5_000, onRetry: (err: unknown, attempt: number) => {
      written.inc({ outcome: 'write_retry' });
      if (attempt % 10 === 1) logger.warn('persistence write failed; retrying', { attempt, error: errorMessage(err) });
    } };
    const batcher = new MicroBatcher<StampedMessage>(async (messages) => {
      const result = await retry(() => deps.store.writeBatch(messages), retries);
      await retry(async () => deps.recent?.append(messages.map(toStored)), retries);
      batchSize.observe(messages.length);
      written.inc({ outcome: 'inserted' }, result.inserted);
      written.inc({ outcome: 'duplicate' }, result.duplicates);
    }, config);
    p.stream('im.msg.stamped').process([], async (r) => {
      await batcher.add(r.value);
      return [];
    }, 'persist');
  };
}
