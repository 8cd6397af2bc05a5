import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../connectors/redis/client.js';
import { deleteKeys } from '../../connectors/redis/testing.js';
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
      await presence.heartbeat('gw-live', [entry('alice', 'c2', 'gw-live')]);
    }
    const found = await presence.lookup(['alice', 'bob']);
    expect(found.get('alice')!.map((e) => e.gatewayId)).toEqual(['gw-live']);
    expect(found.has('bob')).toBe(false);
  });
});

describe.each(impls)('presence heartbeat ($name)', ({ create }) => {
  let presence: Presence | undefined;
  afterEach(async () => {
    await presence?.close();
  });

  it('makes the store hold exactly the gateway\'s open connections: missing ones re-created, gone ones removed', async () => {
    presence = await create(5_000);
    await presence.connect(entry('alice', 'c1', 'gw-1'));
    await presence.connect(entry('bob', 'c2', 'gw-1'));
    await presence.connect(entry('carol', 'c3', 'gw-2'));
    // gw-1 still has alice; bob's socket is gone (its disconnect was lost); dave's connect never landed.
    expect(await presence.heartbeat('gw-1', [entry('alice', 'c1', 'gw-1'), entry('dave', 'c4', 'gw-1')])).toEqual({ recreated: 1, removed: 1 });
    const found = await presence.lookup(['alice', 'bob', 'carol', 'dave']);
    expect([...found.keys()].sort()).toEqual(['alice', 'carol', 'dave']);
    expect(found.get('dave')).toEqual([entry('dave', 'c4', 'gw-1')]);
    expect(found.get('carol')).toEqual([entry('carol', 'c3', 'gw-2')]);
    expect(await presence.heartbeat('gw-1', [entry('alice', 'c1', 'gw-1'), entry('dave', 'c4', 'gw-1')])).toEqual({ recreated: 0, removed: 0 });
  });
});

describe('presence on Redis: lost data and restarted gateways', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function setup(): Promise<{ prefix: string; raw: Redis; open: () => Promise<Presence> }> {
    const prefix = `test-${randomUUID()}:presence:`;
    const raw = await connectRedis(REDIS_URL, 'presence-test-raw');
    cleanup.push(async () => {
      await deleteKeys(raw, prefix);
      await raw.quit();
    });
    const open = async (): Promise<Presence> => {
      const p = createRedisPresence({ redis: await connectRedis(REDIS_URL, 'presence-test'), ttlMs: 60_000, keyPrefix: prefix, ownsClient: true });
      cleanup.push(() => p.close());
      return p;
    };
    return { prefix, raw, open };
  }

  it('one heartbeat re-creates every entry after the gateway\'s keys were lost (Redis restarted empty)', async () => {
    const { prefix, raw, open } = await setup();
    const presence = await open();
    const gw = `gw-${randomUUID().slice(0, 8)}`;
    const live = [entry('alice', 'a1', gw), entry('alice', 'a2', gw, 'laptop'), entry('bob', 'b1', gw)];
    for (const e of live) await presence.connect(e);
    expect((await presence.lookup(['alice', 'bob'])).size).toBe(2);
    // Only this test's keys: the shared Redis is never flushed.
    expect(await deleteKeys(raw, prefix)).toBeGreaterThan(0);
    expect((await presence.lookup(['alice', 'bob'])).size).toBe(0);

    expect(await presence.heartbeat(gw, live)).toEqual({ recreated: 3, removed: 0 });
    const found = await presence.lookup(['alice', 'bob']);
    expect(found.get('alice')!.map((e) => e.connectionId).sort()).toEqual(['a1', 'a2']);
    expect(found.get('bob')).toEqual([entry('bob', 'b1', gw)]);
    expect(await raw.pttl(`${prefix}u:alice`)).toBeGreaterThan(0);
  });

  it('a new incarnation of a gateway id supersedes its killed predecessor\'s entries at once', async () => {
    const { prefix, raw, open } = await setup();
    const gw = `gw-${randomUUID().slice(0, 8)}`;
    const other = `gw-${randomUUID().slice(0, 8)}`;
    const before = await open();
    await before.connect(entry('alice', 'old-1', gw));
    await before.connect(entry('bob', 'old-2', gw));
    // alice's phone on another gateway keeps her user hash alive past any TTL.
    await before.connect(entry('alice', 'phone', other));
    // The process dies: no disconnect, no removeGateway. Its successor starts under the same id.
    const after = await open();
    expect(await after.heartbeat(gw, [])).toEqual({ recreated: 0, removed: 2 });
    await after.connect(entry('alice', 'new-1', gw));
    const found = await after.lookup(['alice', 'bob']);
    expect(found.get('alice')!.map((e) => e.connectionId).sort()).toEqual(['new-1', 'phone']);
    expect(found.has('bob')).toBe(false);
    expect((await raw.hkeys(`${prefix}u:alice`)).sort()).toEqual(['new-1', 'phone']);
  });

  it('a predecessor\'s entries hide from lookups even when its connection list expired, and lookups drop them', async () => {
    const { prefix, raw, open } = await setup();
    const gw = `gw-${randomUUID().slice(0, 8)}`;
    const before = await open();
    await before.connect(entry('carol', 'old', gw));
    await raw.del(`${prefix}gw:${gw}:conns`);
    const after = await open();
    expect(await after.heartbeat(gw, [entry('carol', 'new', gw)])).toEqual({ recreated: 1, removed: 0 });
    expect((await after.lookup(['carol'])).get('carol')!.map((e) => e.connectionId)).toEqual(['new']);
    // The first lookup queued the clean-up on its client; the next one is answered after it.
    await after.lookup(['carol']);
    expect(await raw.hkeys(`${prefix}u:carol`)).toEqual(['new']);
  });

  it('entries written before incarnations existed still count while their gateway lives', async () => {
    const { prefix, raw, open } = await setup();
    const gw = `gw-${randomUUID().slice(0, 8)}`;
    await raw.multi().hset(`${prefix}u:erin`, 'legacy', JSON.stringify(entry('erin', 'legacy', gw))).set(`${prefix}gw:${gw}`, '1', 'PX', 60_000).exec();
    const presence = await open();
    expect((await presence.lookup(['erin'])).get('erin')).toEqual([entry('erin', 'legacy', gw)]);
  });
});


describe('redis connection', () => {
  it('fails loudly when Redis is not reachable', async () => {
    await expect(connectRedis('redis://127.0.0.1:1', 'nowhere')).rejects.toThrow(/Redis not reachable/);
  });
});
