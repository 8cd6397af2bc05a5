import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AuthKeys } from './keys.js';

/** RFC 9068 media type: verifiers insist on it, so an ID token or other JWT is never taken for access. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** The private claim naming the device the token was issued to (the gateway's multi-device key). */
export const DEVICE_CLAIM = 'did';

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSec: number;
  /** Epoch milliseconds; injected so tests can mint tokens in the past. */
  now?: number;
}

export interface IssuedAccessToken {
  token: string;
  jti: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Signs a short-lived access token; it is never stored, so its short life is its revocation. */
export async function issueAccessToken(
  keys: AuthKeys,
  subject: { userId: string; deviceId: string },
  options: AccessTokenOptions,
): Promise<IssuedAccessToken> {
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const exp = iat + options.ttlSec;
  const jti = randomUUID();
  const token = await new SignJWT({ [DEVICE_CLAIM]: subject.deviceId })
    .setProtectedHeader({ alg: keys.alg, kid: keys.kid, typ: ACCESS_TOKEN_TYP })
    .setSubject(subject.userId)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(keys.privateKey);
  return { token, jti, expiresAt: exp * 1000 };
}
