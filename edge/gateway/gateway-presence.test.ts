import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../streams/testing.js';
import { createRedisPresence } from '../presence/presence-redis.js';
import { connectRedis } from '../../connectors/redis/client.js';
import { deleteKeys } from '../../connectors/redis/testing.js';
import { startTestGateway, testAuth, TestClient, type TestAuth } from './testing.js';

/**
 * The gateway's presence against real Redis (`make up`) through faults: Redis losing its data
 * while sockets stay open, and a gateway killed and restarted under the same id.
 */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});


async function rawRedis(prefix: string): Promise<Redis> {
  const raw = await connectRedis(REDIS_URL, 'gw-presence-test-raw');
  cleanup.push(async () => {
    await deleteKeys(raw, prefix);
    await raw.quit();
  });
  return raw;
}

describe('gateway presence after Redis lost it', () => {
  it('re-registers every open socket as soon as the Redis connection is back', async () => {
    const prefix = `test-${randomUUID()}:presence:`;
    const raw = await rawRedis(prefix);
    const client = await connectRedis(REDIS_URL, 'gw-presence-test');
    // Heartbeats far apart: only the reconnect can bring presence back within the test.
    const h = await startTestGateway({
      config: { heartbeatIntervalMs: 600_000, heartbeatTimeoutMs: 1_800_000 },
      presence: createRedisPresence({ redis: client, ttlMs: 1_800_000, keyPrefix: prefix, ownsClient: true }),
    });
    cleanup.push(() => h.close());
    const alice = await h.client('alice', 'phone');
    await h.client('alice', 'laptop');
    await h.client('bob', 'phone');
    await eventually(async () => (await h.presence.lookup(['alice', 'bob'])).get('alice')?.length === 2, 'presence on connect', 5_000);
    const before = await h.presence.lookup(['alice', 'bob']);

    expect(await deleteKeys(raw, prefix)).toBeGreaterThan(0); // what a Redis restarted empty loses
    expect((await h.presence.lookup(['alice', 'bob'])).size).toBe(0);
    await raw.client('KILL', 'ID', String(await client.client('ID')));
    await eventually(async () => (await h.presence.lookup(['alice', 'bob'])).size === 2, 'presence rebuilt', 10_000);
    const after = await h.presence.lookup(['alice', 'bob']);
    const ids = (m: typeof before) => [...m.values()].flat().map((e) => e.connectionId).sort();
    expect(ids(after)).toEqual(ids(before));
    expect(after.get('alice')!.map((e) => e.deviceId).sort()).toEqual(['laptop', 'phone']);
    // The sockets never noticed.
    alice.send({ type: 'heartbeat' });
    expect(await alice.nextOfType('heartbeat')).toHaveProperty('timestamp');
  });
});

describe('a gateway killed and restarted with the same id', () => {
  /** The crash fixture: a gateway in its own process on Redis presence; resolves with its port. */
  async function startFixture(auth: TestAuth, prefix: string, gatewayId: string): Promise<{ child: ChildProcess; port: number }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'edge/gateway/crash-fixture.ts'], {
      // A TTL far beyond the test: only the incarnation can explain entries disappearing.
      env: { ...process.env, FIXTURE_JWK: JSON.stringify(auth.publicJwk), FIXTURE_REDIS_URL: REDIS_URL, FIXTURE_PREFIX: prefix, FIXTURE_GATEWAY_ID: gatewayId, FIXTURE_HEARTBEAT_MS: '60000', FIXTURE_TIMEOUT_MS: '600000', IM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.push(() => void child.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(String(d)) as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    return { child, port };
  }

  it('leaves none of its predecessor\'s entries: lookups see only the new connections', async () => {
    const prefix = `test-${randomUUID()}:presence:`;
    const raw = await rawRedis(prefix);
    const auth = await testAuth();
    const gatewayId = `gw-restart-${randomUUID().slice(0, 8)}`;
    const reader = createRedisPresence({ redis: await connectRedis(REDIS_URL, 'restart-reader'), ttlMs: 600_000, keyPrefix: prefix, ownsClient: true });
    cleanup.push(() => reader.close());
    const connect = async (port: number, user: string, device: string) => {
      const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws?token=${await auth.sign(user, device)}`);
      cleanup.push(() => c.close());
      return c;
    };

    const first = await startFixture(auth, prefix, gatewayId);
    const old = [await connect(first.port, 'dora', 'phone'), await connect(first.port, 'dora', 'laptop'), await connect(first.port, 'ed', 'phone')];
    await eventually(async () => (await reader.lookup(['dora', 'ed'])).size === 2 && (await reader.lookup(['dora'])).get('dora')!.length === 2, 'first presence', 5_000);
    const oldIds = [...(await reader.lookup(['dora', 'ed'])).values()].flat().map((e) => e.connectionId);
    first.child.kill('SIGKILL');
    for (const c of old) await c.waitClosed();

    const second = await startFixture(auth, prefix, gatewayId);
    // Started, no client back yet: the predecessor's three entries are gone, not just hidden.
    expect((await reader.lookup(['dora', 'ed'])).size).toBe(0);
    expect(await raw.hlen(`${prefix}u:dora`)).toBe(0);
    await connect(second.port, 'dora', 'phone');
    await eventually(async () => (await reader.lookup(['dora'])).has('dora'), 'presence on reconnect', 5_000);
    const now = (await reader.lookup(['dora', 'ed'])).get('dora')!;
    expect(now).toHaveLength(1);
    expect(oldIds).not.toContain(now[0]!.connectionId);
    expect((await reader.lookup(['ed'])).has('ed')).toBe(false);
  });
});
