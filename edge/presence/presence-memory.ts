import type { Presence, PresenceEntry, UserGateways } from './presence.js';

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
  // Group routing: the memberships both ways, each conversation's gateways; the memberships
  // start missing, as in a Redis that never had them, until rebuilt.
  const memberOf = new Map<string, Set<string>>();
  const membersOf = new Map<string, Set<string>>();
  /** Conversation -> gateway -> when it last registered. */
  const gatewaysOf = new Map<string, Map<string, number>>();
  let built = false;

  const online = (userId: string): boolean => {
    for (const e of users.get(userId)?.values() ?? []) if (alive(e.gatewayId)) return true;
    return false;
  };
  const register = (gatewayId: string, conversationId: string): void => {
    let gws = gatewaysOf.get(conversationId);
    if (!gws) gatewaysOf.set(conversationId, (gws = new Map()));
    gws.set(gatewayId, now());
  };
  const conversationsOf = (userId: string, gatewayId: string): string[] | null => {
    if (!built) return null;
    const convs = [...(memberOf.get(userId) ?? [])];
    for (const c of convs) register(gatewayId, c);
    return convs;
  };
  const setMember = (userId: string, conversationId: string, member: boolean): void => {
    for (const [index, key, value] of [[memberOf, userId, conversationId], [membersOf, conversationId, userId]] as const) {
      let set = index.get(key);
      if (member) {
        if (!set) index.set(key, (set = new Set()));
        set.add(value);
      } else if (set?.delete(value) && set.size === 0) index.delete(key);
    }
  };
  const change = (conversationId: string, userIds: readonly string[], joining: boolean): UserGateways => {
    const out: UserGateways = new Map();
    for (const userId of userIds) {
      setMember(userId, conversationId, joining);
      const gateways = new Set([...(users.get(userId)?.values() ?? [])].map((e) => e.gatewayId).filter(alive));
      for (const gw of gateways) {
        if (joining) register(gw, conversationId);
        const list = out.get(gw);
        if (list) list.push(userId);
        else out.set(gw, [userId]);
      }
    }
    return out;
  };

  return {
    async connect(entry) {
      const convs = conversationsOf(entry.userId, entry.gatewayId);
      let conns = users.get(entry.userId);
      if (!conns) users.set(entry.userId, (conns = new Map()));
      conns.set(entry.connectionId, { ...entry });
      gatewayExpiry.set(entry.gatewayId, now() + options.ttlMs);
      return convs;
    },
    async conversationsOf(userId, gatewayId) {
      return conversationsOf(userId, gatewayId);
    },
    async route(conversationId) {
      if (!built) return null;
      const members = membersOf.get(conversationId) ?? new Set<string>();
      const offline: string[] = [];
      for (const userId of members) if (!online(userId)) offline.push(userId);
      const gws = gatewaysOf.get(conversationId) ?? new Map<string, number>();
      for (const [gw, at] of gws) if (!alive(gw) || at < now() - options.ttlMs) gws.delete(gw);
      return { offline, gateways: [...gws.keys()], members: members.size };
    },
    async join(conversationId, userIds) {
      return change(conversationId, userIds, true);
    },
    async leave(conversationId, userIds) {
      return change(conversationId, userIds, false);
    },
    async forget(conversationId) {
      for (const userId of [...(membersOf.get(conversationId) ?? [])]) setMember(userId, conversationId, false);
      gatewaysOf.delete(conversationId);
    },
    async rebuild(memberships, settled) {
      const written = [...memberships];
      // As joins: the online members' gateways registered too.
      for (const [userId, conversationId] of written) change(conversationId, [userId], true);
      const stillMember = await settled();
      for (const [userId, conversationId] of written) if (!stillMember(userId, conversationId)) setMember(userId, conversationId, false);
      built = true;
    },
    async disconnect(userId, connectionId) {
      const conns = users.get(userId);
      conns?.delete(connectionId);
      if (conns?.size === 0) users.delete(userId);
    },
    async heartbeat(gatewayId, entries, conversations = []) {
      for (const c of conversations) register(gatewayId, c);
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
      memberOf.clear();
      membersOf.clear();
      gatewaysOf.clear();
    },
  };
}
