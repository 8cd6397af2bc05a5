import { randomUUID } from 'node:crypto';
import { createLogger, type Logger } from '../../core/logger.js';
import type { PlatformConfig } from '../../core/config.js';
import { issueAccessToken } from './access-token.js';
import { AuthError } from './errors.js';
import type { AuthKeys, Jwks } from './keys.js';
import { authOutcomes } from './metrics.js';
import { hashPassword, needsRehash, verifyPassword, type ScryptParams } from './password.js';
import type { RefreshTokenStore } from './refresh-store.js';
import { LoginThrottle, type FailureLogs } from './throttle.js';
import type { TokenVerifier } from './token-verifier.js';
import { hashRefreshToken, isRefreshTokenShaped, newRefreshToken } from './tokens.js';
import { UsernameTakenError, type UserStore } from './user-store.js';
import { createLocalVerifier } from './verifier-local.js';

export type AuthServiceConfig = Pick<
  PlatformConfig['auth'],
  | 'issuer' | 'audience' | 'accessTtlSec' | 'refreshTtlSec' | 'scryptCost' | 'clockToleranceSec'
  | 'loginMaxFailuresPerUser' | 'loginMaxFailuresPerAddress' | 'loginWindowSec'
>;

export interface AuthServiceDeps {
  users: UserStore;
  refreshTokens: RefreshTokenStore;
  keys: AuthKeys;
  /** Epoch milliseconds; injected so tests control expiry and throttling windows. */
  now?: () => number;
  /** Where failed logins are counted: this process's memory by default, Redis when shared. */
  loginFailures?: FailureLogs;
  logger?: Logger;
}

/** What login and refresh return, in the wire's snake_case. */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  /** Seconds the access token lives. */
  expires_in: number;
  user_id: string;
  device_id: string;
}

export interface AuthService {
  register(input: { username: string; password: string; displayName?: string }): Promise<{ userId: string }>;
  login(input: { username: string; password: string; deviceId?: string; remoteAddress: string }): Promise<TokenPair>;
  /** Rotates: the presented token is spent and a new one of the same family returned. */
  refresh(refreshToken: string): Promise<TokenPair>;
  /** Revokes the token's whole family (this device's session). Unknown tokens are ignored. */
  logout(refreshToken: string): Promise<void>;
  jwks(): Jwks;
  /** In-process verifier over this service's keys, for a gateway in the same process. */
  readonly verifier: TokenVerifier;
  /** Deletes expired refresh tokens; call from a timer (the stores have no TTL index). */
  purgeExpired(): Promise<number>;
}

/** The auth service: accounts, token issue and rotation, throttled login. Stateless apart from its stores. */
export function createAuthService(deps: AuthServiceDeps, config: AuthServiceConfig): AuthService {
  const now = deps.now ?? Date.now;
  const log = deps.logger ?? createLogger('auth');
  const scrypt: ScryptParams = { N: config.scryptCost, r: 8, p: 1 };
  const throttle = new LoginThrottle({
    maxFailuresPerUser: config.loginMaxFailuresPerUser,
    maxFailuresPerAddress: config.loginMaxFailuresPerAddress,
    windowMs: config.loginWindowSec * 1000,
  }, deps.loginFailures);
  // Unknown usernames still pay one scrypt, so response time does not reveal which names exist.
  let dummyHash: Promise<string> | null = null;
  const dummy = (): Promise<string> => (dummyHash ??= hashPassword(randomUUID(), scrypt));

  async function issuePair(userId: string, deviceId: string, familyId: string): Promise<TokenPair> {
    const at = now();
    const access = await issueAccessToken(deps.keys, { userId, deviceId }, {
      issuer: config.issuer, audience: config.audience, ttlSec: config.accessTtlSec, now: at,
    });
    const refresh = newRefreshToken();
    await deps.refreshTokens.insert(
      { tokenHash: hashRefreshToken(refresh), familyId, userId, deviceId, expiresAt: at + config.refreshTtlSec * 1000 },
      at,
    );
    return {
      access_token: access.token, refresh_token: refresh, token_type: 'Bearer',
      expires_in: config.accessTtlSec, user_id: userId, device_id: deviceId,
    };
  }

  function fail(op: string, err: AuthError): never {
    authOutcomes.inc({ op, result: err.code });
    throw err;
  }

  return {
    async register({ username, password, displayName }) {
      const passwordHash = await hashPassword(password, scrypt);
      try {
        const user = await deps.users.create({ username, passwordHash, displayName: displayName ?? username });
        authOutcomes.inc({ op: 'register', result: 'ok' });
        log.info('user registered', { userId: user.userId });
        return { userId: user.userId };
      } catch (err) {
        if (err instanceof UsernameTakenError) fail('register', new AuthError('USERNAME_TAKEN', 409, err.message));
        throw err;
      }
    },

    async login({ username, password, deviceId, remoteAddress }) {
      const waitMs = await throttle.check(username, remoteAddress, now());
      if (waitMs > 0) {
        const retryAfterSec = Math.ceil(waitMs / 1000);
        log.warn('login throttled', { username, remoteAddress, retryAfterSec });
        fail('login', new AuthError('TOO_MANY_REQUESTS', 429, `too many failed logins; retry in ${retryAfterSec} s`, { retryAfterSec }));
      }
      const user = await deps.users.findByUsername(username);
      const ok = await verifyPassword(password, user?.passwordHash ?? (await dummy()));
      if (!user || !ok) {
        await throttle.failure(username, remoteAddress, now());
        fail('login', new AuthError('INVALID_CREDENTIALS', 401, 'username or password is wrong'));
      }
      await throttle.success(username);
      if (needsRehash(user.passwordHash, scrypt)) {
        await deps.users.updatePasswordHash(user.userId, await hashPassword(password, scrypt));
      }
      const familyId = randomUUID();
      const device = deviceId ?? `d-${randomUUID()}`;
      await deps.refreshTokens.createFamily({ familyId, userId: user.userId, deviceId: device }, now());
      const pair = await issuePair(user.userId, device, familyId);
      authOutcomes.inc({ op: 'login', result: 'ok' });
      return pair;
    },

    async refresh(refreshToken) {
      const at = now();
      const consumed = isRefreshTokenShaped(refreshToken) ? await deps.refreshTokens.consume(hashRefreshToken(refreshToken), at) : null;
      if (!consumed) fail('refresh', new AuthError('REFRESH_INVALID', 401, 'refresh token unknown'));
      const { record, firstUse, familyRevoked } = consumed;
      if (!firstUse) {
        // A spent token came back: either it was stolen or the client raced itself. Either
        // way the family can no longer be trusted, so the newer token dies with it.
        await deps.refreshTokens.revokeFamily(record.familyId, at);
        log.warn('refresh token reuse; family revoked', { userId: record.userId, familyId: record.familyId });
        fail('refresh', new AuthError('REFRESH_REUSED', 401, 'refresh token already used; session revoked'));
      }
      if (familyRevoked) fail('refresh', new AuthError('REFRESH_INVALID', 401, 'session revoked'));
      if (record.expiresAt <= at) fail('refresh', new AuthError('REFRESH_INVALID', 401, 'refresh token expired'));
      const pair = await issuePair(record.userId, record.deviceId, record.familyId);
      authOutcomes.inc({ op: 'refresh', result: 'ok' });
      return pair;
    },

    async logout(refreshToken) {
      const record = isRefreshTokenShaped(refreshToken) ? await deps.refreshTokens.find(hashRefreshToken(refreshToken)) : null;
      if (record) await deps.refreshTokens.revokeFamily(record.familyId, now());
      authOutcomes.inc({ op: 'logout', result: record ? 'ok' : 'unknown' });
    },

    jwks: () => deps.keys.jwks,

    verifier: createLocalVerifier(deps.keys.jwks, {
      issuer: config.issuer, audience: config.audience, clockToleranceSec: config.clockToleranceSec, now,
    }),

    purgeExpired: () => deps.refreshTokens.purgeExpired(now()),
  };
}
