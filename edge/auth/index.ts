/** The auth face: service, routes, stores, keys and the verifiers the gateway uses. */
export type { TokenVerifier, VerifiedToken } from './token-verifier.js';
export { createAuthService, type AuthService, type AuthServiceConfig, type AuthServiceDeps, type TokenPair } from './service.js';
export { authRoutes } from './routes.js';
export { AuthError } from './errors.js';
export { loadKeys, generateKeys, type AuthKeys, type Jwks, type PublicJwk, type SigningAlg } from './keys.js';
export { issueAccessToken, ACCESS_TOKEN_TYP, DEVICE_CLAIM } from './access-token.js';
export { createLocalVerifier } from './verifier-local.js';
export { createJwksVerifier, type JwksVerifierConfig } from './verifier-jwks.js';
export type { VerifyPolicy } from './verifier-common.js';
export { hashPassword, verifyPassword, type ScryptParams } from './password.js';
export type { UserStore, UserRecord, NewUser } from './user-store.js';
export { UsernameTakenError } from './user-store.js';
export { createMemoryUserStore } from './user-store-memory.js';
export { createMongoUserStore, type MongoUserStore } from './user-store-mongo.js';
export type { RefreshTokenStore, RefreshTokenRecord, RefreshFamily, ConsumeResult } from './refresh-store.js';
export { createMemoryRefreshStore } from './refresh-store-memory.js';
export { createMongoRefreshStore, type MongoRefreshStore } from './refresh-store-mongo.js';
export { LoginThrottle, SlidingWindowThrottle } from './throttle.js';
