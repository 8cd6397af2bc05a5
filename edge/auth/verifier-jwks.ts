import { createRemoteJWKSet } from 'jose';
import { SIGNING_ALGS } from './keys.js';
import type { TokenVerifier } from './token-verifier.js';
import { createVerifier, type VerifyPolicy } from './verifier-common.js';

export interface JwksVerifierConfig extends Omit<VerifyPolicy, 'algorithms'> {
  /** Keys are refetched after this age even when every kid is known (jose default 10 min). */
  cacheMaxAgeMs?: number;
  /** An unknown kid refetches at most once per cooldown, so forged kids cannot flood the issuer. */
  cooldownMs?: number;
  timeoutMs?: number;
}

/**
 * Verifies against the issuer's published JWKS. Keys are fetched once and cached; a token
 * with an unknown kid (key rotation) triggers a refetch, rate-limited by the cooldown. No
 * network call per token.
 */
export function createJwksVerifier(url: string, config: JwksVerifierConfig): TokenVerifier {
  const keySet = createRemoteJWKSet(new URL(url), {
    cacheMaxAge: config.cacheMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: config.cooldownMs ?? 30_000,
    timeoutDuration: config.timeoutMs ?? 5_000,
  });
  // Each published JWK names its alg, and jose only selects a key whose alg matches the header.
  return createVerifier(keySet, { ...config, algorithms: SIGNING_ALGS });
}
