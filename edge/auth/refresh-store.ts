/**
 * Refresh tokens are opaque random strings; stores keep only their SHA-256 (a leaked table
 * holds nothing a client can present). Every token belongs to a family: the chain of
 * rotations started by one login on one device. Revocation is per family.
 */
export interface RefreshTokenRecord {
  tokenHash: string;
  familyId: string;
  userId: string;
  deviceId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Set once the token was exchanged; a second exchange is a reuse. */
  usedAt: number | null;
}

export interface RefreshFamily {
  familyId: string;
  userId: string;
  deviceId: string;
}

export interface ConsumeResult {
  record: RefreshTokenRecord;
  /** True only for the one call that marked the token used: concurrent exchanges get false. */
  firstUse: boolean;
  familyRevoked: boolean;
}

/**
 * Contract for `memory` and `mongo`. No transactions (FerretDB has none): the spend is atomic
 * on its own and revocation is checked after it, which is all reuse detection needs.
 */
export interface RefreshTokenStore {
  createFamily(family: RefreshFamily, now: number): Promise<void>;
  insert(record: Omit<RefreshTokenRecord, 'usedAt'>, now: number): Promise<void>;
  /** Atomically marks the token used and reports whether this call did it; null when unknown. */
  consume(tokenHash: string, now: number): Promise<ConsumeResult | null>;
  find(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /** Idempotent. A token of a revoked family is never honoured again, even one issued later. */
  revokeFamily(familyId: string, now: number): Promise<void>;
  /** Deletes tokens past their expiry (FerretDB has no TTL index); returns how many. */
  purgeExpired(now: number): Promise<number>;
}
