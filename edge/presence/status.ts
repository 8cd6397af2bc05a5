/**
 * What presence for people needs beyond the connections (presence.ts): which connections are
 * away, when each user was last seen, and the bookkeeping that keeps presence events coalesced
 * over every gateway process: a per-user event slot (one event a window) and the state last
 * told to friends (an unchanged state is not told again). Implementations: memory (one
 * process), Redis (shared by the gateways).
 */
export interface StatusStore {
  /** Marks a connection away or active; kept while the connection lives (the presence TTL). */
  setAway(userId: string, connectionId: string, away: boolean): Promise<void>;
  /** The away connections of each user (users with none are absent). */
  awayOf(userIds: readonly string[]): Promise<Map<string, Set<string>>>;
  /** A connection ended: its away mark goes, and its user was seen `at`. */
  closed(userId: string, connectionId: string, at: number): Promise<void>;
  /** These users were connected `at` (each heartbeat): last seen is never older than one interval. */
  seen(userIds: readonly string[], at: number): Promise<void>;
  lastSeen(userIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Claims the user's event slot for `windowMs`: 0 when this caller got it, otherwise the ms
   * until it frees. Whoever holds the slot tells friends; the others wait for it.
   */
  claim(userId: string, windowMs: number): Promise<number>;
  /** Records `told` as the state last told to the user's friends; answers the one before (null: none). */
  swapTold(userId: string, told: string): Promise<string | null>;
  close(): Promise<void>;
}
