/**
 * Presence (the Online Status Service): which connections each user has, on which gateway.
 * The gateway writes it on connect/disconnect and re-asserts it with heartbeats; push
 * orchestration reads it in batches. Entries expire with their gateway's liveness, so a
 * crashed gateway's users read as offline within the TTL. Implementations: memory, Redis.
 */
export interface PresenceEntry {
  userId: string;
  connectionId: string;
  gatewayId: string;
  deviceId: string;
  connectedAt: number;
}

/** What a heartbeat changed in the store. */
export interface HeartbeatResult {
  /** Entries of open connections the store had lost (restarted, flushed), written back. */
  recreated: number;
  /** Entries of this gateway the store held but the gateway no longer has (a predecessor's, or a missed disconnect). */
  removed: number;
}

/**
 * Live group delivery (one topic per group conversation on each gateway, its members'
 * connections subscribed): the memberships both ways (each user's group conversations, each
 * conversation's members; written by push orchestration in message order) and, per
 * conversation, the gateways holding a connection of a member (registered by the gateways at
 * connect, for a join, and again by every heartbeat, so a gateway whose members are gone drops
 * out within the TTL). A message then goes to those gateways, once each, and the store itself
 * tells which members are offline: nothing about a group's members travels per message. The
 * store may be rebuilt (first start, a Redis that lost its data): while the memberships are
 * missing, the reads that need them answer null.
 */
export interface GroupRouting {
  /**
   * The user's group conversations, having registered `gatewayId` as holding a member of each;
   * null while the memberships are missing (ask again later).
   */
  conversationsOf(userId: string, gatewayId: string): Promise<string[] | null>;
  /**
   * The members with no live connection (offline push), then the live gateways holding a member:
   * read in that order, so a member found online is on one of those gateways. Nothing comes back
   * per online member. null while the memberships are missing.
   */
  route(conversationId: string): Promise<GroupRoute | null>;
  /** Members joined: records the memberships; answers where those online are (their gateways are registered). */
  join(conversationId: string, userIds: readonly string[]): Promise<UserGateways>;
  /** Members gone: forgets the memberships; answers where those online are. */
  leave(conversationId: string, userIds: readonly string[]): Promise<UserGateways>;
  /** The conversation is over (group disbanded): its memberships and gateways are forgotten. */
  forget(conversationId: string): Promise<void>;
  /**
   * Rebuilds the memberships from the whole membership table: what `memberships` yields is
   * recorded as joins (registering the gateways of the members online, whose connections may
   * still be waiting for their groups), then `settled` (the table caught up again) says which of
   * them still hold, and the others are taken back: a removal processed meanwhile must win.
   * Memberships are present afterwards.
   */
  rebuild(memberships: Iterable<readonly [userId: string, conversationId: string]>, settled: () => Promise<(userId: string, conversationId: string) => boolean>): Promise<void>;
}

/** Where a group message goes: the members with no connection, and the gateways to publish on. */
export interface GroupRoute {
  offline: string[];
  gateways: string[];
  /** How many members the conversation has. */
  members: number;
}

/** Gateway id -> the users of a membership change connected there. */
export type UserGateways = Map<string, string[]>;

export interface Presence extends GroupRouting {
  /**
   * Adds a connection and answers its user's group conversations (as `conversationsOf`, in the
   * same step: whoever finds the user online finds the gateway registered for them).
   */
  connect(entry: PresenceEntry): Promise<string[] | null>;
  disconnect(userId: string, connectionId: string): Promise<void>;
  /**
   * Renews this gateway's liveness and makes the store hold exactly `entries`, the gateway's open
   * connections as of the call: missing ones are re-created, others of this gateway removed.
   * The gateway is the truth; the store is rebuilt from it. The first call of a gateway process
   * also supersedes whatever an earlier process with the same gateway id left behind.
   * `conversations`: the group conversations with a subscriber here, registered again first.
   */
  heartbeat(gatewayId: string, entries: readonly PresenceEntry[], conversations?: readonly string[]): Promise<HeartbeatResult>;
  /**
   * Calls `listener` each time the store's connection comes back after a loss (the store may
   * have restarted empty), so the gateway re-asserts its entries at once. Returns an unsubscribe.
   */
  onReconnect(listener: () => void): () => void;
  /** Removes every entry of a gateway (graceful shutdown). */
  removeGateway(gatewayId: string): Promise<void>;
  /** Live connections of many users in one round trip; users without any are absent. */
  lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>>;
  close(): Promise<void>;
}
