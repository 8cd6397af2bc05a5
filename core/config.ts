import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';

/**
 * Media (docs/protocol.md#media): the kinds, the types the platform can recognise by their first
 * bytes (domain/media.ts has one check per type, keyed by this list) and the default limits.
 * Declared here, below protocol and domain, so the config can validate its media settings;
 * domain/media.ts re-exports them.
 */
export const MEDIA_KINDS = ['image', 'file', 'audio', 'video'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];
export const RECOGNISABLE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'application/zip', 'video/mp4', 'video/webm', 'audio/mpeg', 'audio/ogg', 'audio/wav', 'text/plain'] as const;
export type RecognisableMediaType = (typeof RECOGNISABLE_MEDIA_TYPES)[number];

/**
 * The types each kind allows by default (IM_MEDIA_<KIND>_TYPES narrows or reorders them): only
 * recognisable ones, so no upload is taken on its word. A `file` may be any of them, a
 * document, plain text or a zip archive.
 */
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const AUDIO_TYPES = ['audio/mpeg', 'audio/ogg', 'audio/wav'];
const VIDEO_TYPES = ['video/mp4', 'video/webm'];
export const DEFAULT_MEDIA_TYPES: Record<MediaKind, readonly string[]> = {
  image: IMAGE_TYPES,
  audio: AUDIO_TYPES,
  video: VIDEO_TYPES,
  file: ['application/pdf', 'text/plain', 'application/zip', ...IMAGE_TYPES, ...AUDIO_TYPES, ...VIDEO_TYPES],
};

/** Bytes each kind may have by default (IM_MEDIA_<KIND>_MAX_BYTES). */
export const DEFAULT_MEDIA_MAX_BYTES: Record<MediaKind, number> = {
  image: 20 * 1024 * 1024,
  file: 100 * 1024 * 1024,
  audio: 50 * 1024 * 1024,
  video: 200 * 1024 * 1024,
};

/** Per kind: the types allowed and the largest size (`media.limits`). */
export type MediaLimits = Record<MediaKind, { types: readonly string[]; maxBytes: number }>;

/**
 * The Kafka client libraries the platform can run on (IM_KAFKA_CLIENT). Declared here, below the
 * stream runtime, so the config can validate the setting; streams/log.ts re-exports them.
 */
export const KAFKA_CLIENTS = ['kafkajs', 'confluent', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/**
 * The one typed configuration module. Every setting is an environment variable with a
 * default that works on a developer machine; `loadConfig` validates them all at start and
 * reports every problem at once. In production mode development defaults are refused.
 */
export interface PlatformConfig {
  mode: 'development' | 'production';
  /** `memory` runs the whole platform in one process; `kafka` uses the real stack. */
  engine: 'memory' | 'kafka';
  appId: string;
  /**
   * `topicPrefix` namespaces every topic and consumer group, so platforms (or test runs) share a cluster;
   * `client` is the client library the log runs on (streams/kafka-clients.ts); `fetch` what this
   * process's consumers ask of a fetch (KafkaTuning, docs/tuning.md).
   */
  kafka: { brokers: string[]; clientId: string; topicPrefix: string; client: KafkaClientName; fetch: { minBytes: number; maxWaitMs: number } };
  registry: { url: string };
  redis: { url: string | null };
  /**
   * `maxPoolSize` and `waitQueueTimeoutMs` size every MongoClient; `updatesPerCommand` bounds the
   * statements of one update command (connectors/mongo/pool.ts says why: FerretDB's pool).
   */
  mongo: { url: string | null; database: string; maxPoolSize: number; waitQueueTimeoutMs: number; updatesPerCommand: number };
  runtime: {
    /** Transient failures per record before it goes to the dead-letter topic. */
    maxRetries: number;
    retryInitialMs: number;
    retryMaxMs: number;
    /** Partitions of a batch processed at once by one processor. */
    partitionsConcurrency: number;
    /**
     * The most keys each of the stamper's in-memory stores holds, by changelog topic. Their
     * retention is the changelog's (schemas/topics.json); this bounds their memory whatever the
     * traffic: past it, the oldest write is forgotten first.
     */
    stateLimits: Record<string, { retentionMs?: number; maxEntries?: number }>;
  };
  edge: {
    host: string;
    port: number;
    gatewayId: string;
    /**
     * Worker processes of one gateway instance (ops/bin/gateway.ts), all on `port`: each holds
     * up to its own file limit. Default: one per core; one with IM_ENGINE=memory, whose workers
     * would share no state (set it explicitly to run several anyway, as the instance's tests do).
     * Worker i's gateway id is `<gatewayId>-<i>`.
     */
    workers: number;
    heartbeatIntervalMs: number;
    heartbeatTimeoutMs: number;
    maxFrameBytes: number;
    userRatePerSec: number;
    maxDevicesPerUser: number;
    allowedOrigins: string[];
    deliveryAckTimeoutMs: number;
    /** Acks are folded into DELIVERED receipts (the highest seq per user and conversation) and sent on this often. */
    deliveredReceiptIntervalMs: number;
    /** At most this many DELIVERED receipts a second per conversation from one gateway (edge/gateway/delivered.ts). */
    deliveredReceiptsPerConversation: number;
    maxBackpressureBytes: number;
    /** Ingress frames wait at most this long to be produced together in one batch. */
    ingressLingerMs: number;
    ingressBatchMax: number;
    maxHttpBodyBytes: number;
    /** Files served at `/` (the web client); null serves nothing there. */
    staticDir: string | null;
  };
  auth: {
    issuer: string;
    audience: string;
    accessTtlSec: number;
    refreshTtlSec: number;
    /** PEM-encoded PKCS#8 private key; null means generate an ephemeral key (development only). */
    privateKeyPem: string | null;
    jwksUrl: string | null;
    /** scrypt cost N (power of two); 2^15 in production, lower only to speed up tests. */
    scryptCost: number;
    /** Leeway for exp/iat/nbf between the issuer's and the verifier's clocks. */
    clockToleranceSec: number;
    /** Failed logins allowed per username, and per remote address, within the window. */
    loginMaxFailuresPerUser: number;
    loginMaxFailuresPerAddress: number;
    loginWindowSec: number;
  };
  /** People: profiles and finding users (GET/PUT /v1/profile, GET /v1/users), presence for friends. */
  people: {
    /** Most users one search page, one batch by ids or one presence query returns. */
    pageMax: number;
    /** How long clients and caches may keep another user's profile before asking again. */
    cacheMaxAgeSec: number;
    /**
     * Presence events of one user are coalesced over this window: a change is told to friends at
     * most once per window (over every gateway), with the state at the end of it, so a user
     * who flaps costs their friends at most one event a window.
     */
    presenceWindowMs: number;
  };
  /** Settings of the message pipeline's processors (router, relations, groups, message logic). */
  pipeline: {
    /** Direct messages only between accepted friends (notes to self are always allowed). */
    requireFriendship: boolean;
    /**
     * The README's stateful example (topologies/examples/conversation-counter.ts) runs: two
     * changelog records per message, a cost no deployment should pay unless it reads them.
     */
    exampleCounter: boolean;
    /** Words the content filter matches, case-insensitively. */
    sensitiveWords: string[];
    /** `mask` replaces each match with ***; `reject` refuses the message with CONTENT_REJECTED. */
    sensitiveMode: 'mask' | 'reject';
    maxContentChars: number;
    /** Router's per-user token bucket: sustained frames per second and burst size. */
    routerRatePerSec: number;
    routerBurst: number;
    /** Frames older than this when routed are counted as late (served all the same: a backlog). */
    routerStaleMs: number;
    /** Consecutive failures that open the router's circuit, and how long it stays open. */
    breakerFailureThreshold: number;
    breakerOpenMs: number;
    /** Plain members may add members (otherwise admins and the owner only). */
    membersCanInvite: boolean;
    maxGroupMembers: number;
    /** Recall, edit and reactions (domain/message-changes.ts): the windows, and the bounds on reactions per message. */
    messageChanges: { recallWindowMs: number; editWindowMs: number; maxReactionEmoji: number; maxReactionsPerMessage: number; maxReactionsPerUser: number };
  };
  /** Push orchestration, receipts, typing, the persistence writer and data query. */
  delivery: {
    /** Push fan-out: users per presence round trip, round trips in flight, deliveries per record, preview length. */
    fanout: { presenceBatchSize: number; presenceConcurrency: number; maxDeliveriesPerPush: number; previewChars: number };
    /** Groups above this size get no per-member receipt notifications. */
    receipts: { maxGroupNotify: number };
    typing: { perUser: { ratePerSec: number; burst: number }; maxGroupMembers: number };
    /** Persistence writer: messages per bulk write, and how long a bulk waits for more (topologies/processors/persistence.ts). */
    writer: { maxItems: number; lingerMs: number };
    /** Recent-message cache (Redis): messages kept per conversation, idle expiry. */
    recent: { perConversation: number; ttlSec: number };
    query: { defaultPageSize: number; maxPageSize: number; maxConversations: number };
  };
  /** Offline push vendors; a vendor without credentials is off (its devices get nothing). */
  offlinePush: {
    requestTimeoutMs: number;
    /** Per vendor and process: requests per second and burst; retries; circuit breaker. */
    ratePerSec: number;
    burst: number;
    retries: number;
    retryInitialMs: number;
    retryMaxMs: number;
    breakerFailureThreshold: number;
    breakerOpenMs: number;
    apns: null | { endpoint: string; bundleId: string; keyPem: string; keyId: string; teamId: string; refreshAfterMs: number };
    /** `serviceAccount` is the service-account JSON key's fields. */
    fcm: null | { endpoint: string; serviceAccount: { client_email: string; private_key: string; private_key_id?: string; token_uri: string; project_id: string } };
  };
  /**
   * Webhooks (connectors/webhooks, docs/protocol.md#webhooks): an event whose URL is unset is off.
   * Every call is signed with `secret` (HMAC-SHA256), and with `previousSecret` too while receivers
   * move to a new one.
   */
  webhooks: {
    secret: string | null;
    previousSecret: string | null;
    /**
     * Asked synchronously by message logic for each permitted send of `scope`: allow, refuse or
     * rewrite. `onFailure` is what a timeout, an error answer or an open circuit means:
     * `allow` (fail-open, the default) or `refuse` (fail-closed: SERVICE_UNAVAILABLE).
     */
    beforeSend: null | { url: string; scope: 'direct' | 'group' | 'both'; timeoutMs: number; onFailure: 'allow' | 'refuse' };
    /** After-events, delivered at least once through im.webhook.deliveries. */
    afterSendUrl: string | null;
    afterFriendChangeUrl: string | null;
    afterGroupChangeUrl: string | null;
    /** One after-event POST: its timeout, retries with back-off, then the dead-letter topic. */
    timeoutMs: number;
    retries: number;
    retryInitialMs: number;
    retryMaxMs: number;
    /** Per endpoint (and processor): consecutive failures that open its circuit, and for how long. */
    breakerFailureThreshold: number;
    breakerOpenMs: number;
  };
  /**
   * Media (docs/protocol.md#media, domain/media.ts): what may be uploaded, how much, and how long
   * objects and URLs live; where the bytes live (connectors/object-store).
   */
  media: {
    store: MediaStoreConfig;
    /** Per kind: the allowed types (each one domain/media.ts can sniff) and the largest size in bytes. */
    limits: MediaLimits;
    uploads: {
      /** How long an upload URL (POST /v1/media/uploads) and a download URL (GET /v1/media/:id) stay valid. */
      uploadUrlTtlSec: number;
      downloadUrlTtlSec: number;
      /** Upload slots per user within the window, and bytes per user per UTC day (counted at the slot). */
      slotsPerWindow: number;
      slotWindowSec: number;
      dailyQuotaBytes: number;
      /** The send path's object-store calls for one item (head, first bytes, delete) give up after this. */
      checkTimeoutMs: number;
    };
    lifecycle: {
      /** A recalled message's media is deleted this long after the recall. */
      recallGraceSec: number;
      /** An object uploaded and never attached is deleted after this. */
      pendingTimeoutSec: number;
      /** Attached media older than this many days is deleted; 0 keeps it. */
      retentionDays: number;
      /** How often the media processor's janitor looks for what to delete (a wall-clock punctuation). */
      janitorIntervalSec: number;
    };
  };
  /** Processors this process runs (`ops/bin/processors.ts`); `all` or names of topologies/im-topology.ts. */
  processors: string[];
  metricsPort: number;
  /** Dependency probes behind /readyz (ops/health.ts): how often, and how long one may take. */
  health: { intervalMs: number; timeoutMs: number };
  /**
   * The operators' credential (IM_ADMIN_TOKEN, a bearer secret): what the read-only state view
   * (ops/state-view.ts) asks for. Unset: the view is off.
   */
  admin: { token: string | null };
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * How far past its live size the JS heap may grow before a full collection, in percent
   * (IM_HEAP_GROWING_PERCENT; 0: V8's own factor, up to 4x live). Applied by `core/heap.ts`.
   */
  heapGrowingPercent: number;
}

/**
 * The object store: an S3-compatible bucket when IM_S3_ENDPOINT is set, else a local directory
 * served by the platform's own routes (`make run`). `publicEndpoint` is the host clients reach
 * the bucket at (presigned URLs are signed for it); `signingKey` signs the local store's URLs
 * (null: a random key per process, so a URL dies with the process that signed it and no other
 * redeems it: set it when gateway workers or separate processes share the local store).
 */
export interface MediaStoreConfig {
  kind: 's3' | 'local';
  s3: null | { endpoint: string; publicEndpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  localDir: string;
  /** The base of the local store's URLs as clients reach the edge; null: the edge's own address. */
  localPublicUrl: string | null;
  signingKey: string | null;
}

type Env = Record<string, string | undefined>;

class EnvReader {
  readonly problems: string[] = [];
  readonly defaulted: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const v = this.env[name];
    if (v === undefined || v === '') {
      this.defaulted.push(name);
      return fallback;
    }
    return v;
  }

  optional(name: string): string | null {
    const v = this.env[name];
    return v === undefined || v === '' ? null : v;
  }

  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name}=${raw} must be an integer in [${min}, ${max}]`);
      return fallback;
    }
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name}=${raw} must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    return raw.split(',').map((s) => s.trim()).filter(Boolean);
  }
}

export function loadConfig(env: Env = process.env): PlatformConfig {
  const r = new EnvReader(env);
  const mode = r.oneOf('IM_MODE', ['development', 'production'] as const, 'development');
  const engine = r.oneOf('IM_ENGINE', ['memory', 'kafka'] as const, 'memory');
  const config: PlatformConfig = {
    mode,
    engine,
    appId: r.string('IM_APP_ID', 'im'),
    kafka: {
      brokers: r.list('IM_KAFKA_BROKERS', ['127.0.0.1:9092']),
      clientId: r.string('IM_KAFKA_CLIENT_ID', 'im-platform'),
      topicPrefix: r.string('IM_TOPIC_PREFIX', ''),
      // platformatic by measurement: docs/tuning.md and the README's performance section.
      client: r.oneOf('IM_KAFKA_CLIENT', KAFKA_CLIENTS, 'platformatic'),
      // 1 byte: a fetch is answered at the first record. The storage group may gather (docs/tuning.md).
      fetch: { minBytes: r.int('IM_KAFKA_FETCH_MIN_BYTES', 1, 1, 64 * 1024 * 1024), maxWaitMs: r.int('IM_KAFKA_FETCH_MAX_WAIT_MS', 500, 1, 30_000) },
    },
    registry: { url: r.string('IM_SCHEMA_REGISTRY_URL', 'http://127.0.0.1:8081/apis/ccompat/v7') },
    redis: { url: r.optional('IM_REDIS_URL') },
    mongo: {
      url: r.optional('IM_MONGO_URL'),
      database: r.string('IM_MONGO_DB', 'im'),
      maxPoolSize: r.int('IM_MONGO_MAX_POOL', 10, 1, 1000),
      waitQueueTimeoutMs: r.int('IM_MONGO_WAIT_QUEUE_TIMEOUT_MS', 10_000, 100, 600_000),
      updatesPerCommand: r.int('IM_MONGO_UPDATES_PER_COMMAND', 16, 1, 100_000),
    },
    runtime: {
      maxRetries: r.int('IM_RUNTIME_MAX_RETRIES', 5, 0, 100),
      retryInitialMs: r.int('IM_RUNTIME_RETRY_INITIAL_MS', 100, 1),
      retryMaxMs: r.int('IM_RUNTIME_RETRY_MAX_MS', 5_000, 1),
      partitionsConcurrency: r.int('IM_RUNTIME_PARTITIONS_CONCURRENCY', 4, 1, 256),
      // About 450 bytes a key: 500,000 keys are about 225 MB per store, the last hour of
      // messages at 140 msg/s (ops/README.md, "State in memory").
      stateLimits: {
        'im.state.dedup': { maxEntries: r.int('IM_DEDUP_MAX_ENTRIES', 500_000, 1) },
        'im.state.messages': { maxEntries: r.int('IM_MESSAGE_INDEX_MAX_ENTRIES', 500_000, 1) },
      },
    },
    edge: {
      host: r.string('IM_EDGE_HOST', '127.0.0.1'),
      port: r.int('IM_EDGE_PORT', 8080, 0, 65535),
      gatewayId: r.string('IM_GATEWAY_ID', `gw-${process.pid}`),
      workers: r.int('IM_GATEWAY_WORKERS', engine === 'memory' ? 1 : availableParallelism(), 1, 1024),
      heartbeatIntervalMs: r.int('IM_HEARTBEAT_INTERVAL_MS', 30_000, 10),
      heartbeatTimeoutMs: r.int('IM_HEARTBEAT_TIMEOUT_MS', 90_000, 10),
      maxFrameBytes: r.int('IM_MAX_FRAME_BYTES', 10 * 1024, 128),
      userRatePerSec: r.int('IM_USER_RATE_PER_SEC', 100, 1),
      maxDevicesPerUser: r.int('IM_MAX_DEVICES_PER_USER', 5, 1),
      allowedOrigins: r.list('IM_ALLOWED_ORIGINS', []),
      deliveryAckTimeoutMs: r.int('IM_DELIVERY_ACK_TIMEOUT_MS', 5_000, 10),
      deliveredReceiptIntervalMs: r.int('IM_DELIVERED_RECEIPT_INTERVAL_MS', 1_000, 10, 60_000),
      deliveredReceiptsPerConversation: r.int('IM_DELIVERED_RECEIPTS_PER_CONVERSATION', 100, 1),
      maxBackpressureBytes: r.int('IM_MAX_BACKPRESSURE_BYTES', 256 * 1024, 1024),
      ingressLingerMs: r.int('IM_INGRESS_LINGER_MS', 2, 0, 1_000),
      ingressBatchMax: r.int('IM_INGRESS_BATCH_MAX', 500, 1, 100_000),
      maxHttpBodyBytes: r.int('IM_MAX_HTTP_BODY_BYTES', 64 * 1024, 1024),
      staticDir: r.optional('IM_EDGE_STATIC_DIR'),
    },
    auth: {
      issuer: r.string('IM_AUTH_ISSUER', 'im-platform-dev'),
      audience: r.string('IM_AUTH_AUDIENCE', 'im-clients'),
      accessTtlSec: r.int('IM_AUTH_ACCESS_TTL_SEC', 900, 10),
      refreshTtlSec: r.int('IM_AUTH_REFRESH_TTL_SEC', 30 * 24 * 3600, 60),
      privateKeyPem: r.optional('IM_AUTH_PRIVATE_KEY_PEM'),
      jwksUrl: r.optional('IM_AUTH_JWKS_URL'),
      scryptCost: r.int('IM_AUTH_SCRYPT_COST', 1 << 15, 2, 1 << 20),
      clockToleranceSec: r.int('IM_AUTH_CLOCK_TOLERANCE_SEC', 5, 0, 300),
      loginMaxFailuresPerUser: r.int('IM_AUTH_LOGIN_MAX_FAILURES_PER_USER', 5, 1),
      loginMaxFailuresPerAddress: r.int('IM_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS', 20, 1),
      loginWindowSec: r.int('IM_AUTH_LOGIN_WINDOW_SEC', 900, 1),
    },
    people: {
      pageMax: r.int('IM_PROFILE_PAGE_MAX', 50, 1, 500),
      cacheMaxAgeSec: r.int('IM_PROFILE_CACHE_MAX_AGE_SEC', 60, 0, 86_400),
      presenceWindowMs: r.int('IM_PRESENCE_WINDOW_MS', 3_000, 0, 600_000),
    },
    pipeline: {
      requireFriendship: r.oneOf('IM_REQUIRE_FRIENDSHIP', ['true', 'false'] as const, 'true') === 'true',
      exampleCounter: r.oneOf('IM_EXAMPLE_COUNTER', ['true', 'false'] as const, 'false') === 'true',
      sensitiveWords: r.list('IM_SENSITIVE_WORDS', []),
      sensitiveMode: r.oneOf('IM_SENSITIVE_MODE', ['mask', 'reject'] as const, 'mask'),
      maxContentChars: r.int('IM_MAX_CONTENT_CHARS', 4000, 1),
      routerRatePerSec: r.int('IM_ROUTER_RATE_PER_SEC', 100, 1),
      routerBurst: r.int('IM_ROUTER_BURST', 200, 1),
      routerStaleMs: r.int('IM_ROUTER_STALE_MS', 30_000, 100),
      breakerFailureThreshold: r.int('IM_BREAKER_FAILURE_THRESHOLD', 20, 1),
      breakerOpenMs: r.int('IM_BREAKER_OPEN_MS', 5_000, 10),
      membersCanInvite: r.oneOf('IM_GROUP_MEMBERS_CAN_INVITE', ['true', 'false'] as const, 'false') === 'true',
      maxGroupMembers: r.int('IM_MAX_GROUP_MEMBERS', 2000, 2),
      messageChanges: {
        recallWindowMs: r.int('IM_RECALL_WINDOW_MS', 120_000, 0),
        editWindowMs: r.int('IM_EDIT_WINDOW_MS', 900_000, 0),
        maxReactionEmoji: r.int('IM_REACTION_EMOJI_PER_MESSAGE', 20, 1),
        maxReactionsPerMessage: r.int('IM_REACTIONS_PER_MESSAGE', 500, 1),
        maxReactionsPerUser: r.int('IM_REACTIONS_PER_USER', 3, 1),
      },
    },
    delivery: {
      fanout: {
        presenceBatchSize: r.int('IM_PUSH_PRESENCE_BATCH', 500, 1, 10_000),
        presenceConcurrency: r.int('IM_PUSH_PRESENCE_CONCURRENCY', 4, 1, 64),
        maxDeliveriesPerPush: r.int('IM_PUSH_MAX_DELIVERIES_PER_RECORD', 500, 1, 100_000),
        previewChars: r.int('IM_PUSH_PREVIEW_CHARS', 100, 0, 4000),
      },
      receipts: { maxGroupNotify: r.int('IM_RECEIPTS_MAX_GROUP_NOTIFY', 200, 0) },
      typing: {
        perUser: { ratePerSec: r.int('IM_TYPING_RATE_PER_SEC', 2, 1), burst: r.int('IM_TYPING_BURST', 5, 1) },
        maxGroupMembers: r.int('IM_TYPING_MAX_GROUP_MEMBERS', 100, 2),
      },
      writer: { maxItems: r.int('IM_WRITER_BATCH_SIZE', 500, 1, 100_000), lingerMs: r.int('IM_WRITER_LINGER_MS', 20, 0, 1_000) },
      recent: { perConversation: r.int('IM_RECENT_PER_CONVERSATION', 200, 1, 100_000), ttlSec: r.int('IM_RECENT_TTL_SEC', 7 * 24 * 3600, 1) },
      query: {
        defaultPageSize: r.int('IM_QUERY_DEFAULT_PAGE', 50, 1, 1000),
        maxPageSize: r.int('IM_QUERY_MAX_PAGE', 200, 1, 1000),
        maxConversations: r.int('IM_QUERY_MAX_CONVERSATIONS', 200, 1, 10_000),
      },
    },
    offlinePush: {
      requestTimeoutMs: r.int('IM_PUSH_VENDOR_TIMEOUT_MS', 10_000, 100),
      ratePerSec: r.int('IM_PUSH_VENDOR_RATE_PER_SEC', 500, 1),
      burst: r.int('IM_PUSH_VENDOR_BURST', 1000, 1),
      retries: r.int('IM_PUSH_VENDOR_RETRIES', 3, 0, 20),
      retryInitialMs: r.int('IM_PUSH_VENDOR_RETRY_INITIAL_MS', 200, 1),
      retryMaxMs: r.int('IM_PUSH_VENDOR_RETRY_MAX_MS', 10_000, 1),
      breakerFailureThreshold: r.int('IM_PUSH_VENDOR_BREAKER_FAILURES', 20, 1),
      breakerOpenMs: r.int('IM_PUSH_VENDOR_BREAKER_OPEN_MS', 30_000, 10),
      apns: apnsConfig(r),
      fcm: fcmConfig(r),
    },
    webhooks: webhooksConfig(r),
    media: {
      store: mediaStoreConfig(r, mode),
      limits: mediaLimits(r),
      uploads: {
        uploadUrlTtlSec: r.int('IM_MEDIA_UPLOAD_URL_TTL_SEC', 900, 10, 7 * 86_400),
        downloadUrlTtlSec: r.int('IM_MEDIA_DOWNLOAD_URL_TTL_SEC', 300, 10, 7 * 86_400),
        slotsPerWindow: r.int('IM_MEDIA_UPLOAD_SLOTS_PER_WINDOW', 60, 1),
        slotWindowSec: r.int('IM_MEDIA_UPLOAD_SLOT_WINDOW_SEC', 60, 1, 86_400),
        dailyQuotaBytes: r.int('IM_MEDIA_DAILY_QUOTA_BYTES', 2 * 1024 * 1024 * 1024, 1),
        checkTimeoutMs: r.int('IM_MEDIA_CHECK_TIMEOUT_MS', 5_000, 10, 120_000),
      },
      lifecycle: {
        recallGraceSec: r.int('IM_MEDIA_RECALL_GRACE_SEC', 3600, 0),
        pendingTimeoutSec: r.int('IM_MEDIA_PENDING_TIMEOUT_SEC', 86_400, 60),
        retentionDays: r.int('IM_MEDIA_RETENTION_DAYS', 0, 0, 36_500),
        janitorIntervalSec: r.int('IM_MEDIA_JANITOR_INTERVAL_SEC', 60, 1, 86_400),
      },
    },
    processors: r.list('IM_PROCESSORS', ['all']),
    metricsPort: r.int('IM_METRICS_PORT', 9464, 0, 65535),
    health: { intervalMs: r.int('IM_HEALTH_INTERVAL_MS', 5_000, 100), timeoutMs: r.int('IM_HEALTH_TIMEOUT_MS', 2_000, 10) },
    admin: { token: r.optional('IM_ADMIN_TOKEN') },
    logLevel: r.oneOf('IM_LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
    heapGrowingPercent: r.int('IM_HEAP_GROWING_PERCENT', 50, 0, 1000),
  };
  if (config.edge.heartbeatTimeoutMs <= config.edge.heartbeatIntervalMs) {
    r.problems.push('IM_HEARTBEAT_TIMEOUT_MS must be larger than IM_HEARTBEAT_INTERVAL_MS');
  }
  if ((config.auth.scryptCost & (config.auth.scryptCost - 1)) !== 0)
    r.problems.push('IM_AUTH_SCRYPT_COST must be a power of two');
  if (mode === 'production') {
    if (config.auth.scryptCost < 1 << 14) r.problems.push('IM_AUTH_SCRYPT_COST below 16384 is for tests only');
    for (const name of ['IM_AUTH_ISSUER', 'IM_GATEWAY_ID'])
      if (r.defaulted.includes(name)) r.problems.push(`${name} must be set in production mode`);
    if (!config.auth.privateKeyPem && !config.auth.jwksUrl)
      r.problems.push('IM_AUTH_PRIVATE_KEY_PEM or IM_AUTH_JWKS_URL must be set in production mode');
    if (config.engine === 'memory') r.problems.push('IM_ENGINE=memory is for development; use kafka in production');
  }
  // A short secret is guessed; the state view shows every table's keys and values.
  if (config.admin.token !== null && config.admin.token.length < 24) r.problems.push('IM_ADMIN_TOKEN must be at least 24 characters');
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/**
 * Per kind: IM_MEDIA_<KIND>_TYPES (comma-separated) and IM_MEDIA_<KIND>_MAX_BYTES. A type
 * the platform cannot recognise by its first bytes is refused: the send path would refuse
 * every upload of it as MEDIA_MISMATCH.
 */
function mediaLimits(r: EnvReader): MediaLimits {
  const limits = {} as MediaLimits;
  for (const kind of MEDIA_KINDS) {
    const name = `IM_MEDIA_${kind.toUpperCase()}_TYPES`;
    const types = r.list(name, [...DEFAULT_MEDIA_TYPES[kind]]);
    const unknown = types.filter((t) => !(RECOGNISABLE_MEDIA_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) r.problems.push(`${name}: ${unknown.join(', ')} not recognisable (known: ${RECOGNISABLE_MEDIA_TYPES.join(', ')})`);
    limits[kind] = { types, maxBytes: r.int(`IM_MEDIA_${kind.toUpperCase()}_MAX_BYTES`, DEFAULT_MEDIA_MAX_BYTES[kind], 1) };
  }
  return limits;
}

/** Webhook endpoints must be http(s) URLs, and any endpoint needs the signing secret. */
function webhooksConfig(r: EnvReader): PlatformConfig['webhooks'] {
  const url = (name: string): string | null => {
    const v = r.optional(name);
    if (v === null) return null;
    let parsed: URL | null = null;
    try {
      parsed = new URL(v);
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      r.problems.push(`${name}=${v} must be an http or https URL`);
      return null;
    }
    return v;
  };
  const beforeSendUrl = url('IM_WEBHOOK_BEFORE_SEND_URL');
  const config: PlatformConfig['webhooks'] = {
    secret: r.optional('IM_WEBHOOK_SECRET'),
    previousSecret: r.optional('IM_WEBHOOK_PREVIOUS_SECRET'),
    beforeSend: null,
    afterSendUrl: url('IM_WEBHOOK_AFTER_SEND_URL'),
    afterFriendChangeUrl: url('IM_WEBHOOK_AFTER_FRIEND_CHANGE_URL'),
    afterGroupChangeUrl: url('IM_WEBHOOK_AFTER_GROUP_CHANGE_URL'),
    timeoutMs: r.int('IM_WEBHOOK_TIMEOUT_MS', 5_000, 10, 120_000),
    retries: r.int('IM_WEBHOOK_RETRIES', 8, 0, 100),
    retryInitialMs: r.int('IM_WEBHOOK_RETRY_INITIAL_MS', 500, 1),
    retryMaxMs: r.int('IM_WEBHOOK_RETRY_MAX_MS', 30_000, 1),
    breakerFailureThreshold: r.int('IM_WEBHOOK_BREAKER_FAILURES', 5, 1),
    breakerOpenMs: r.int('IM_WEBHOOK_BREAKER_OPEN_MS', 10_000, 10),
  };
  // Read even when off, so a mistyped value is reported before someone turns the hook on.
  const scope = r.oneOf('IM_WEBHOOK_BEFORE_SEND_SCOPE', ['direct', 'group', 'both'] as const, 'both');
  const timeoutMs = r.int('IM_WEBHOOK_BEFORE_SEND_TIMEOUT_MS', 500, 10, 10_000);
  const onFailure = r.oneOf('IM_WEBHOOK_BEFORE_SEND_ON_FAILURE', ['allow', 'refuse'] as const, 'allow');
  if (beforeSendUrl) config.beforeSend = { url: beforeSendUrl, scope, timeoutMs, onFailure };
  const anyEndpoint = beforeSendUrl || config.afterSendUrl || config.afterFriendChangeUrl || config.afterGroupChangeUrl;
  if (anyEndpoint && !config.secret) r.problems.push('a webhook URL needs IM_WEBHOOK_SECRET (the key its calls are signed with)');
  if (config.secret !== null && config.secret.length < 16) r.problems.push('IM_WEBHOOK_SECRET must be at least 16 characters');
  if (config.previousSecret !== null && !config.secret) r.problems.push('IM_WEBHOOK_PREVIOUS_SECRET needs IM_WEBHOOK_SECRET (the new secret)');
  return config;
}

/**
 * The media store's settings. The stack's SeaweedFS identity is the development default
 * (ops/stack/env.sh writes the same one), refused in production like every development default.
 */
function mediaStoreConfig(r: EnvReader, mode: PlatformConfig['mode']): MediaStoreConfig {
  const endpoint = r.optional('IM_S3_ENDPOINT');
  const config: MediaStoreConfig = {
    kind: endpoint ? 's3' : 'local',
    s3: null,
    // Relative to the working directory: `make run` runs at the repository root (.data/ is git-ignored).
    localDir: r.string('IM_MEDIA_DIR', '.data/media'),
    localPublicUrl: r.optional('IM_MEDIA_PUBLIC_URL'),
    signingKey: r.optional('IM_MEDIA_SIGNING_KEY'),
  };
  if (config.signingKey !== null && config.signingKey.length < 32) r.problems.push('IM_MEDIA_SIGNING_KEY must be at least 32 characters');
  if (endpoint) {
    const s3 = {
      endpoint,
      publicEndpoint: r.string('IM_S3_PUBLIC_ENDPOINT', endpoint),
      region: r.string('IM_S3_REGION', 'us-east-1'),
      bucket: r.string('IM_S3_BUCKET', 'im-media'),
      accessKeyId: r.string('IM_S3_ACCESS_KEY_ID', 'im-platform'),
      secretAccessKey: r.string('IM_S3_SECRET_ACCESS_KEY', 'im-platform-dev-secret'),
    };
    for (const [name, v] of [['IM_S3_ENDPOINT', s3.endpoint], ['IM_S3_PUBLIC_ENDPOINT', s3.publicEndpoint]] as const)
      if (!/^https?:\/\/[^/]+\/?$/.test(v)) r.problems.push(`${name}=${v} must be an http or https origin (path-style: no bucket, no path)`);
    if (mode === 'production')
      for (const name of ['IM_S3_ACCESS_KEY_ID', 'IM_S3_SECRET_ACCESS_KEY'])
        if (r.defaulted.includes(name)) r.problems.push(`${name} must be set in production mode`);
    config.s3 = s3;
  }
  return config;
}

/** APNs is on when its key is given; then key id, team id and bundle id are required too. */
function apnsConfig(r: EnvReader): PlatformConfig['offlinePush']['apns'] {
  const keyPem = r.optional('IM_APNS_KEY_PEM');
  if (!keyPem) return null;
  const keyId = r.optional('IM_APNS_KEY_ID');
  const teamId = r.optional('IM_APNS_TEAM_ID');
  const bundleId = r.optional('IM_APNS_BUNDLE_ID');
  if (!keyId || !teamId || !bundleId) {
    r.problems.push('IM_APNS_KEY_PEM needs IM_APNS_KEY_ID, IM_APNS_TEAM_ID and IM_APNS_BUNDLE_ID');
    return null;
  }
  return {
    endpoint: r.string('IM_APNS_ENDPOINT', 'https://api.push.apple.com'),
    bundleId,
    keyPem: keyPem.replace(/\\n/g, '\n'),
    keyId,
    teamId,
    refreshAfterMs: r.int('IM_APNS_TOKEN_REFRESH_MS', 50 * 60_000, 60_000, 55 * 60_000),
  };
}

/** FCM is on when a service-account JSON key is given (its text, not a path). */
function fcmConfig(r: EnvReader): PlatformConfig['offlinePush']['fcm'] {
  const raw = r.optional('IM_FCM_SERVICE_ACCOUNT_JSON');
  if (!raw) return null;
  try {
    const sa = JSON.parse(raw) as Record<string, unknown>;
    for (const f of ['client_email', 'private_key', 'project_id'] as const) if (typeof sa[f] !== 'string') throw new Error(`${f} missing`);
    return {
      endpoint: r.string('IM_FCM_ENDPOINT', 'https://fcm.googleapis.com'),
      serviceAccount: {
        client_email: sa.client_email as string,
        private_key: sa.private_key as string,
        private_key_id: typeof sa.private_key_id === 'string' ? sa.private_key_id : undefined,
        token_uri: typeof sa.token_uri === 'string' ? sa.token_uri : 'https://oauth2.googleapis.com/token',
        project_id: sa.project_id as string,
      },
    };
  } catch (err) {
    r.problems.push(`IM_FCM_SERVICE_ACCOUNT_JSON is not a service-account key: ${(err as Error).message}`);
    return null;
  }
}
