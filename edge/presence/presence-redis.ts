import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CONNECT, conversationsAnswer, createRedisGroupRouting } from './group-routing-redis.js';
import type { Presence, PresenceEntry } from './presence.js';

export interface RedisPresenceOptions {
  redis: Redis;
  /** Entries and liveness live this long without a heartbeat (the heartbeat timeout, 90 s). */
  ttlMs: number;
  /** Key prefix; tests use their own so runs never collide. */
  keyPrefix?: string;
  /** Whether close() quits the client (true when this presence owns it). */
  ownsClient?: boolean;
  /** This process's incarnation of the gateways it writes for; a fresh one per instance by default. */
  incarnation?: string;
}

const CHUNK = 1_000;

/** A promise that never rejects, for one awaited later (an early rejection would go unhandled). */
const settle = <T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> => p.then((value) => ({ value }), (error: unknown) => ({ error }));

/** An entry as stored: with the incarnation of the gateway process that wrote it. */
type Stored = PresenceEntry & { inc?: string };

/**
 * Presence in Redis, shared by every gateway and read by push orchestration.
 *
 * Keys (prefix `im:presence:`):
 * - `u:<user>`: hash connectionId -> JSON entry; TTL renewed by its gateways' heartbeats.
 * - `gw:<id>`: the gateway's liveness, TTL = heartbeat timeout, holding the incarnation of the
 *   process that runs it. Lookups drop entries whose gateway key has expired (a crashed
 *   gateway's users read offline within the timeout even while another gateway of the same user
 *   keeps the user hash alive) and entries written by an earlier incarnation (a gateway killed
 *   and restarted with the same id: its predecessor's connections are gone at once).
 * - `gw:<id>:conns`: hash connectionId -> user of that gateway: its set of users, kept exact on
 *   disconnect (a user may hold several connections there) and used by heartbeat/removeGateway.
 *
 * The heartbeat re-writes every open connection's entry, so a Redis that restarted empty (or
 * lost keys) holds the gateway's presence again within one heartbeat, or at once on reconnect.
 * Group routing (group-routing-redis.ts) shares the prefix: a connect is one script that
 * registers the gateway for the user's groups and writes the entry.
 */
export function createRedisPresence(options: RedisPresenceOptions): Presence {
  const { redis, ttlMs } = options;
  const incarnation = options.incarnation ?? randomUUID();
  const p = options.keyPrefix ?? 'im:presence:';
  const userKey = (u: string): string => `${p}u:${u}`;
  const liveKey = (gw: string): string => `${p}gw:${gw}`;
  const connsKey = (gw: string): string => `${p}gw:${gw}:conns`;
  const stored = (e: PresenceEntry): string => JSON.stringify({ ...e, inc: incarnation } satisfies Stored);

  const usersOf = async (gatewayId: string): Promise<Map<string, string>> => {
    const conns = await redis.hgetall(connsKey(gatewayId));
    return new Map(Object.entries(conns));
  };

  // ioredis emits `ready` on every (re)connection; the client arrives connected, so each one
  // seen here is a reconnect after a loss.
  const reconnectListeners = new Set<() => void>();
  const onReady = (): void => {
    for (const l of reconnectListeners) l();
  };
  redis.on('ready', onReady);

  const { registerAll, ...routing } = createRedisGroupRouting(redis, p, ttlMs);

  return {
    ...routing,

    async connect(entry) {
      return conversationsAnswer(await redis.eval(CONNECT, 0, p, entry.userId, entry.connectionId, entry.gatewayId, stored(entry), ttlMs, incarnation));
    },

    async disconnect(userId, connectionId) {
      const raw = await redis.hget(userKey(userId), connectionId);
      const tx = redis.multi().hdel(userKey(userId), connectionId);
      if (raw) tx.hdel(connsKey((JSON.parse(raw) as PresenceEntry).gatewayId), connectionId);
      await tx.exec();
    },

    async heartbeat(gatewayId, entries, conversations = []) {
      // The gateway's conversations before its entries (same connection, issued first): a
      // member read online is routed here.
      const registered = settle(registerAll(gatewayId, conversations));
      // Issued before any await, so it sees exactly the connects made before this call: what it
      // lists and `entries` lacks was closed (or is a predecessor's), never opened since.
      // Liveness first: a lookup that sees a re-created entry also sees its gateway alive.
      const head = settle(redis.pipeline().set(liveKey(gatewayId), incarnation, 'PX', ttlMs).hgetall(connsKey(gatewayId)).exec());
      let recreated = 0;
      for (let i = 0; i < entries.length; i += CHUNK) {
        const chunk = entries.slice(i, i + CHUNK);
        const pipe = redis.pipeline();
        pipe.hset(connsKey(gatewayId), Object.fromEntries(chunk.map((e) => [e.connectionId, e.userId])));
        for (const e of chunk) pipe.hset(userKey(e.userId), e.connectionId, stored(e)).pexpire(userKey(e.userId), ttlMs);
        // Replies: the conns hset, then (hset, pexpire) per entry; an hset of 1 is a new field.
        const replies = (await pipe.exec()) ?? [];
        for (let j = 1; j < replies.length; j += 2) {
          const [err, added] = replies[j]!;
          if (err) throw err;
          recreated += Number(added);
        }
      }
      await redis.pexpire(connsKey(gatewayId), ttlMs);
      const registeredResult = await registered;
      if ('error' in registeredResult) throw registeredResult.error;
      const headResult = await head;
      if ('error' in headResult) throw headResult.error;
      const [setReply, listReply] = headResult.value ?? [];
      const headErr = setReply?.[0] ?? listReply?.[0];
      if (headErr) throw headErr;
      const listed = (listReply?.[1] ?? {}) as Record<string, string>;
      const open = new Set(entries.map((e) => e.connectionId));
      const stale = Object.entries(listed).filter(([connectionId]) => !open.has(connectionId));
      for (let i = 0; i < stale.length; i += CHUNK) {
        const pipe = redis.pipeline();
        for (const [connectionId, userId] of stale.slice(i, i + CHUNK)) pipe.hdel(userKey(userId), connectionId).hdel(connsKey(gatewayId), connectionId);
        await pipe.exec();
      }
      return { recreated, removed: stale.length };
    },

    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => void reconnectListeners.delete(listener);
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
      const found: Stored[][] = [];
      const gateways = new Set<string>();
      replies.forEach(([err, vals], i) => {
        if (err) throw err;
        const entries = (vals as string[]).map((v) => JSON.parse(v) as Stored);
        found[i] = entries;
        for (const e of entries) gateways.add(e.gatewayId);
      });
      if (gateways.size === 0) return out;
      const gwList = [...gateways];
      const live = await redis.mget(gwList.map(liveKey));
      const current = new Map(gwList.map((gw, i) => [gw, live[i] ?? null]));
      const superseded: Stored[] = [];
      userIds.forEach((u, i) => {
        const entries: PresenceEntry[] = [];
        for (const { inc, ...e } of found[i] ?? []) {
          const now = current.get(e.gatewayId) ?? null;
          if (now === null) continue;
          // Entries without an incarnation predate it; they count while their gateway lives.
          if (inc === undefined || inc === now) entries.push(e);
          else superseded.push({ ...e, inc });
        }
        if (entries.length > 0) out.set(u, entries);
      });
      if (superseded.length > 0) {
        // Left by a gateway process that was killed and restarted under the same id, in user
        // hashes another gateway keeps alive: never valid again, so dropped here.
        const del = redis.pipeline();
        for (const e of superseded) del.hdel(userKey(e.userId), e.connectionId);
        void del.exec().catch(() => {});
      }
      return out;
    },

    async close() {
      redis.off('ready', onReady);
      reconnectListeners.clear();
      if (options.ownsClient) await redis.quit();
    },
  };
}
