import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMirror } from '../../connectors/mongo-mirror/mirror-memory.js';
import { connectRedis } from '../../connectors/redis/client.js';
import { deleteKeys } from '../../connectors/redis/testing.js';
import { createLogger } from '../../core/logger.js';
import { userPairKey } from '../../domain/conversations.js';
import type { PresenceOutFrame } from '../../protocol/frames.js';
import type { OnlinePush } from '../../schemas/types.generated.js';
import { createMemoryUserStore } from '../auth/user-store-memory.js';
import type { UserStore } from '../auth/user-store.js';
import { createMemoryPushBus } from '../delivery/push-bus-memory.js';
import { createPeoplePresence, type PeoplePresence } from './people.js';
import type { Presence } from './presence.js';
import { createMemoryPresence } from './presence-memory.js';
import { createRedisPresence } from './presence-redis.js';
import type { StatusStore } from './status.js';
import { createMemoryStatusStore } from './status-memory.js';
import { createRedisStatusStore } from './status-redis.js';

/**
 * Presence for people on memory and on real Redis (which must be up): two gateway processes'
 * worth of PeoplePresence over one presence and one status store, friends' connections on
 * both gateways, the memory push bus between them. The window is short, and every wait is for
 * the frame it means.
 */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
const WINDOW_MS = 60;

interface World { presence: Presence; status: () => Promise<StatusStore>; lose(): Promise<void>; close(): Promise<void> }

const worlds = [
  {
    name: 'memory',
    make: async (): Promise<World> => {
      // One process: both "gateways" share the one store, as they would share Redis.
      const status = createMemoryStatusStore();
      return { presence: createMemoryPresence({ ttlMs: 10_000 }), status: async () => status, lose: () => status.close(), close: async () => {} };
    },
  },
  {
    name: 'redis',
    make: async (): Promise<World> => {
      const prefix = `test-${randomUUID()}:`;
      const clients: Redis[] = [];
      const client = async (): Promise<Redis> => {
        const c = await connectRedis(REDIS_URL, 'people-test');
        clients.push(c);
        return c;
      };
      const presence = createRedisPresence({ redis: await client(), ttlMs: 10_000, keyPrefix: `${prefix}presence:` });
      return {
        presence,
        status: async () => createRedisStatusStore({ redis: await client(), ttlMs: 10_000, keyPrefix: `${prefix}people:` }),
        lose: async () => void (await deleteKeys(clients[0]!, `${prefix}people:`)),
        close: async () => {
          await deleteKeys(clients[0]!, prefix);
          for (const c of clients) await c.quit();
        },
      };
    },
  },
] as const;

describe.each(worlds)('presence for people ($name)', ({ make }) => {
  let world: World;
  let users: UserStore;
  const instances: PeoplePresence[] = [];
  let mirror = createMemoryMirror();
  let pushBus = createMemoryPushBus();
  /** Presence frames each user received, and every push published (this test's). */
  let got = new Map<string, PresenceOutFrame[]>();
  let pushes: OnlinePush[] = [];
  const waiters: (() => void)[] = [];

  afterEach(async () => {
    for (const p of instances.splice(0)) p.close();
    await world.close();
  });

  async function setup(): Promise<void> {
    world = await make();
    users = createMemoryUserStore();
    mirror = createMemoryMirror();
    pushBus = createMemoryPushBus();
    got = new Map();
    pushes = [];
    for (const gw of ['gw-1', 'gw-2']) {
      await pushBus.subscribe(gw, (push) => {
        pushes.push(push);
        for (const d of push.deliveries) got.set(d.userId, [...(got.get(d.userId) ?? []), JSON.parse(d.frame) as PresenceOutFrame]);
        for (const w of waiters.splice(0)) w();
      });
    }
  }

  const gateway = async (): Promise<PeoplePresence> => {
    const p = createPeoplePresence({ presence: world.presence, status: await world.status(), pushBus, relations: mirror, users, logger: createLogger('people-test') }, { presenceWindowMs: WINDOW_MS });
    instances.push(p);
    return p;
  };
  const person = async (name: string): Promise<string> => (await users.create({ username: `${name}-${randomUUID().slice(0, 6)}`, displayName: name, passwordHash: 'h' })).userId;
  const relate = async (a: string, b: string, change: { status?: 'FRIENDS' | 'NONE'; blockedBy?: string } = {}) => {
    const [userA, userB] = a < b ? [a, b] : [b, a];
    await mirror.apply([{ topic: 'im.state.relations', key: userPairKey(a, b), value: { userA, userB, status: change.status ?? 'FRIENDS', blockedByA: change.blockedBy === userA, blockedByB: change.blockedBy === userB, updatedAt: 1 } }]);
  };
  const online = (userId: string, connectionId: string, gatewayId: string) => world.presence.connect({ userId, connectionId, gatewayId, deviceId: connectionId, connectedAt: 1 });
  /** The next presence frame `viewer` gets about `user`, past the `seen` first ones. */
  async function nextAbout(viewer: string, user: string, seen: number): Promise<PresenceOutFrame> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const about = (got.get(viewer) ?? []).filter((f) => f.user === user);
      if (about.length > seen) return about[seen]!;
      if (Date.now() > deadline) throw new Error(`no presence frame #${seen + 1} about ${user} for ${viewer}; have ${JSON.stringify(about)}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  }

  it('tells friends online, away and offline with last seen, once per change over two gateways; strangers hear nothing', async () => {
    await setup();
    const [alice, bob, carol] = [await person('alice'), await person('bob'), await person('carol')];
    await relate(alice, bob);
    const [gw1, gw2] = [await gateway(), await gateway()];
    await online(bob, 'b1', 'gw-2');
    await online(carol, 'c1', 'gw-1');

    await online(alice, 'a1', 'gw-1');
    gw1.opened(alice, 'a1');
    expect(await nextAbout(bob, alice, 0)).toMatchObject({ type: 'presence', user: alice, state: 'online', last_seen: null });
    gw1.away(alice, 'a1', true);
    expect((await nextAbout(bob, alice, 1)).state).toBe('away');
    // A second device, active, on the other gateway: online again.
    await online(alice, 'a2', 'gw-2');
    gw2.opened(alice, 'a2');
    expect((await nextAbout(bob, alice, 2)).state).toBe('online');
    // The first device goes: still online (nothing told), then the second goes away.
    await gw1.closed(alice, 'a1', () => world.presence.disconnect(alice, 'a1'));
    gw2.away(alice, 'a2', true);
    expect((await nextAbout(bob, alice, 3)).state).toBe('away');
    const before = Date.now();
    await gw2.closed(alice, 'a2', () => world.presence.disconnect(alice, 'a2'));
    const off = await nextAbout(bob, alice, 4);
    expect(off.state).toBe('offline');
    expect(off.last_seen).toBeGreaterThanOrEqual(before);
    expect(got.get(carol) ?? []).toEqual([]);
    expect(got.get(alice) ?? []).toEqual([]);

    // Redis restarted empty: the user store's copy of last seen answers.
    await world.lose();
    const fresh = await gateway();
    expect(await fresh.view(bob, [alice])).toEqual([{ user_id: alice, state: 'offline', last_seen: off.last_seen }]);
  });

  it('shows presence as each user allows: friends by default, everyone, nobody; never across a block', async () => {
    await setup();
    const [alice, bob, carol, dave] = [await person('alice'), await person('bob'), await person('carol'), await person('dave')];
    await relate(alice, bob);
    await relate(alice, dave, { status: 'FRIENDS', blockedBy: dave });
    const gw = await gateway();
    await online(bob, 'b1', 'gw-1');
    await online(alice, 'a1', 'gw-1');
    const hidden = { user_id: alice, state: 'hidden', last_seen: null };
    const shown = { user_id: alice, state: 'online', last_seen: null };
    expect(await gw.view(bob, [alice, '00000000-0000-4000-8000-000000000000'])).toEqual([shown]);
    expect(await gw.view(carol, [alice])).toEqual([hidden]);
    expect(await gw.view(dave, [alice])).toEqual([hidden]);
    expect(await gw.view(alice, [alice])).toEqual([shown]);
    await users.updateProfile(alice, { presenceVisibility: 'everyone' }, 2);
    expect(await gw.view(carol, [alice])).toEqual([shown]);
    expect(await gw.view(dave, [alice])).toEqual([hidden]);
    await users.updateProfile(alice, { presenceVisibility: 'nobody' }, 3);
    expect(await gw.view(bob, [alice])).toEqual([hidden]);
    expect(await gw.view(alice, [alice])).toEqual([shown]);
    // Friends are told the change: from now on they see nothing.
    gw.changed(alice);
    expect(await nextAbout(bob, alice, 0)).toMatchObject({ state: 'hidden', last_seen: null });
  });

  it('a user with many friends who flaps costs at most one event a window, whichever gateway sees it', async () => {
    await setup();
    const alice = await person('alice');
    const friends: string[] = [];
    for (let i = 0; i < 300; i++) {
      const f = await person(`f${i}`);
      friends.push(f);
      await relate(alice, f);
      await online(f, `f${i}`, i % 2 ? 'gw-1' : 'gw-2');
    }
    const gws = [await gateway(), await gateway()];
    const start = Date.now();
    for (let i = 0; i < 200; i++) {
      const gw = gws[i % 2]!;
      const conn = `a${i}`;
      await online(alice, conn, i % 2 ? 'gw-1' : 'gw-2');
      gw.opened(alice, conn);
      await gw.closed(alice, conn, () => world.presence.disconnect(alice, conn));
    }
    // A last, distinct change marks the end: every friend hears it.
    await online(alice, 'last', 'gw-1');
    await world.status().then((s) => s.setAway(alice, 'last', true));
    gws[0]!.changed(alice);
    const watcher = friends[0]!;
    let n = 0;
    while ((await nextAbout(watcher, alice, n)).state !== 'away') n++;
    const elapsed = Date.now() - start;
    const events = (got.get(watcher) ?? []).filter((f) => f.user === alice).length;
    expect(events).toBeLessThanOrEqual(Math.floor(elapsed / WINDOW_MS) + 2);
    // Each event is one push per gateway holding friends, carrying every friend there.
    expect(pushes.length).toBeLessThanOrEqual(events * 2);
    expect(pushes.reduce((sum, p) => sum + p.deliveries.length, 0)).toBe(events * friends.length);
  });
});
