import type { Collection, Db } from 'mongodb';
import type { ConsumeResult, RefreshFamily, RefreshTokenRecord, RefreshTokenStore } from './refresh-store.js';

interface TokenDoc {
  _id: string; // SHA-256 of the token
  family_id: string;
  user_id: string;
  device_id: string;
  expires_at: Date;
  used_at: Date | null;
  created_at: Date;
}

interface FamilyDoc {
  _id: string;
  user_id: string;
  device_id: string;
  created_at: Date;
  revoked_at: Date | null;
}

function toRecord(doc: TokenDoc): RefreshTokenRecord {
  return {
    tokenHash: doc._id,
    familyId: doc.family_id,
    userId: doc.user_id,
    deviceId: doc.device_id,
    expiresAt: doc.expires_at.getTime(),
    usedAt: doc.used_at ? doc.used_at.getTime() : null,
  };
}

export interface MongoRefreshStore extends RefreshTokenStore {
  ensureIndexes(): Promise<void>;
}

/**
 * Tokens in `auth_refresh_tokens`, families in `auth_refresh_families`. Revocation lives on
 * the family document, not on each token, so a token inserted concurrently with a revocation
 * is still refused: every exchange reads the family after marking its token used.
 */
export function createMongoRefreshStore(db: Db, options: { prefix?: string } = {}): MongoRefreshStore {
  const prefix = options.prefix ?? 'auth_refresh';
  const tokens: Collection<TokenDoc> = db.collection<TokenDoc>(`${prefix}_tokens`);
  const families: Collection<FamilyDoc> = db.collection<FamilyDoc>(`${prefix}_families`);
  return {
    async ensureIndexes() {
      await tokens.createIndex({ family_id: 1 }, { name: 'family_id' });
      await tokens.createIndex({ expires_at: 1 }, { name: 'expires_at' });
    },
    async createFamily(family: RefreshFamily, now) {
      await families.updateOne(
        { _id: family.familyId },
        { $setOnInsert: { user_id: family.userId, device_id: family.deviceId, created_at: new Date(now), revoked_at: null } },
        { upsert: true },
      );
    },
    async insert(record, now) {
      await tokens.insertOne({
        _id: record.tokenHash,
        family_id: record.familyId,
        user_id: record.userId,
        device_id: record.deviceId,
        expires_at: new Date(record.expiresAt),
        used_at: null,
        created_at: new Date(now),
      });
    },
    async consume(tokenHash, now): Promise<ConsumeResult | null> {
      // The filter on used_at makes this the single winner among concurrent exchanges.
      const before = await tokens.findOneAndUpdate(
        { _id: tokenHash, used_at: null },
        { $set: { used_at: new Date(now) } },
        { returnDocument: 'before' },
      );
      const doc = before ?? (await tokens.findOne({ _id: tokenHash }));
      if (!doc) return null;
      const family = await families.findOne({ _id: doc.family_id });
      const record = toRecord(doc);
      if (before) record.usedAt = now;
      // A missing family document means it was never valid: treat it as revoked.
      return { record, firstUse: before !== null, familyRevoked: !family || family.revoked_at !== null };
    },
    async find(tokenHash) {
      const doc = await tokens.findOne({ _id: tokenHash });
      return doc ? toRecord(doc) : null;
    },
    async revokeFamily(familyId, now) {
      await families.updateOne({ _id: familyId, revoked_at: null }, { $set: { revoked_at: new Date(now) } });
    },
    async purgeExpired(now) {
      const res = await tokens.deleteMany({ expires_at: { $lte: new Date(now) } });
      return res.deletedCount;
    },
  };
}
