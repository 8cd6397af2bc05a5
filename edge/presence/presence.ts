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

export interface Presence {
  connect(entry: PresenceEntry): Promise<void>;
  disconnect(userId: string, connectionId: string): Promise<void>;
  /**
   * Renews this gateway's liveness and makes the store hold exactly `entries`, the gateway's open
   * connections as of the call: missing ones are re-created, others of this gateway removed.
   * The gateway is the truth; the store is rebuilt from it. The first call of a gateway process
   * also supersedes whatever an earlier process with the same gateway id left behind.
   */
  heartbeat(gatewayId: string, entries: readonly PresenceEntry[]): Promise<HeartbeatResult>;
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
