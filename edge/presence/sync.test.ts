import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/logger.js';
import { eventually } from '../../streams/testing.js';
import { connectRedis } from '../../connectors/redis/client.js';
import { deleteKeys } from '../../connectors/redis/testing.js';
import type { PresenceEntry } from './presence.js';
import { createRedisPresence } from './presence-redis.js';
import { createPresenceSync, presenceMetrics, type SyncTrigger } from './sync.js';

/** The gateway's presence sync against real Redis (`make up`): rebuilt after data loss and on reconnect. */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Line {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}
function recordingLogger(lines: Line[]): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

async function rebuilds(trigger: SyncTrigger): Promise<number> {
  return (await presenceMetrics.rebuilds.get()).values.find((v) => v.labels.trigger === trigger)?.value ?? 0;
}


async function setup(open: PresenceEntry[] | ((gw: string) => PresenceEntry[])) {
  const prefix = `test-${randomUUID()}:presence:`;
  const gatewayId = `gw-sync-${randomUUID().slice(0, 8)}`;
  const raw = await connectRedis(REDIS_URL, 'sync-test-raw');
  const client = await connectRedis(REDIS_URL, 'sync-test-presence');
  const presence = createRedisPresence({ redis: client, ttlMs: 60_000, keyPrefix: prefix, ownsClient: true });
  const lines: Line[] = [];
  const entries = typeof open === 'function' ? open(gatewayId) : open;
  const closed = new Set<string>();
  const sync = createPresenceSync({ presence, gatewayId, logger: recordingLogger(lines), entries: () => [...entries], isOpen: (id) => !closed.has(id) });
  cleanup.push(async () => {
    await sync.stop();
    await presence.close();
    await deleteKeys(raw, prefix);
    await raw.quit();
  });
  return { prefix, gatewayId, raw, client, presence, lines, entries, closed, sync };
}

const entryOf = (gatewayId: string, userId: string, connectionId: string): PresenceEntry => ({ userId, connectionId, gatewayId, deviceId: `dev-${connectionId}`, connectedAt: 1_700_000_000_000 });

describe('presence sync on Redis', () => {
  it('re-creates the open connections after their keys were lost, with one log line and a metric', async () => {
    const t = await setup((gw) => [entryOf(gw, 'alice', 'a1'), entryOf(gw, 'alice', 'a2'), entryOf(gw, 'bob', 'b1')]);
    for (const e of t.entries) await t.presence.connect(e);
    expect(await t.sync.run('heartbeat')).toEqual({ recreated: 0, removed: 0 });
    expect(t.lines).toEqual([]);

    expect(await deleteKeys(t.raw, t.prefix)).toBeGreaterThan(0);
    expect((await t.presence.lookup(['alice', 'bob'])).size).toBe(0);
    const counted = await rebuilds('heartbeat');
    expect(await t.sync.run('heartbeat')).toEqual({ recreated: 3, removed: 0 });
    const found = await t.presence.lookup(['alice', 'bob']);
    expect(found.get('alice')!.map((e) => e.connectionId).sort()).toEqual(['a1', 'a2']);
    expect(found.get('bob')!.map((e) => e.connectionId)).toEqual(['b1']);
    expect(t.lines.map((l) => [l.level, l.msg, l.fields?.recreated])).toEqual([['warn', 'presence rebuilt from the open connections (the store had lost them)', 3]]);
    expect(await rebuilds('heartbeat')).toBe(counted + 1);
  });

  it('rebuilds at once when the Redis connection comes back, without waiting for a heartbeat', async () => {
    const t = await setup((gw) => [entryOf(gw, 'carol', 'c1'), entryOf(gw, 'dan', 'd1')]);
    for (const e of t.entries) await t.presence.connect(e);
    t.sync.start(3_600_000); // no heartbeat within the test: only the reconnect can rebuild
    const counted = await rebuilds('reconnect');
    await deleteKeys(t.raw, t.prefix);
    // Drop the presence client's connection, as a Redis restart does; ioredis reconnects.
    const id = (await t.client.client('ID')) as number;
    await t.raw.client('KILL', 'ID', String(id));
    await eventually(async () => (await t.presence.lookup(['carol', 'dan'])).size === 2, 'presence rebuilt on reconnect', 10_000);
    expect(t.lines.filter((l) => l.msg.startsWith('presence rebuilt')).map((l) => [l.fields?.trigger, l.fields?.recreated])).toEqual([['reconnect', 2]]);
    expect(await rebuilds('reconnect')).toBe(counted + 1);
  });

  it('does not leave behind a connection that closed while the heartbeat was writing it', async () => {
    const t = await setup((gw) => [entryOf(gw, 'erin', 'e1'), entryOf(gw, 'erin', 'e2')]);
    await t.presence.connect(t.entries[0]!);
    // e2 is in the snapshot, but its socket closes before the sync ends (its disconnect already ran).
    t.closed.add('e2');
    expect(await t.sync.run('heartbeat')).toMatchObject({ recreated: 1 });
    expect((await t.presence.lookup(['erin'])).get('erin')!.map((e) => e.connectionId)).toEqual(['e1']);
    expect(await t.raw.hkeys(`${t.prefix}gw:${t.gatewayId}:conns`)).toEqual(['e1']);
  });

  it('runs one sync at a time: a trigger during a sync runs once more after it', async () => {
    const t = await setup((gw) => [entryOf(gw, 'fay', 'f1')]);
    const [a, b, c] = [t.sync.run('heartbeat'), t.sync.run('reconnect'), t.sync.run('reconnect')];
    expect(await a).toEqual({ recreated: 1, removed: 0 });
    expect(await b).toEqual({ recreated: 0, removed: 0 });
    expect(await c).toBe(await b);
  });
});
