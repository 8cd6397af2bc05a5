import { importJWK } from 'jose';
import { createLogger } from '../../core/logger.js';
import { createMemoryPushBus } from '../delivery/push-bus-memory.js';
import { createRedisPresence } from '../presence/presence-redis.js';
import { connectRedis } from '../../connectors/redis/client.js';
import { memoryEngine } from '../../streams/testing.js';
import { createGateway } from './gateway.js';
import { GATEWAY_TOPICS, jwkVerifier, testGatewayConfig } from './testing.js';

/**
 * A gateway in its own process for the crash test: the test kills it with SIGKILL, so nothing
 * of the graceful path runs and only presence TTLs can clean up. Settings come from the env:
 * FIXTURE_JWK, FIXTURE_REDIS_URL, FIXTURE_PREFIX, FIXTURE_GATEWAY_ID, FIXTURE_HEARTBEAT_MS, FIXTURE_TIMEOUT_MS.
 */
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const config = testGatewayConfig({
  gatewayId: env('FIXTURE_GATEWAY_ID'),
  heartbeatIntervalMs: Number(env('FIXTURE_HEARTBEAT_MS')),
  heartbeatTimeoutMs: Number(env('FIXTURE_TIMEOUT_MS')),
});
const engine = await memoryEngine();
await engine.createTopics([...GATEWAY_TOPICS]);
const presence = createRedisPresence({ redis: await connectRedis(env('FIXTURE_REDIS_URL'), 'crash-fixture'), ttlMs: config.heartbeatTimeoutMs, keyPrefix: env('FIXTURE_PREFIX') });
const verifier = jwkVerifier((await importJWK(JSON.parse(env('FIXTURE_JWK')) as Parameters<typeof importJWK>[0], 'ES256')) as CryptoKey);
const gateway = createGateway({ log: engine.log, serde: engine.serde, presence, pushBus: createMemoryPushBus(), verifier, routes: [], logger: createLogger('crash-fixture') }, config);
const { port } = await gateway.start();
process.stdout.write(JSON.stringify({ port }) + '\n');
