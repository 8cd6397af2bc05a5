import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../redis/client.js';
import type { Presence, PresenceEntry } from './presence.js';
import { createMemoryPresence } from './presence-memory.js';
import { createRedisPresence } from './presence-redis.js';

/** The Presence contract, run on memory and on real Redis (which must be up: no skipping). */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';

const impls = [
  { name: 'memory', create: async (ttlMs: number) => createMemoryPresence({ ttlMs }) },
  {
    name: 'redis',
    create: async (ttlMs: number) =>
      createRedisPresence({ redis: await connectRedis(REDIS_URL, 'presence-test'), ttlMs, keyPrefix: `test-${randomUUID()}:presence:`, ownsClient: true }),
  },
] as const;

const entry = (userId: string, connectionId: string, gatewayId = 'gw-1', deviceId = 'phone'): PresenceEntry => ({
  userId,
  connectionId,
  gatewayId,
  deviceId,
  connectedAt: 1_700_000_000_000,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(impls)('presence ($name)', ({ create }) => {
  let presence: Presence | undefined;
  afterEach(async () => {
    await presence?.close();
  });

  it('shows a connection after connect and hides it after disconnect', async () => {
    presence = await create(5_000);
    await presence.connect(entry('alice', 'c1'));
    expect((await presence.lookup(['alice'])).get('alice')).toEqual([entry('alice', 'c1')]);
    await presence.disconnect('alice', 'c1');
    expect((await presence.lookup(['alice'])).has('alice')).toBe(false);
  });

  it('looks up many users at once, with several devices on several gateways', async () => {
    presence = await create(5_000);
    await presence.connect(entry('alice', 'c1', 'gw-1', 'phone'));
    await presence.connect(entry('alice', 'c2', 'gw-2', 'laptop'));
    await presence.connect(entry('bob', 'c3', 'gw-2'));
    const found = await presence.lookup(['alice', 'bob', 'carol']);
    expect([...found.keys()].sort()).toEqual(['alice', 'bob']);
    expect(found.get('alice')!.map((e) => `${e.gatewayId}/${e.deviceId}`).sort()).toEqual(['gw-1/phone', 'gw-2/laptop']);
    expect(await presence.lookup([])).toEqual(new Map());
  });

  it('disconnecting one device keeps the user online with the others', async () => {
    presence = await create(5_000);
    await presence.connect(entry('alice', 'c1', 'gw-1'));
    await presence.connect(entry('alice', 'c2', 'gw-1', 'laptop'));
    await presence.disconnect('alice', 'c1');
    expect((await presence.lookup(['alice'])).get('alice')!.map((e) => e.connectionId)).toEqual(['c2']);
  });

  it('removeGateway drops only that gateway\'s entries', async () => {
    presence = await create(5_000);
    await presence.connect(entry('alice', 'c1', 'gw-1'));
    await presence.connect(entry('alice', 'c2', 'gw-2'));
    await presence.connect(entry('bob', 'c3', 'gw-1'));
    await presence.removeGateway('gw-1');
    const found = await presence.lookup(['alice', 'bob']);
    expect(found.get('alice')!.map((e) => e.connectionId)).toEqual(['c2']);
    expect(found.has('bob')).toBe(false);
  });

  it('a gateway that stops heartbeating reads offline after the TTL; heartbeats keep the others', async () => {
    presence = await create(1_000);
    await presence.connect(entry('alice', 'c1', 'gw-dead'));
    await presence.connect(entry('alice', 'c2', 'gw-live'));
    await presence.connect(entry('bob', 'c3', 'gw-dead'));
    for (let i = 0; i < 8; i++) {
      await sleep(200);
      await presence.heartbeat('gw-live');
    }
    const found = await presence.lookup(['alice', 'bob']);
    expect(found.get('alice')!.map((e) => e.gatewayId)).toEqual(['gw-live']);
    expect(found.has('bob')).toBe(false);
  });
});

describe('redis connection', () => {
  it('fails loudly when Redis is not reachable', async () => {
    await expect(connectRedis('redis://127.0.0.1:1', 'nowhere')).rejects.toThrow(/Redis not reachable/);
  });
});
