/**
 * What the gateway needs from auth: verify an access token locally (keys from the JWKS,
 * cached and refreshed), never a network call per connection.
 */
export interface VerifiedToken {
  userId: string;
  deviceId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface TokenVerifier {
  /** Throws `PlatformError` with code TOKEN_EXPIRED or TOKEN_INVALID. */
  verify(token: string): Promise<VerifiedToken>;
}
