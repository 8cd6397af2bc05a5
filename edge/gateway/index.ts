/** The gateway's face: what the platform composition needs to run one. */
export { createGateway, stopOnSignals, type Gateway, type GatewayConfig, type GatewayDeps } from './gateway.js';
export { CORRELATION_HEADER } from './ingress.js';
export { startGatewayInstance, workerRole, type GatewayInstance, type WorkerRole } from './instance.js';
export { createMemoryPresence } from '../presence/presence-memory.js';
export { createRedisPresence } from '../presence/presence-redis.js';
export { createMemoryPushBus } from '../delivery/push-bus-memory.js';
export { createRedisPushBus } from '../delivery/push-bus-redis.js';
export { connectRedis } from '../../connectors/redis/client.js';
