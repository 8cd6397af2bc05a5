import type { HistoryPage, HistoryQuery, StoredMessage } from './message-store.js';

/**
 * The hot tier of data query: the latest messages of each conversation (a capped list, by
 * seq), written by the persistence writer after MongoDB so it never holds what the store lacks.
 * Implementations: memory (`make run`) and Redis (a sorted set per conversation).
 */
export interface RecentCache {
  append(messages: readonly StoredMessage[]): Promise<void>;
  /**
   * Replaces the cached copy of messages that changed (recalled, edited, reactions); one not
   * cached stays out, so the cache never holds a stray old message.
   */
  update(messages: readonly StoredMessage[]): Promise<void>;
  /**
   * Cached messages of a conversation with `lo <= seq <= hi`: ascending and at most `limit`
   * from `lo` upwards, or with `reverse`, descending from `hi` downwards.
   */
  range(conversationId: string, lo: number, hi: number, limit: number, reverse?: boolean): Promise<StoredMessage[]>;
  close(): Promise<void>;
}

export interface RecentCacheConfig {
  /** Messages kept per conversation. */
  perConversation: number;
  /** Idle conversations leave the cache after this long. */
  ttlSec: number;
}

const contiguous = (seqs: number[]): boolean => seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1);

/**
 * A history page from the cache when the cache can answer it exactly, else null (ask the
 * store). Exact means: the messages found are gap-free and start where the page starts
 * (forward), or fill the page or reach back to seq 1 (backward).
 */
export async function pageFromCache(cache: RecentCache, conversationId: string, q: HistoryQuery): Promise<HistoryPage | null> {
  const upper = q.beforeSeq === undefined ? Number.MAX_SAFE_INTEGER : q.beforeSeq - 1;
  if (q.afterSeq !== undefined) {
    const found = await cache.range(conversationId, q.afterSeq + 1, upper, q.limit + 1);
    if (found.length === 0 || found[0]!.seq !== q.afterSeq + 1 || !contiguous(found.map((m) => m.seq))) return null;
    return { messages: found.slice(0, q.limit), hasMore: found.length > q.limit };
  }
  const found = (await cache.range(conversationId, 1, upper, q.limit + 1, true)).reverse();
  if (found.length === 0 || !contiguous(found.map((m) => m.seq))) return null;
  // Seqs are gap-free from 1: a page that starts above 1 has older messages, cached or not.
  const page = found.slice(Math.max(0, found.length - q.limit));
  if (page.length < q.limit && page[0]!.seq !== 1) return null;
  return { messages: page, hasMore: page[0]!.seq > 1 };
}
