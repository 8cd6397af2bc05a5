import { MongoServerError, type Collection, type Db } from 'mongodb';
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

interface SpentDoc {
  _id: string; // SHA-256 of a token that was exchanged
  used_at: Date;
}

import { DUPLICATE_KEY } from '../../connectors/mongo/duplicate-key.js';

interface FamilyDoc {
  _id: string;
  user_id: string;
  device_id: string;
  created_at: Date;
  revoked_at?: Date | null;
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
 * Tokens in `auth_refresh_tokens`, spend markers in `auth_refresh_spent`, families in
 * `auth_refresh_families`. Revocation lives on the family document, not on each token, so a
 * token inserted concurrently with a revocation is still refused: every exchange reads the
 * family after spending its token.
 */
export function createMongoRefreshStore(db: Db, options: { prefix?: string } = {}): MongoRefreshStore {
  const prefix = options.prefix ?? 'auth_refresh';
  const tokens: Collection<TokenDoc> = db.collection<TokenDoc>(`${prefix}_tokens`);
  const families: Collection<FamilyDoc> = db.collection<FamilyDoc>(`${prefix}_families`);
  const spent: Collection<SpentDoc> = db.collection<SpentDoc>(`${prefix}_spent`);
  return {
    async ensureIndexes() {
      await tokens.createIndex({ family_id: 1 }, { name: 'family_id' });
      await tokens.createIndex({ expires_at: 1 }, { name: 'expires_at' });
    },
    async createFamily(family: RefreshFamily, now) {
      await families.insertOne({
        _id: family.familyId, user_id: family.userId, device_id: family.deviceId, created_at: new Date(now), revoked_at: null,
      });
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
      const doc = await tokens.findOne({ _id: tokenHash });
      if (!doc) return null;
      // The spend is an insert on a unique _id: the one atomic step FerretDB guarantees under
      // concurrency (its findOneAndUpdate let several racers all see used_at: null).
      let firstUse = true;
      try {
        await spent.insertOne({ _id: tokenHash, used_at: new Date(now) });
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
        firstUse = false;
      }
      if (firstUse) await tokens.updateOne({ _id: tokenHash }, { $set: { used_at: new Date(now) } });
      const family = await families.findOne({ _id: doc.family_id });
      const record = toRecord(doc);
      if (firstUse) record.usedAt = now;
      // A missing family document means it was never valid: treat it as revoked. Loose `!=`:
      // FerretDB may drop a null field, so "absent" and null both mean "not revoked".
      return { record, firstUse, familyRevoked: !family || family.revoked_at != null };
    },
    async find(tokenHash) {
      const doc = await tokens.findOne({ _id: tokenHash });
      return doc ? toRecord(doc) : null;
    },
    async revokeFamily(familyId, now) {
      await families.updateOne({ _id: familyId, revoked_at: null }, { $set: { revoked_at: new Date(now) } });
    },
    async purgeExpired(now) {
      const expired = await tokens.find({ expires_at: { $lte: new Date(now) } }, { projection: { _id: 1 } }).toArray();
      if (expired.length === 0) return 0;
      const ids = expired.map((d) => d._id);
      // Spend markers go with their tokens; an expired token is refused as unknown either way.
      await spent.deleteMany({ _id: { $in: ids } });
      const res = await tokens.deleteMany({ _id: { $in: ids } });
      return res.deletedCount;
    },
  };
}
