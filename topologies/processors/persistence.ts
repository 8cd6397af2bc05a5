import { FailureStretchLog, retryLogged } from '../../core/failure-stretch-log.js';
import { createLogger } from '../../core/logger.js';
import { counter, histogram } from '../../core/metrics.js';
import type { MessageStore } from '../../connectors/message-store/message-store.js';
import { toStored } from '../../connectors/message-store/message-store.js';
import type { RecentCache } from '../../connectors/message-store/recent-cache.js';
import type { StampedMessage } from '../../schemas/types.generated.js';
import type { ProcessorBuilder } from '../../streams/index.js';

export interface PersistenceDeps {
  store: MessageStore;
  /** The hot tier for queries; written after the store so it never holds what the store lacks. */
  recent?: RecentCache;
}

export interface PersistenceConfig {
  /** Messages per bulk write; a larger consumer batch is written in chunks of this size. */
  maxItems: number;
  /** How long a bulk waits for other partitions' batches before it is written (0: the same turn only). */
  lingerMs?: number;
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
 * The persistence writer: every stamped message into the
 * message store in bulk, idempotently, in its own consumer group so sending never waits for
 * the database. One bulk write per consumed batch (the runtime's forEachBatch sink step), and
 * the runtime commits the batch's offsets only after the write: nothing is acknowledged
 * before it is durable. Batches of one partition are written one after another, and a
 * conversation lives on one partition, so writes to one conversation document never race
 * (FerretDB's updates are not atomic read-modify-writes across writers).
 */
export function persistence(deps: PersistenceDeps, config: PersistenceConfig) {
  return (p: ProcessorBuilder): void => {
    const retries = { retries: config.writeRetries ?? 1_000, initialDelayMs: 50, maxDelayMs: config.writeRetryMaxMs ?? 5_000, onRetry: () => void written.inc({ outcome: 'write_retry' }) };
    // While the database is away every partition's writes fail: told once per stretch.
    const failures = new FailureStretchLog({ logger, what: 'persistence write failed; retrying', counting: 'messages', summaryEveryMs: 30_000, now: Date.now });
    const retryWrite = <T>(fn: () => Promise<T>, count = 1): Promise<T> => retryLogged(failures, fn, retries, count);
    /**
     * Change events (recall, edit, reactions, delete for me) after the batch holding them is
     * stored: their targets are in the same conversation with a lower seq, so stored already
     * (delete for me names another conversation, so it is a separate per-user record).
     */
    const applyChanges = async (messages: StampedMessage[]): Promise<void> => {
      const events = messages.filter((m) => m.action);
      if (events.length === 0) return;
      const hides = events.flatMap((e) => (e.action?.kind === 'DELETE_FOR_ME' ? [{ userId: e.sender, conversationId: e.action.targetConversationId, seq: e.action.targetSeq }] : []));
      await retryWrite(() => deps.store.hide(hides));
      const changed = await retryWrite(() => deps.store.applyChanges(events));
      await retryWrite(async () => deps.recent?.update(changed));
      written.inc({ outcome: 'change' }, events.length);
    };
    const write = async (all: StampedMessage[]): Promise<void> => {
      for (let i = 0; i < all.length; i += config.maxItems) {
        const messages = all.slice(i, i + config.maxItems);
        const result = await retryWrite(() => deps.store.writeBatch(messages), messages.length);
        await retryWrite(async () => deps.recent?.append(messages.map(toStored)));
        await applyChanges(messages);
        batchSize.observe(messages.length);
        written.inc({ outcome: 'inserted' }, result.inserted);
        written.inc({ outcome: 'duplicate' }, result.duplicates);
      }
    };
    const commit = groupCommit(write, config.lingerMs ?? 0);
    p.stream('im.msg.stamped').forEachBatch((records) => commit(records.map((r) => r.value)), 'persist');
  };
}

/**
 * Group commit: the batches of several partitions that arrive within `lingerMs` of the first, or
 * while a write is in flight, go to the database as one bulk, each caller resolved once its
 * messages are in. Written per partition batch, the writer sent bulks of three messages on
 * average at 100 msg/s (1,081 insert commands for 3,305 messages), and each command costs
 * FerretDB and its PostgreSQL far more than its documents do; gathering only what arrived in
 * one turn of the event loop left that at 3.4. The wait delays storing, not delivery (the
 * message went out live before). At most one bulk is in flight, so
 * a partition's next batch (held by the runtime until this one resolves) never races its last,
 * and a conversation's writes stay in order. A bulk that fails after its retries is written
 * again one caller at a time, so a bad batch fails alone and its neighbours are stored.
 */
export function groupCommit<T>(write: (items: T[]) => Promise<void>, lingerMs = 0): (items: T[]) => Promise<void> {
  type Waiter = { items: T[]; resolve: () => void; reject: (err: unknown) => void };
  let queued: Waiter[] = [];
  let draining: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    await new Promise<void>((resolve) => (lingerMs > 0 ? setTimeout(resolve, lingerMs) : setImmediate(resolve)));
    while (queued.length > 0) {
      const group = queued;
      queued = [];
      try {
        await write(group.flatMap((w) => w.items));
        for (const w of group) w.resolve();
      } catch (err) {
        if (group.length === 1) group[0]!.reject(err);
        else for (const w of group) await write(w.items).then(w.resolve, w.reject);
      }
    }
    draining = undefined;
  };
  return (items) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ items, resolve, reject });
      draining ??= drain();
    });
}
