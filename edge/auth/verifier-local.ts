import { createLocalJWKSet } from 'jose';
import type { Jwks } from './keys.js';
import type { TokenVerifier } from './token-verifier.js';
import { createVerifier, type VerifyPolicy } from './verifier-common.js';

/**
 * Verifies in-process against a key set held in memory: for a gateway that runs beside the
 * issuer (same process, or the public JWKS shipped in configuration).
 */
export function createLocalVerifier(jwks: Jwks, policy: Omit<VerifyPolicy, 'algorithms'>): TokenVerifier {
  // Accept exactly the algorithms the published keys declare.
  const algorithms = [...new Set(jwks.keys.map((k) => k.alg))];
  return createVerifier(createLocalJWKSet(jwks), { ...policy, algorithms });
}
