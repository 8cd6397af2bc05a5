import type { Presence, PresenceEntry } from './presence.js';

export interface MemoryPresenceOptions {
  /** How long a gateway's entries stay visible without a heartbeat (the heartbeat timeout). */
  ttlMs: number;
  /** Injected clock for tests. */
  now?: () => number;
}

/**
 * Presence in one process, for `make run` and tests. Same semantics as the Redis one: an entry
 * is visible while its gateway's liveness has not expired. What it cannot do: be shared by
 * several processes, so it only serves a single-gateway deployment.
 */
export function createMemoryPresence(options: MemoryPresenceOptions): Presence {
  const now = options.now ?? Date.now;
  const users = new Map<string, Map<string, PresenceEntry>>();
  const gatewayExpiry = new Map<string, number>();
  const alive = (gatewayId: string): boolean => (gatewayExpiry.get(gatewayId) ?? 0) > now();

  return {
    async connect(entry) {
      let conns = users.get(entry.userId);
      if (!conns) users.set(entry.userId, (conns = new Map()));
      conns.set(entry.connectionId, { ...entry });
      gatewayExpiry.set(entry.gatewayId, now() + options.ttlMs);
    },
    async disconnect(userId, connectionId) {
      const conns = users.get(userId);
      conns?.delete(connectionId);
      if (conns?.size === 0) users.delete(userId);
    },
    async heartbeat(gatewayId, entries) {
      gatewayExpiry.set(gatewayId, now() + options.ttlMs);
      let recreated = 0;
      let removed = 0;
      const open = new Set<string>();
      for (const e of entries) {
        open.add(e.connectionId);
        let conns = users.get(e.userId);
        if (!conns) users.set(e.userId, (conns = new Map()));
        if (!conns.has(e.connectionId)) recreated++;
        conns.set(e.connectionId, { ...e });
      }
      for (const [userId, conns] of users) {
        for (const [id, e] of conns) if (e.gatewayId === gatewayId && !open.has(id) && conns.delete(id)) removed++;
        if (conns.size === 0) users.delete(userId);
      }
      return { recreated, removed };
    },
    // One process: the store cannot go away and come back.
    onReconnect() {
      return () => {};
    },
    async removeGateway(gatewayId) {
      gatewayExpiry.delete(gatewayId);
      for (const [userId, conns] of users) {
        for (const [id, e] of conns) if (e.gatewayId === gatewayId) conns.delete(id);
        if (conns.size === 0) users.delete(userId);
      }
    },
    async lookup(userIds) {
      const out = new Map<string, PresenceEntry[]>();
      for (const userId of userIds) {
        const live = [...(users.get(userId)?.values() ?? [])].filter((e) => alive(e.gatewayId)).map((e) => ({ ...e }));
        if (live.length > 0) out.set(userId, live);
      }
      return out;
    },
    async close() {
      users.clear();
      gatewayExpiry.clear();
    },
  };
}
