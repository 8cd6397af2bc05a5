import type { StatusStore } from './status.js';

/** Presence status in one process: for `make run` and tests. It cannot coalesce over several gateways. */
export function createMemoryStatusStore(options: { now?: () => number } = {}): StatusStore {
  const now = options.now ?? Date.now;
  const away = new Map<string, Set<string>>();
  const seenAt = new Map<string, number>();
  const slots = new Map<string, number>();
  const told = new Map<string, string>();
  const see = (userId: string, at: number): void => void seenAt.set(userId, Math.max(seenAt.get(userId) ?? 0, at));
  return {
    async setAway(userId, connectionId, isAway) {
      let set = away.get(userId);
      if (isAway) {
        if (!set) away.set(userId, (set = new Set()));
        set.add(connectionId);
      } else if (set?.delete(connectionId) && set.size === 0) away.delete(userId);
    },
    async awayOf(userIds) {
      return new Map(userIds.flatMap((u) => (away.has(u) ? [[u, new Set(away.get(u))] as const] : [])));
    },
    async closed(userId, connectionId, at) {
      await this.setAway(userId, connectionId, false);
      see(userId, at);
    },
    async seen(userIds, at) {
      for (const u of userIds) see(u, at);
    },
    async lastSeen(userIds) {
      return new Map(userIds.flatMap((u) => (seenAt.has(u) ? [[u, seenAt.get(u)!] as const] : [])));
    },
    async claim(userId, windowMs) {
      const free = slots.get(userId) ?? 0;
      const t = now();
      if (free > t) return free - t;
      slots.set(userId, t + windowMs);
      return 0;
    },
    async swapTold(userId, state) {
      const before = told.get(userId) ?? null;
      told.set(userId, state);
      return before;
    },
    async close() {
      away.clear();
      seenAt.clear();
      slots.clear();
      told.clear();
    },
  };
}
