import type { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { PlatformConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { HttpRoute } from '../http/routes.js';
import { loadKeys } from './keys.js';
import { createMemoryRefreshStore } from './refresh-store-memory.js';
import { createMongoRefreshStore } from './refresh-store-mongo.js';
import { redisFailureLogs } from './throttle-redis.js';
import { profileRoutes } from './profile-routes.js';
import { createProfiles, type Profiles } from './profiles.js';
import { authRoutes } from './routes.js';
import { createAuthService, type AuthService } from './service.js';
import type { TokenVerifier } from './token-verifier.js';
import { createMemoryUserStore } from './user-store-memory.js';
import { createMongoUserStore } from './user-store-mongo.js';
import type { UserStore } from './user-store.js';
import { createJwksVerifier } from './verifier-jwks.js';

export interface RunningAuth {
  service: AuthService;
  /** Profiles and finding people, over the same user store. */
  profiles: Profiles;
  /** The accounts themselves: presence reads visibility settings and keeps last seen there. */
  users: UserStore;
  routes: HttpRoute[];
  verifier: TokenVerifier;
  /** Stops the refresh-token purge timer. The Db belongs to the caller, who closes it. */
  stop(): void;
}

export interface StartAuthDeps {
  /** The platform's MongoDB database; null runs on memory stores (development only). */
  db: Db | null;
  logger?: Logger;
  /** Redis shared by every auth instance: failed logins are counted there. Null: in this process's memory. */
  redis?: Redis | null;
  /** How often expired refresh tokens are deleted; 0 disables the timer. */
  purgeIntervalMs?: number;
}

/**
 * The composition of the auth service from configuration: keys from IM_AUTH_PRIVATE_KEY_PEM
 * (or ephemeral in development), MongoDB stores with their indexes when a Db is given, the
 * routes to mount, and the verifier the gateway should use.
 */
export async function startAuth(config: PlatformConfig, deps: StartAuthDeps): Promise<RunningAuth> {
  const logger = deps.logger ?? createLogger('auth');
  if (!deps.db && config.mode === 'production') {
    throw new ConfigError(['IM_MONGO_URL must be set in production mode: accounts cannot live in memory']);
  }
  const keys = await loadKeys({ privateKeyPem: config.auth.privateKeyPem, mode: config.mode });
  if (keys.ephemeral) logger.warn('auth signing key is ephemeral: tokens die with this process (development only)', { kid: keys.kid });
  let stores;
  if (deps.db) {
    const users = createMongoUserStore(deps.db);
    const refreshTokens = createMongoRefreshStore(deps.db);
    await users.ensureIndexes();
    await refreshTokens.ensureIndexes();
    stores = { users, refreshTokens };
  } else {
    stores = { users: createMemoryUserStore(), refreshTokens: createMemoryRefreshStore() };
  }
  // Counted per deployment: platforms sharing a Redis under different namespaces (IM_TOPIC_PREFIX)
  // do not block each other's addresses.
  const loginFailures = deps.redis ? redisFailureLogs({ redis: deps.redis, logger, keyPrefix: `im:auth:login:${config.kafka.topicPrefix}` }) : undefined;
  const service = createAuthService({ ...stores, keys, logger, loginFailures }, config.auth);
  const profiles = createProfiles({ users: stores.users }, config.people);
  const interval = deps.purgeIntervalMs ?? 3600_000;
  const timer = interval > 0
    ? setInterval(() => {
      service.purgeExpired().catch((err: unknown) => logger.warn('refresh token purge failed', { err }));
    }, interval)
    : null;
  timer?.unref();
  return {
    service,
    profiles,
    users: stores.users,
    routes: [...authRoutes(service), ...profileRoutes(profiles)],
    verifier: gatewayVerifier(config, service),
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}

/**
 * The verifier a gateway uses: the remote JWKS when IM_AUTH_JWKS_URL is set (auth runs
 * elsewhere), else the in-process service's keys. Neither makes a network call per token.
 */
export function gatewayVerifier(config: PlatformConfig, service: AuthService | null): TokenVerifier {
  const policy = { issuer: config.auth.issuer, audience: config.auth.audience, clockToleranceSec: config.auth.clockToleranceSec };
  if (config.auth.jwksUrl) return createJwksVerifier(config.auth.jwksUrl, policy);
  if (service) return service.verifier;
  throw new ConfigError(['IM_AUTH_JWKS_URL must be set when the auth service does not run in this process']);
}
