import type { StoredMessage } from './message-store.js';
import type { RecentCache, RecentCacheConfig } from './recent-cache.js';

/** The recent-message cache in one process (`make run`, tests); no TTL, only the cap. */
export function createMemoryRecentCache(config: Pick<RecentCacheConfig, 'perConversation'>): RecentCache {
  const lists = new Map<string, Map<number, StoredMessage>>();
  return {
    async append(messages) {
      for (const m of messages) {
        let list = lists.get(m.conversationId);
        if (!list) lists.set(m.conversationId, (list = new Map()));
        list.set(m.seq, m);
        if (list.size > config.perConversation) {
          const seqs = [...list.keys()].sort((a, b) => a - b);
          for (const s of seqs.slice(0, list.size - config.perConversation)) list.delete(s);
        }
      }
    },
    async update(messages) {
      for (const m of messages) {
        const list = lists.get(m.conversationId);
        if (list?.has(m.seq)) list.set(m.seq, m);
      }
    },
    async range(conversationId, lo, hi, limit, reverse = false) {
      const all = [...(lists.get(conversationId)?.values() ?? [])].filter((m) => m.seq >= lo && m.seq <= hi).sort((a, b) => a.seq - b.seq);
      return reverse ? all.reverse().slice(0, limit) : all.slice(0, limit);
    },
    async close() {
      lists.clear();
    },
  };
}
