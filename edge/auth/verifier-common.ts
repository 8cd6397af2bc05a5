import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { PlatformError } from '../../core/errors.js';
import { ACCESS_TOKEN_TYP, DEVICE_CLAIM } from './access-token.js';
import type { SigningAlg } from './keys.js';
import type { TokenVerifier, VerifiedToken } from './token-verifier.js';

export interface VerifyPolicy {
  issuer: string;
  audience: string;
  /** The only algorithms accepted; never `none` nor an HMAC one (public-key confusion). */
  algorithms: readonly SigningAlg[];
  clockToleranceSec: number;
  /** Epoch milliseconds; injected by tests. */
  now?: () => number;
}

/** The one verification path both verifiers share: same claims checked, same error mapping. */
export function createVerifier(getKey: JWTVerifyGetKey, policy: VerifyPolicy): TokenVerifier {
  return {
    async verify(token: string): Promise<VerifiedToken> {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: policy.issuer,
          audience: policy.audience,
          algorithms: [...policy.algorithms],
          typ: ACCESS_TOKEN_TYP,
          clockTolerance: policy.clockToleranceSec,
          requiredClaims: ['sub', 'exp', 'iat', 'jti', DEVICE_CLAIM],
          currentDate: policy.now ? new Date(policy.now()) : undefined,
        }));
      } catch (err) {
        throw toPlatformError(err);
      }
      const deviceId = payload[DEVICE_CLAIM];
      if (typeof payload.sub !== 'string' || payload.sub === '' || typeof deviceId !== 'string' || deviceId === '') {
        throw new PlatformError('TOKEN_INVALID', 'access token lacks a subject or device');
      }
      return { userId: payload.sub, deviceId, expiresAt: (payload.exp ?? 0) * 1000 };
    },
  };
}

function toPlatformError(err: unknown): PlatformError {
  if (err instanceof errors.JWTExpired) return new PlatformError('TOKEN_EXPIRED', 'access token expired', { cause: err });
  // A key set that cannot be fetched or read is not the token's fault and may heal on retry.
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new PlatformError('TOKEN_INVALID', 'key set unavailable', { retriable: true, cause: err });
  }
  if (err instanceof errors.JOSEError) return new PlatformError('TOKEN_INVALID', `access token invalid (${err.code})`, { cause: err });
  // jose reports every token fault as a JOSEError; anything else is the network under the JWKS fetch.
  return new PlatformError('TOKEN_INVALID', 'access token could not be verified', { retriable: true, cause: err });
}
