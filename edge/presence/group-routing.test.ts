import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../connectors/redis/client.js';
import { deleteKeys } from '../../connectors/redis/testing.js';
import type { Presence, PresenceEntry } from './presence.js';
import { createMemoryPresence } from './presence-memory.js';
import { createRedisPresence } from './presence-redis.js';

/** The GroupRouting contract (part of Presence), on memory and on real Redis. */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const impls = [
  { name: 'memory', create: async (ttlMs: number) => createMemoryPresence({ ttlMs }) },
  {
    name: 'redis',
    create: async (ttlMs: number) => {
      const prefix = `test-${randomUUID()}:presence:`;
      const presence = createRedisPresence({ redis: await connectRedis(REDIS_URL, 'group-routing-test'), ttlMs, keyPrefix: prefix, ownsClient: true });
      // Routing keys have no TTL: this test's go with it.
      const raw = await connectRedis(REDIS_URL, 'group-routing-test-raw');
      cleanups.push(async () => {
        await deleteKeys(raw, prefix);
        await raw.quit();
      });
      return presence;
    },
  },
] as const;

const entry = (userId: string, connectionId: string, gatewayId: string): PresenceEntry => ({ userId, connectionId, gatewayId, deviceId: connectionId, connectedAt: 1 });
const sorted = (m: Map<string, string[]>) => [...m].map(([gw, users]) => [gw, [...users].sort()]).sort();

describe.each(impls)('group routing ($name)', ({ create }) => {
  async function open(ttlMs = 60_000): Promise<Presence> {
    const presence = await create(ttlMs);
    cleanups.push(() => presence.close());
    return presence;
  }

  it('answers null until the memberships are rebuilt, then the user\'s groups; a removal during the rebuild wins', async () => {
    const presence = await open();
    expect(await presence.connect(entry('alice', 'a1', 'gw-1'))).toBeNull();
    expect(await presence.route('g:G')).toBeNull();
    // bob's membership of H is written, then removed before the rebuild settles.
    await presence.rebuild([['alice', 'g:G'], ['alice', 'g:H'], ['bob', 'g:H']], async () => (userId) => userId !== 'bob');
    expect((await presence.conversationsOf('alice', 'gw-1'))?.sort()).toEqual(['g:G', 'g:H']);
    expect(await presence.conversationsOf('bob', 'gw-1')).toEqual([]);
    // alice connected while nothing was known: the rebuild registered her gateway for her groups.
    expect(await presence.route('g:H')).toEqual({ offline: [], gateways: ['gw-1'], members: 1 });
  });

  it('a connect registers its gateway for the user\'s groups; a route reads offline members, then live gateways', async () => {
    const presence = await open();
    await presence.rebuild([], async () => () => true);
    await presence.join('g:G', ['alice', 'bob', 'carol', 'dave']);
    expect(await presence.connect(entry('alice', 'a1', 'gw-1'))).toEqual(['g:G']);
    expect(await presence.connect(entry('bob', 'b1', 'gw-2'))).toEqual(['g:G']);
    await presence.connect(entry('erin', 'e1', 'gw-3')); // not a member: gw-3 holds none of G
    const route = await presence.route('g:G');
    expect(route?.offline.sort()).toEqual(['carol', 'dave']);
    expect(route?.gateways.sort()).toEqual(['gw-1', 'gw-2']);
    expect(route?.members).toBe(4);
  });

  it('routes a large group stretch by stretch: every offline member once, the gateways of the online ones', async () => {
    const presence = await open();
    await presence.rebuild([], async () => () => true);
    const members = Array.from({ length: 4_500 }, (_, i) => `m${i}`);
    await presence.join('g:BIG', members);
    for (let i = 0; i < 4_500; i += 100) await presence.connect(entry(`m${i}`, `c${i}`, `gw-${i % 3}`));
    const route = await presence.route('g:BIG');
    expect(route?.members).toBe(4_500);
    expect(new Set(route?.offline).size).toBe(route?.offline.length);
    expect(route?.offline.sort()).toEqual(members.filter((_, i) => i % 100 !== 0).sort());
    expect(route?.gateways.sort()).toEqual(['gw-0', 'gw-1', 'gw-2']);
  });

  it('join and leave change memberships and answer where the users are online; join registers those gateways', async () => {
    const presence = await open();
    await presence.rebuild([], async () => () => true);
    await presence.connect(entry('alice', 'a1', 'gw-1'));
    await presence.connect(entry('alice', 'a2', 'gw-2'));
    await presence.connect(entry('bob', 'b1', 'gw-2'));
    expect(sorted(await presence.join('g:G', ['alice', 'bob', 'carol']))).toEqual([['gw-1', ['alice']], ['gw-2', ['alice', 'bob']]]);
    expect((await presence.route('g:G'))?.gateways.sort()).toEqual(['gw-1', 'gw-2']);
    expect(await presence.conversationsOf('carol', 'gw-9')).toEqual(['g:G']);
    expect(sorted(await presence.leave('g:G', ['bob', 'carol']))).toEqual([['gw-2', ['bob']]]);
    expect(await presence.conversationsOf('bob', 'gw-2')).toEqual([]);
    expect((await presence.route('g:G'))?.members).toBe(1);
    expect(await presence.conversationsOf('alice', 'gw-1')).toEqual(['g:G']);
  });

  it('forget drops a disbanded conversation from its members and its gateways', async () => {
    const presence = await open();
    await presence.rebuild([], async () => () => true);
    await presence.join('g:G', ['alice', 'bob']);
    await presence.connect(entry('alice', 'a1', 'gw-1'));
    await presence.forget('g:G');
    expect(await presence.conversationsOf('alice', 'gw-1')).toEqual([]);
    expect(await presence.conversationsOf('bob', 'gw-1')).toEqual([]);
    expect(await presence.route('g:G')).toEqual({ offline: [], gateways: [], members: 0 });
  });

  it('a gateway that stops registering a conversation drops out of it after the TTL; a heartbeat keeps it', async () => {
    const presence = await open(1_000);
    await presence.rebuild([], async () => () => true);
    await presence.join('g:G', ['alice', 'bob']);
    await presence.connect(entry('alice', 'a1', 'gw-1'));
    await presence.connect(entry('bob', 'b1', 'gw-2'));
    const deadline = Date.now() + 1_600;
    while (Date.now() < deadline) {
      // Both gateways stay alive; only gw-1 still has a subscriber of G.
      await presence.heartbeat('gw-1', [entry('alice', 'a1', 'gw-1')], ['g:G']);
      await presence.heartbeat('gw-2', [entry('bob', 'b1', 'gw-2')], []);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await presence.route('g:G'))?.gateways).toEqual(['gw-1']);
  });
});
