import { MongoClient, type Db } from 'mongodb';
import type { Redis } from 'ioredis';
import type { PlatformConfig } from '../core/config.js';
import { type Logger } from '../core/logger.js';
import { createMemoryGroupDirectory, startLogGroupDirectory, type GroupDirectory } from '../connectors/message-store/group-directory.js';
import type { MessageStore } from '../connectors/message-store/message-store.js';
import { createMemoryMessageStore } from '../connectors/message-store/message-store-memory.js';
import { createMongoMessageStore } from '../connectors/message-store/message-store-mongo.js';
import type { RecentCache } from '../connectors/message-store/recent-cache.js';
import { createMemoryRecentCache } from '../connectors/message-store/recent-cache-memory.js';
import { createRedisRecentCache } from '../connectors/message-store/recent-cache-redis.js';
import { instrumentMongo } from '../connectors/mongo/mongo-metrics.js';
import { mongoClientOptions } from '../connectors/mongo/pool.js';
import { createMemoryMirror } from '../connectors/mongo-mirror/mirror-memory.js';
import { createMongoMirror } from '../connectors/mongo-mirror/mirror-mongo.js';
import { MirrorSink } from '../connectors/mongo-mirror/mirror-sink.js';
import type { MirrorStore } from '../connectors/mongo-mirror/mirror-store.js';
import { createMemoryDeviceTokenStore, type DeviceTokenStore } from '../connectors/offline-push/device-tokens.js';
import { createMongoDeviceTokenStore } from '../connectors/offline-push/device-tokens-mongo.js';
import { objectStoreFromConfig } from '../connectors/object-store/from-config.js';
import { createLocalObjectStore, isLocalObjectStore } from '../connectors/object-store/object-store-local.js';
import type { ObjectStore } from '../connectors/object-store/object-store.js';
import { offlinePushFromConfig } from '../connectors/offline-push/from-config.js';
import { webhooksFromConfig } from '../connectors/webhooks/from-config.js';
import { startAuth, type RunningAuth } from '../edge/auth/index.js';
import type { PushBus } from '../edge/delivery/push-bus.js';
import { createGateway, createMemoryPresence, createMemoryPushBus, createRedisPresence, createRedisPushBus, connectRedis, type Gateway, type GatewayDeps } from '../edge/gateway/index.js';
import { createCommandProducer } from '../edge/http/command-producer.js';
import { deviceRoutes } from '../edge/http/device-routes.js';
import { groupRoutes } from '../edge/http/groups-routes.js';
import { memoryMediaAllowance, redisMediaAllowance } from '../edge/http/media-allowance.js';
import { mediaBlobRoutes } from '../edge/http/media-blob-routes.js';
import { mediaRoutes } from '../edge/http/media-routes.js';
import { queryRoutes } from '../edge/http/query-routes.js';
import { presenceRoutes } from '../edge/http/presence-routes.js';
import { relationRoutes } from '../edge/http/relations-routes.js';
import type { HttpRoute } from '../edge/http/routes.js';
import { createPeoplePresence, type PeoplePresence } from '../edge/presence/people.js';
import type { UserStore } from '../edge/auth/user-store.js';
import { createMemoryStatusStore } from '../edge/presence/status-memory.js';
import { createRedisStatusStore } from '../edge/presence/status-redis.js';
import type { StatusStore } from '../edge/presence/status.js';
import type { Presence } from '../edge/presence/presence.js';
import { QueryService } from '../edge/query/query-service.js';
import { createRegistryClient, createTopicSerde, registerAllSchemas, type TopicSerde } from '../schemas/serde.js';
import { imTopology, OPTIONAL_PROCESSORS, type PipelineDeps } from '../topologies/im-topology.js';
import { type LogClient, type QueryableState, openKafkaLog, MemoryLog, namespacedLog, catalogTopicDefinitions, DLQ_TOPIC, StreamsApp, createGroupProgressWatch, wallClock } from '../streams/index.js';
import { createDependencyHealth, type DependencyHealth, type DependencyProbe } from './health.js';

/**
 * The composition root: which implementation of each contract the configuration selects
 * (Kafka or the in-memory log, Redis or in-process presence and push bus, MongoDB or memory
 * stores), and the two halves of the platform built on them: the edge and the pipeline.
 * `make run` uses all of it in one process; production runs the halves as separate processes.
 */
export interface Infrastructure {
  config: PlatformConfig;
  log: LogClient;
  serde: TopicSerde;
  presence: Presence;
  pushBus: PushBus;
  db: Db | null;
  messageStore: MessageStore;
  recentCache: RecentCache;
  mirror: MirrorStore;
  deviceTokens: DeviceTokenStore;
  /** Media bytes: the S3 bucket when configured, else a local directory served by the edge's blob routes. */
  objectStore: ObjectStore;
  /** A command connection to the shared Redis (null without one), for small shared state such as failed logins. */
  redis: Redis | null;
  /** Whether Kafka, Redis and MongoDB answer (probed in the background), for /readyz. */
  health: DependencyHealth;
  close(): Promise<void>;
}

export async function connectInfrastructure(config: PlatformConfig, logger: Logger): Promise<Infrastructure> {
  const closers: (() => Promise<unknown>)[] = [];
  const { log, serde } = await connectLog(config);
  closers.push(() => log.close());
  const probes: DependencyProbe[] = [];
  if (config.engine === 'kafka') probes.push({ name: 'kafka', critical: true, check: () => log.endOffsets(DLQ_TOPIC) });

  let presence: Presence;
  let pushBus: PushBus;
  let recentCache: RecentCache;
  let redis: Redis | null = null;
  if (config.redis.url) {
    const url = config.redis.url;
    presence = createRedisPresence({ redis: await connectRedis(url, 'presence'), ttlMs: config.edge.heartbeatTimeoutMs, ownsClient: true });
    pushBus = createRedisPushBus({ publisher: await connectRedis(url, 'push-pub'), subscriber: await connectRedis(url, 'push-sub', { subscriber: true }), logger, ownsClients: true });
    const cacheClient: Redis = await connectRedis(url, 'recent');
    recentCache = createRedisRecentCache({ redis: cacheClient, ...config.delivery.recent, ownsClient: true });
    redis = cacheClient;
    probes.push({ name: 'redis', critical: true, check: () => cacheClient.ping() });
  } else {
    presence = createMemoryPresence({ ttlMs: config.edge.heartbeatTimeoutMs });
    pushBus = createMemoryPushBus();
    recentCache = createMemoryRecentCache(config.delivery.recent);
  }
  closers.push(() => presence.close(), () => pushBus.close(), () => recentCache.close());

  let db: Db | null = null;
  let messageStore: MessageStore;
  let mirror: MirrorStore;
  let deviceTokens: DeviceTokenStore;
  if (config.mongo.url) {
    const client = new MongoClient(config.mongo.url, mongoClientOptions(config.mongo, { monitorCommands: true }));
    instrumentMongo(client);
    await client.connect();
    closers.push(() => client.close());
    db = client.db(config.mongo.database);
    const pingDb = db;
    // Not critical: sending and delivery go on while the database is away; persistence catches up.
    probes.push({ name: 'mongodb', critical: false, check: () => pingDb.command({ ping: 1 }) });
    const { updatesPerCommand } = config.mongo;
    messageStore = await createMongoMessageStore({ db, updatesPerCommand });
    const mongoMirror = createMongoMirror(db, { updatesPerCommand });
    await mongoMirror.ensureIndexes();
    mirror = mongoMirror;
    deviceTokens = await createMongoDeviceTokenStore(db);
  } else {
    messageStore = createMemoryMessageStore();
    mirror = createMemoryMirror();
    deviceTokens = createMemoryDeviceTokenStore();
  }
  const objectStore = objectStoreFromConfig(config);
  closers.push(() => objectStore.close());
  // Not critical: messages flow without media; uploads fail until the store answers. A HEAD of
  // a key that is never written exercises the endpoint, the credentials and the bucket.
  if (objectStore.kind === 's3') probes.push({ name: 'object-store', critical: false, check: () => objectStore.head('.readyz-probe') });
  const health = createDependencyHealth(probes, { timeoutMs: config.health.timeoutMs, logger });
  health.start(config.health.intervalMs);
  closers.unshift(async () => health.stop());
  logger.info('infrastructure ready', { engine: config.engine, redis: Boolean(config.redis.url), mongo: Boolean(config.mongo.url), objectStore: objectStore.kind });
  return {
    config, log, serde, presence, pushBus, db, messageStore, recentCache, mirror, deviceTokens, objectStore, redis, health,
    close: async () => {
      for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn('close failed', { err }));
    },
  };
}

async function connectLog(config: PlatformConfig): Promise<{ log: LogClient; serde: TopicSerde }> {
  if (config.engine === 'kafka') {
    const tuning = { fetchMinBytes: config.kafka.fetch.minBytes, fetchMaxWaitMs: config.kafka.fetch.maxWaitMs };
    const log = namespacedLog(await openKafkaLog(config.kafka.client, { brokers: config.kafka.brokers, clientId: config.kafka.clientId, tuning }), config.kafka.topicPrefix);
    // Idempotent: provisioning normally did it, but a fresh namespace starts empty.
    await log.createTopics(catalogTopicDefinitions());
    return { log, serde: createTopicSerde(createRegistryClient(config.registry.url)) };
  }
  // The embedded engine: every topic in memory, schemas in the registry client's mock.
  const log = new MemoryLog();
  await log.createTopics(catalogTopicDefinitions());
  const registry = createRegistryClient('mock://embedded');
  await registerAllSchemas(registry, 'mock://embedded');
  return { log, serde: createTopicSerde(registry) };
}

/** Pipeline dependencies that hold nothing outside the process: to describe the topology. */
export function memoryPipelineDeps(config: PlatformConfig): PipelineDeps {
  return {
    presence: createMemoryPresence({ ttlMs: config.edge.heartbeatTimeoutMs }),
    pushBus: createMemoryPushBus(),
    messageStore: createMemoryMessageStore(),
    recentCache: createMemoryRecentCache(config.delivery.recent),
    groupDirectory: createMemoryGroupDirectory(),
    offlinePush: offlinePushFromConfig(config.offlinePush, createMemoryDeviceTokenStore()),
    webhooks: webhooksFromConfig(config),
    // Touches its directory only when used: here, to declare the media processor.
    objectStore: createLocalObjectStore({ dir: config.media.store.localDir, baseUrl: 'http://127.0.0.1', signingKey: null }),
  };
}

export interface RunningPipeline {
  /** The stores and tables this process holds, for the operators' state view (ops/state-view.ts). */
  state(): QueryableState[];
  stop(): Promise<void>;
}

/** The pipeline half: the topology's processors (all, or those named) and the query mirror. */
export async function startPipeline(infra: Infrastructure, logger: Logger, processors?: string[]): Promise<RunningPipeline> {
  const { config, log, serde } = infra;
  const groupDirectory: GroupDirectory & { stop(): Promise<void> } = await startLogGroupDirectory({ log, serde, appId: config.appId });
  const offlinePush = offlinePushFromConfig(config.offlinePush, infra.deviceTokens, logger);
  const topology = imTopology({ ...infra, groupDirectory, offlinePush, webhooks: webhooksFromConfig(config, logger.child({ component: 'webhooks' })) }, config);
  // `state-mirror` is no topology processor: the runtime gets the other names (else it throws).
  // Processors declared only when configured (the webhooks) are skipped when they are not, so
  // every replica of a group runs the same IM_PROCESSORS whether or not webhooks are on.
  const idle = OPTIONAL_PROCESSORS.filter((n) => !topology.processors.has(n) && (!processors || processors.includes(n)));
  if (idle.length > 0 && processors) logger.info('not configured, not running', { processors: idle });
  const topologyProcessors = processors?.filter((n) => n !== 'state-mirror' && !(idle as readonly string[]).includes(n));
  const app = new StreamsApp(topology, { log, serde, appId: config.appId, runtime: config.runtime, processors: topologyProcessors, logger });
  await app.start();
  const runMirror = !processors || processors.includes('state-mirror');
  const mirrorSink = runMirror ? new MirrorSink({ log, serde, store: infra.mirror, positions: infra.messageStore, groupId: `${config.appId}.state-mirror`, logger }) : null;
  await mirrorSink?.start();
  // Every processors process watches every group's commits from the broker: a stuck process
  // cannot report its own stall (ImConsumerStuck).
  const progress = config.engine === 'kafka' ? createGroupProgressWatch({ log, appId: config.appId, topology, clock: wallClock, logger, logStallAfterMs: 20_000 }) : null;
  progress?.start(config.health.intervalMs);
  return {
    state: () => app.queryableState(),
    stop: async () => {
      progress?.stop();
      await app.stop();
      await mirrorSink?.stop();
      await groupDirectory.stop();
      await offlinePush.close();
    },
  };
}

/** Without Redis, the gateways of one process share one status store, as they share the memory presence. */
const memoryStatusStores = new WeakMap<Infrastructure, StatusStore>();
function memoryStatus(infra: Infrastructure): StatusStore {
  let store = memoryStatusStores.get(infra);
  if (!store) memoryStatusStores.set(infra, (store = createMemoryStatusStore()));
  return store;
}

/**
 * Presence for people of one gateway process: status in the shared Redis when there is one, so
 * every gateway coalesces a user's events together; in this process's memory otherwise.
 */
export function startPeoplePresence(infra: Infrastructure, users: UserStore, logger: Logger): Omit<PeoplePresence, 'close'> & { close(): Promise<void> } {
  const status = infra.redis ? createRedisStatusStore({ redis: infra.redis, ttlMs: infra.config.edge.heartbeatTimeoutMs }) : memoryStatus(infra);
  const people = createPeoplePresence({ presence: infra.presence, status, pushBus: infra.pushBus, relations: infra.mirror, users, logger: logger.child({ component: 'people' }) }, infra.config.people);
  // The status store is not closed here: its Redis client is the infrastructure's, its memory one the process's.
  return { ...people, close: async () => people.close() };
}

export interface RunningEdge {
  gateway: Gateway;
  port: number;
  auth: RunningAuth;
  stop(): Promise<void>;
}

/** The edge half: auth, the HTTP API (commands, queries, devices) and the WebSocket gateway. */
export async function startEdge(infra: Infrastructure, logger: Logger, options: { staticDir?: string; routes?: readonly HttpRoute[]; worker?: GatewayDeps['worker'] } = {}): Promise<RunningEdge> {
  const { config, log, serde } = infra;
  const auth = await startAuth(config, { db: infra.db, redis: infra.redis, logger });
  const commands = createCommandProducer(await log.producer(), serde);
  const groupDirectory = await startLogGroupDirectory({ log, serde, appId: config.appId });
  const query = new QueryService({ store: infra.messageStore, recent: infra.recentCache, groups: groupDirectory, reads: infra.messageStore }, config.delivery.query);
  const people = startPeoplePresence(infra, auth.users, logger);
  auth.profiles.onUpdate((userId, patch) => {
    if (patch.presenceVisibility !== undefined) people.changed(userId);
  });
  const media = config.media;
  const allowance = infra.redis
    ? redisMediaAllowance(media.uploads, { redis: infra.redis, logger, keyPrefix: `im:media:${config.kafka.topicPrefix}` })
    : memoryMediaAllowance(media.uploads);
  const routes = [
    ...auth.routes,
    ...mediaRoutes({ store: infra.objectStore, mirror: infra.mirror, allowance }, media),
    ...relationRoutes({ commands, mirror: infra.mirror, users: auth.profiles }),
    ...groupRoutes({ commands, mirror: infra.mirror }),
    ...queryRoutes(query),
    ...presenceRoutes(people, config.people),
    ...deviceRoutes(infra.deviceTokens),
    // The local store's presigned URLs point here; an S3 store's point at the bucket.
    ...(isLocalObjectStore(infra.objectStore) ? mediaBlobRoutes(infra.objectStore) : []),
    ...(options.routes ?? []),
  ];
  const edgeConfig = options.staticDir && !config.edge.staticDir ? { ...config.edge, staticDir: options.staticDir } : config.edge;
  const gateway = createGateway({ log, serde, presence: infra.presence, pushBus: infra.pushBus, verifier: auth.verifier, routes, logger, people, dependencies: () => infra.health.status(), worker: options.worker }, edgeConfig);
  const { port } = await gateway.start();
  return {
    gateway,
    port,
    auth,
    stop: async () => {
      await gateway.stop();
      await people.close();
      await groupDirectory.stop();
      auth.stop();
    },
  };
}
