import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type EngineHarness, eventually, kafkaEngine } from '../../streams/testing.js';
import { createRedisPushBus } from '../delivery/push-bus-redis.js';
import { createRedisPresence } from '../presence/presence-redis.js';
import { connectRedis } from '../../connectors/redis/client.js';
import type { GatewayConfig } from './gateway.js';
import { GATEWAY_TOPICS, startTestGateway, testAuth, TestClient, type GatewayHarness } from './testing.js';

/**
 * The gateway on the real stack: Kafka (+ registry) for ingress and offline tasks, Redis for
 * presence and the push bus. The stack must be up (`make up`); a missing service fails here.
 */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function redisGateway(engine: EngineHarness, prefix: string, config: Partial<GatewayConfig> = {}): Promise<GatewayHarness> {
  const ttlMs = config.heartbeatTimeoutMs ?? 90_000;
  const h = await startTestGateway({
    engine,
    config,
    presence: createRedisPresence({ redis: await connectRedis(REDIS_URL, 'gw-test-presence'), ttlMs, keyPrefix: `${prefix}presence:`, ownsClient: true }),
    pushBus: createRedisPushBus({ publisher: await connectRedis(REDIS_URL, 'gw-test-pub'), subscriber: await connectRedis(REDIS_URL, 'gw-test-sub'), channelPrefix: prefix, ownsClients: true }),
  });
  return h;
}

describe('gateway on Kafka and Redis', () => {
  it('produces ingress to Kafka, delivers pushes over Redis to devices on two gateways, reports unacked ones to Kafka', async () => {
    const prefix = `test-${randomUUID()}:`;
    const engine = await kafkaEngine();
    await engine.createTopics([...GATEWAY_TOPICS]);
    const g1 = await redisGateway(engine, prefix, { deliveryAckTimeoutMs: 300 });
    const g2 = await redisGateway(engine, prefix, { deliveryAckTimeoutMs: 300 });
    cleanup.push(() => engine.close(), () => g1.close(), () => g2.close());
    const phone = await TestClient.connect(g1.url(`token=${await g1.auth.sign('alice', 'phone')}`));
    const laptop = await TestClient.connect(g2.url(`token=${await g2.auth.sign('alice', 'laptop')}`));
    cleanup.push(() => phone.close(), () => laptop.close());

    phone.send({ type: 'send_msg', msg_id: 'k1', recipient: 'bob', content: 'via kafka', timestamp: 1 });
    await eventually(() => g1.ingress.records.some((r) => r.value.payload.includes('"k1"')), 'ingress in Kafka', 30_000);
    const rec = g1.ingress.records.find((r) => r.value.payload.includes('"k1"'))!;
    expect(rec.key).toBe('d:alice:bob');
    expect(rec.value).toMatchObject({ userId: 'alice', frameType: 'send_msg', origin: { gatewayId: g1.config.gatewayId, deviceId: 'phone' } });

    await eventually(async () => (await g1.presence.lookup(['alice'])).get('alice')?.length === 2, 'alice on two gateways', 5_000);
    const frame = (id: string) => JSON.stringify({ type: 'message', msg_id: id, conversation_id: 'd:alice:bob', sender: 'bob', content: 'yo', sequence_number: 3 });
    for (const g of [g1, g2]) {
      await g.pushBus.publish({ gatewayId: g.config.gatewayId, correlationId: 'corr-k', createdAt: Date.now(), deliveries: [{ userId: 'alice', connectionId: null, messageId: 'srv-1', frame: frame('srv-1') }] });
    }
    expect(await phone.nextOfType('message', 10_000)).toMatchObject({ msg_id: 'srv-1' });
    expect(await laptop.nextOfType('message', 10_000)).toMatchObject({ msg_id: 'srv-1' });
    phone.send({ type: 'ack', msg_id: 'srv-1' });
    // The laptop never acks on g2: g2 reports it; g1 got its ack and reports nothing.
    await eventually(() => g2.offline.records.length >= 1, 'offline task in Kafka', 30_000);
    expect(g2.offline.records.map((r) => [r.key, r.value.messageId, r.value.reason, r.value.seq])).toEqual([['alice', 'srv-1', 'ACK_TIMEOUT', 3]]);
  });
});

describe('a killed gateway', () => {
  it('its users read offline once its liveness TTL passes', async () => {
    const prefix = `test-${randomUUID()}:presence:`;
    const auth = await testAuth();
    const gatewayId = `gw-crash-${randomUUID().slice(0, 6)}`;
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'edge/gateway/crash-fixture.ts'], {
      env: { ...process.env, FIXTURE_JWK: JSON.stringify(auth.publicJwk), FIXTURE_REDIS_URL: REDIS_URL, FIXTURE_PREFIX: prefix, FIXTURE_GATEWAY_ID: gatewayId, FIXTURE_HEARTBEAT_MS: '300', FIXTURE_TIMEOUT_MS: '1500', IM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.push(() => void child.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(String(d)) as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    const presence = createRedisPresence({ redis: await connectRedis(REDIS_URL, 'crash-reader'), ttlMs: 1_500, keyPrefix: prefix, ownsClient: true });
    cleanup.push(() => presence.close());
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws?token=${await auth.sign('dora', 'phone')}`);
    await eventually(async () => (await presence.lookup(['dora'])).has('dora'), 'presence on connect', 5_000);
    // Heartbeats keep it alive past the TTL...
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await presence.lookup(['dora'])).get('dora')![0]!.gatewayId).toBe(gatewayId);
    // ...until the process dies without any cleanup.
    child.kill('SIGKILL');
    await client.waitClosed();
    const killedAt = Date.now();
    await eventually(async () => !(await presence.lookup(['dora'])).has('dora'), 'presence expired', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(1_500 + 1_500);
  });
});
