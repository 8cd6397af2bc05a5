import type { Redis } from 'ioredis';
import type { Presence, PresenceEntry } from './presence.js';

export interface RedisPresenceOptions {
  redis: Redis;
  /** Entries and liveness live this long without a heartbeat (the heartbeat timeout, 90 s). */
  ttlMs: number;
  /** Key prefix; tests use their own so runs never collide. */
  keyPrefix?: string;
  /** Whether close() quits the client (true when this presence owns it). */
  ownsClient?: boolean;
}

const CHUNK = 1_000;

/**
 * Presence in Redis, shared by every gateway and read by push orchestration.
 *
 * Keys (prefix `im:presence:`):
 * - `u:<user>`: hash connectionId -> JSON PresenceEntry; TTL renewed by its gateways' heartbeats.
 * - `gw:<id>`: the gateway's liveness, TTL = heartbeat timeout. Lookups drop entries whose
 *   gateway key has expired, so a crashed gateway's users read offline within the timeout even
 *   while another gateway of the same user keeps the user hash alive.
 * - `gw:<id>:conns`: hash connectionId -> user of that gateway: its set of users, kept exact on
 *   disconnect (a user may hold several connections there) and used by heartbeat/removeGateway.
 */
export function createRedisPresence(options: RedisPresenceOptions): Presence {
  const { redis, ttlMs } = options;
  const p = options.keyPrefix ?? 'im:presence:';
  const userKey = (u: string): string => `${p}u:${u}`;
  const liveKey = (gw: string): string => `${p}gw:${gw}`;
  const connsKey = (gw: string): string => `${p}gw:${gw}:conns`;

  const usersOf = async (gatewayId: string): Promise<Map<string, string>> => {
    const conns = await redis.hgetall(connsKey(gatewayId));
    return new Map(Object.entries(conns));
  };

  return {
    async connect(entry) {
      await redis
        .multi()
        .hset(userKey(entry.userId), entry.connectionId, JSON.stringify(entry))
        .pexpire(userKey(entry.userId), ttlMs)
        .hset(connsKey(entry.gatewayId), entry.connectionId, entry.userId)
        .pexpire(connsKey(entry.gatewayId), ttlMs)
        .set(liveKey(entry.gatewayId), '1', 'PX', ttlMs)
        .exec();
    },

    async disconnect(userId, connectionId) {
      const raw = await redis.hget(userKey(userId), connectionId);
      const tx = redis.multi().hdel(userKey(userId), connectionId);
      if (raw) tx.hdel(connsKey((JSON.parse(raw) as PresenceEntry).gatewayId), connectionId);
      await tx.exec();
    },

    async heartbeat(gatewayId) {
      const users = new Set((await usersOf(gatewayId)).values());
      await redis.multi().set(liveKey(gatewayId), '1', 'PX', ttlMs).pexpire(connsKey(gatewayId), ttlMs).exec();
      const list = [...users];
      for (let i = 0; i < list.length; i += CHUNK) {
        const pipe = redis.pipeline();
        for (const u of list.slice(i, i + CHUNK)) pipe.pexpire(userKey(u), ttlMs);
        await pipe.exec();
      }
    },

    async removeGateway(gatewayId) {
      const conns = [...(await usersOf(gatewayId)).entries()];
      for (let i = 0; i < conns.length; i += CHUNK) {
        const pipe = redis.pipeline();
        for (const [connectionId, userId] of conns.slice(i, i + CHUNK)) pipe.hdel(userKey(userId), connectionId);
        await pipe.exec();
      }
      await redis.del(liveKey(gatewayId), connsKey(gatewayId));
    },

    async lookup(userIds) {
      const out = new Map<string, PresenceEntry[]>();
      if (userIds.length === 0) return out;
      const pipe = redis.pipeline();
      for (const u of userIds) pipe.hvals(userKey(u));
      const replies = (await pipe.exec()) ?? [];
      const found: PresenceEntry[][] = [];
      const gateways = new Set<string>();
      replies.forEach(([err, vals], i) => {
        if (err) throw err;
        const entries = (vals as string[]).map((v) => JSON.parse(v) as PresenceEntry);
        found[i] = entries;
        for (const e of entries) gateways.add(e.gatewayId);
      });
      if (gateways.size === 0) return out;
      const gwList = [...gateways];
      const live = await redis.mget(gwList.map(liveKey));
      const alive = new Set(gwList.filter((_, i) => live[i] !== null));
      userIds.forEach((u, i) => {
        const entries = (found[i] ?? []).filter((e) => alive.has(e.gatewayId));
        if (entries.length > 0) out.set(u, entries);
      });
      return out;
    },

    async close() {
      if (options.ownsClient) await redis.quit();
    },
  };
}
