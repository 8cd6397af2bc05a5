import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes: unguessable, and opaque so clients never parse or forge structure. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether `token` can be one `newRefreshToken` made (43 base64url characters); others are unknown without a look-up. */
export function isRefreshTokenShaped(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}

/** SHA-256 suffices (no KDF) because the input already has 256 bits of entropy. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
