import type { ConsumeResult, RefreshFamily, RefreshTokenRecord, RefreshTokenStore } from './refresh-store.js';

/** Refresh tokens in Maps: one process only, lost on exit. For tests and `make run`. */
export function createMemoryRefreshStore(): RefreshTokenStore {
  const tokens = new Map<string, RefreshTokenRecord>();
  const revoked = new Map<string, number | null>();
  return {
    async createFamily(family: RefreshFamily) {
      if (!revoked.has(family.familyId)) revoked.set(family.familyId, null);
    },
    async insert(record) {
      tokens.set(record.tokenHash, { ...record, usedAt: null });
    },
    async consume(tokenHash, now): Promise<ConsumeResult | null> {
      const record = tokens.get(tokenHash);
      if (!record) return null;
      const firstUse = record.usedAt === null;
      if (firstUse) record.usedAt = now;
      return { record: { ...record }, firstUse, familyRevoked: (revoked.get(record.familyId) ?? null) !== null };
    },
    async find(tokenHash) {
      const record = tokens.get(tokenHash);
      return record ? { ...record } : null;
    },
    async revokeFamily(familyId, now) {
      if ((revoked.get(familyId) ?? null) === null) revoked.set(familyId, now);
    },
    async purgeExpired(now) {
      let n = 0;
      for (const [hash, record] of tokens) if (record.expiresAt <= now && tokens.delete(hash)) n++;
      return n;
    },
  };
}
