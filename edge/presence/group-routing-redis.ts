import type { Redis } from 'ioredis';
import { chunked } from '../../core/chunked.js';
import type { GroupRoute, GroupRouting, UserGateways } from './presence.js';

/**
 * Group routing in Redis, beside presence (same client, same key prefix), so a connect can
 * register its gateway and write its entry in one script: whoever reads the user online then
 * finds the gateway registered.
 *
 * Keys (after the presence prefix):
 * - `mo:<user>`: set of the user's group conversations; `cm:<conversation>`: set of its
 *   members. Both written by push orchestration, in message order.
 * - `cg:<conversation>`: hash gateway id -> when it last registered (Redis time, ms): a gateway
 *   holding a connection of a member, registered at connect, for a join and by each heartbeat.
 *   Read, it drops gateways whose liveness expired or that have not registered within the TTL
 *   (their members left): no gateway ever unregisters itself, so none can race a join.
 * - `mo-built`: present once the memberships are complete; a Redis that lost its data lacks it,
 *   and the orchestrator rebuilds them from its membership table.
 *
 * The scripts name keys they build from their arguments (as presence's pipelines do): one
 * Redis, not a cluster.
 */
const BUILT = 'mo-built';

const NOW_MS = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;

/** `conversations(p, user, gw)`: the user's conversations, the gateway registered for each; nil while not built. */
const CONVERSATIONS_LUA = `${NOW_MS}
local function conversations(p, user, gw)
  if redis.call('EXISTS', p .. '${BUILT}') == 0 then return nil end
  local convs = redis.call('SMEMBERS', p .. 'mo:' .. user)
  local now = nowMs()
  for i = 1, #convs do redis.call('HSET', p .. 'cg:' .. convs[i], gw, now) end
  return convs
end
local function answer(convs)
  if convs == nil then return {'0'} end
  table.insert(convs, 1, '1')
  return convs
end`;

/** ARGV: prefix, user, gateway. */
const CONVERSATIONS_OF = `${CONVERSATIONS_LUA}
return answer(conversations(ARGV[1], ARGV[2], ARGV[3]))`;

/** ARGV: prefix, user, connection, gateway, stored entry, ttl ms, incarnation. The gateway registered before the entry is written. */
export const CONNECT = `${CONVERSATIONS_LUA}
local p, user, conn, gw = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local convs = conversations(p, user, gw)
redis.call('HSET', p .. 'u:' .. user, conn, ARGV[5])
redis.call('PEXPIRE', p .. 'u:' .. user, ARGV[6])
redis.call('HSET', p .. 'gw:' .. gw .. ':conns', conn, user)
redis.call('PEXPIRE', p .. 'gw:' .. gw .. ':conns', ARGV[6])
redis.call('SET', p .. 'gw:' .. gw, ARGV[7], 'PX', ARGV[6])
return answer(convs)`;

/**
 * ARGV: prefix, conversation, cursor, count, ttl ms. One stretch of the members (SSCAN): those
 * without any presence entry. With the last stretch, in the same step, the live gateways (dead or
 * unregistered ones removed) and the member count. Reply: {next cursor, offline, gateways,
 * members}; nil while not built.
 */
const ROUTE = `${NOW_MS}
local p, c = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. '${BUILT}') == 0 then return nil end
local scan = redis.call('SSCAN', p .. 'cm:' .. c, ARGV[3], 'COUNT', ARGV[4])
local offline = {}
for _, user in ipairs(scan[2]) do
  if redis.call('EXISTS', p .. 'u:' .. user) == 0 then offline[#offline + 1] = user end
end
local live = {}
local members = 0
if scan[1] == '0' then
  local key = p .. 'cg:' .. c
  local oldest = nowMs() - tonumber(ARGV[5])
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local gw = flat[i]
    if tonumber(flat[i + 1]) >= oldest and redis.call('EXISTS', p .. 'gw:' .. gw) == 1 then live[#live + 1] = gw else redis.call('HDEL', key, gw) end
  end
  members = redis.call('SCARD', p .. 'cm:' .. c)
end
return {scan[1], offline, live, members}`;

/**
 * ARGV: prefix, conversation, '1' to join or '0' to leave, users...: the memberships written,
 * then [gateway, user, ...] for each live gateway of each user (registered for a join).
 */
const CHANGE = `${NOW_MS}
local p, c, joining = ARGV[1], ARGV[2], ARGV[3] == '1'
local now = nowMs()
local out = {}
local live = {}
for i = 4, #ARGV do
  local user = ARGV[i]
  if joining then
    redis.call('SADD', p .. 'mo:' .. user, c)
    redis.call('SADD', p .. 'cm:' .. c, user)
  else
    redis.call('SREM', p .. 'mo:' .. user, c)
    redis.call('SREM', p .. 'cm:' .. c, user)
  end
  local seen = {}
  for _, v in ipairs(redis.call('HVALS', p .. 'u:' .. user)) do
    local e = cjson.decode(v)
    local gw = e.gatewayId
    if live[gw] == nil then live[gw] = redis.call('GET', p .. 'gw:' .. gw) or false end
    local inc = e.inc
    if live[gw] and not seen[gw] and (type(inc) ~= 'string' or inc == live[gw]) then
      seen[gw] = true
      if joining then redis.call('HSET', p .. 'cg:' .. c, gw, now) end
      out[#out + 1] = gw
      out[#out + 1] = user
    end
  end
end
return out`;

/** ARGV: prefix, conversation, gateway: registered now. */
const REGISTER = `${NOW_MS}
redis.call('HSET', ARGV[1] .. 'cg:' .. ARGV[2], ARGV[3], nowMs())
return 0`;

/** ARGV: prefix, conversation: every member's membership of it, its members and its gateways forgotten. */
const FORGET = `
local p, c = ARGV[1], ARGV[2]
for _, user in ipairs(redis.call('SMEMBERS', p .. 'cm:' .. c)) do redis.call('SREM', p .. 'mo:' .. user, c) end
redis.call('DEL', p .. 'cm:' .. c, p .. 'cg:' .. c)
return 0`;

/** Users per script call, members per route stretch: each call holds Redis for its length, so other clients get turns in between. */
const CHUNK = 1_000;
const ROUTE_STRETCH = 2_000;

/**
 * EVAL with the source each time (Redis compiles a script once and keeps it by digest): unlike
 * EVALSHA, no NOSCRIPT retry after a Redis restart that could reorder a route's calls.
 */
function run(redis: Redis, source: string, args: readonly (string | number)[]): Promise<unknown> {
  return redis.eval(source, 0, ...args);
}

/** A `conversations` answer: '1' then the conversations, or '0' while not built. */
export function conversationsAnswer(reply: unknown): string[] | null {
  const [built, ...convs] = reply as string[];
  return built === '1' ? convs : null;
}

function userGateways(reply: unknown, into: UserGateways): void {
  const flat = reply as string[];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const gw = flat[i]!;
    const users = into.get(gw);
    if (users) users.push(flat[i + 1]!);
    else into.set(gw, [flat[i + 1]!]);
  }
}

/** `ttlMs`: presence's TTL; a gateway that has not registered a conversation for that long is dropped from it. */
export function createRedisGroupRouting(redis: Redis, prefix: string, ttlMs: number): GroupRouting & { registerAll(gatewayId: string, conversations: readonly string[]): Promise<void> } {
  const change = async (conversationId: string, userIds: readonly string[], joining: boolean): Promise<UserGateways> => {
    const out: UserGateways = new Map();
    for (const chunk of chunked(userIds, CHUNK)) userGateways(await run(redis, CHANGE, [prefix, conversationId, joining ? '1' : '0', ...chunk]), out);
    return out;
  };

  return {
    async conversationsOf(userId, gatewayId) {
      return conversationsAnswer(await run(redis, CONVERSATIONS_OF, [prefix, userId, gatewayId]));
    },

    async route(conversationId) {
      // Stretch after stretch; the gateways are read with the last one, so after every
      // member's presence. A member met twice by the scan is offline once.
      const offline = new Set<string>();
      let cursor = '0';
      for (;;) {
        const reply = (await run(redis, ROUTE, [prefix, conversationId, cursor, ROUTE_STRETCH, ttlMs])) as [string, string[], string[], number] | null;
        if (reply === null) return null;
        const [next, stretchOffline, gateways, members] = reply;
        for (const u of stretchOffline) offline.add(u);
        if (next === '0') {
          const route: GroupRoute = { offline: [...offline], gateways, members };
          return route;
        }
        cursor = next;
      }
    },

    join: (conversationId, userIds) => change(conversationId, userIds, true),
    leave: (conversationId, userIds) => change(conversationId, userIds, false),

    async forget(conversationId) {
      await run(redis, FORGET, [prefix, conversationId]);
    },

    async rebuild(memberships, settled) {
      // As joins (the online members' gateways registered too, so a message finds them while
      // their connections still wait for their groups), a conversation's members together.
      const byConversation = new Map<string, string[]>();
      for (const [userId, conversationId] of memberships) {
        const users = byConversation.get(conversationId);
        if (users) users.push(userId);
        else byConversation.set(conversationId, [userId]);
      }
      for (const batch of chunked(byConversation, 100)) await Promise.all(batch.map(([c, users]) => change(c, users, true)));
      const stillMember = await settled();
      const pipe = redis.pipeline();
      for (const [conversationId, users] of byConversation) {
        for (const userId of users) if (!stillMember(userId, conversationId)) pipe.srem(`${prefix}mo:${userId}`, conversationId).srem(`${prefix}cm:${conversationId}`, userId);
      }
      await pipe.exec();
      await redis.set(`${prefix}${BUILT}`, '1');
    },

    /**
     * Registers the gateway for each conversation (a heartbeat's first step). Every pipeline is
     * issued before this returns, so commands issued after it run after them.
     */
    registerAll(gatewayId, conversations) {
      const sent: Promise<unknown>[] = [];
      for (const chunk of chunked(conversations, CHUNK)) {
        const pipe = redis.pipeline();
        for (const c of chunk) pipe.eval(REGISTER, 0, prefix, c, gatewayId);
        sent.push(pipe.exec());
      }
      return Promise.all(sent).then(() => undefined);
    },
  };
}
