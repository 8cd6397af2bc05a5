/**
 * Presence (the Online Status Service): which connections each user has, on which gateway.
 * The gateway writes it on connect/disconnect and renews it with heartbeats; push
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

export interface Presence {
  connect(entry: PresenceEntry): Promise<void>;
  disconnect(userId: string, connectionId: string): Promise<void>;
  /** Renews this gateway's liveness (and its entries' TTL); called on the heartbeat cycle. */
  heartbeat(gatewayId: string): Promise<void>;
  /** Removes every entry of a gateway (graceful shutdown). */
  removeGateway(gatewayId: string): Promise<void>;
  /** Live connections of many users in one round trip; users without any are absent. */
  lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>>;
  close(): Promise<void>;
}
