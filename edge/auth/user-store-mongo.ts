import { randomUUID } from 'node:crypto';
import { MongoServerError, type Collection, type Db, type Filter } from 'mongodb';
import { DUPLICATE_KEY } from '../../connectors/mongo/duplicate-key.js';
import { DEFAULT_PRESENCE_VISIBILITY, PRESENCE_VISIBILITIES, prefixEnd, type PresenceVisibility, UsernameTakenError, usernameKey, type NewUser, type ProfilePatch, type UserRecord, type UserStore } from './user-store.js';

interface UserDoc {
  _id: string;
  username: string;
  username_key: string;
  display_name: string;
  /** Absent on accounts created before profiles could be edited. */
  avatar_url?: string | null;
  bio?: string | null;
  presence_visibility?: string;
  last_seen?: Date | null;
  password_hash: string;
  created_at: Date;
  updated_at?: Date;
}

function toRecord(doc: UserDoc): UserRecord {
  return {
    userId: doc._id,
    username: doc.username,
    displayName: doc.display_name,
    avatarUrl: doc.avatar_url ?? null,
    bio: doc.bio ?? null,
    presenceVisibility: (PRESENCE_VISIBILITIES as readonly string[]).includes(doc.presence_visibility ?? '') ? (doc.presence_visibility as PresenceVisibility) : DEFAULT_PRESENCE_VISIBILITY,
    lastSeen: doc.last_seen ? doc.last_seen.getTime() : null,
    passwordHash: doc.password_hash,
    createdAt: doc.created_at.getTime(),
    updatedAt: (doc.updated_at ?? doc.created_at).getTime(),
  };
}

export interface MongoUserStore extends UserStore {
  /** Creates the unique username index; idempotent, call once at start. */
  ensureIndexes(): Promise<void>;
}

/**
 * Accounts in the `auth_users` collection. A unique index on the lower-cased username makes
 * two concurrent registrations of one name impossible without a transaction (FerretDB has none);
 * the same index serves the prefix search as a range scan.
 */
export function createMongoUserStore(db: Db, options: { collection?: string; now?: () => number } = {}): MongoUserStore {
  const users: Collection<UserDoc> = db.collection<UserDoc>(options.collection ?? 'auth_users');
  const now = options.now ?? Date.now;
  return {
    async ensureIndexes() {
      await users.createIndex({ username_key: 1 }, { unique: true, name: 'username_key_unique' });
    },
    async create(user: NewUser) {
      const at = new Date(now());
      const doc: UserDoc = {
        _id: randomUUID(),
        username: user.username,
        username_key: usernameKey(user.username),
        display_name: user.displayName,
        avatar_url: null,
        bio: null,
        password_hash: user.passwordHash,
        created_at: at,
        updated_at: at,
      };
      try {
        await users.insertOne(doc);
      } catch (err) {
        if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) throw new UsernameTakenError(user.username);
        throw err;
      }
      return toRecord(doc);
    },
    async findByUsername(username) {
      const doc = await users.findOne({ username_key: usernameKey(username) });
      return doc ? toRecord(doc) : null;
    },
    async findById(userId) {
      const doc = await users.findOne({ _id: userId });
      return doc ? toRecord(doc) : null;
    },
    async findByIds(userIds) {
      if (userIds.length === 0) return [];
      const docs = await users.find({ _id: { $in: [...new Set(userIds)] } }).toArray();
      return docs.map(toRecord);
    },
    async search({ prefix, limit, after }) {
      // One bound per side: `$gt after` replaces `$gte prefix` once a page was read.
      const lower = after !== undefined && after >= prefix ? { $gt: after } : { $gte: prefix };
      const filter: Filter<UserDoc> = { username_key: { ...lower, $lt: prefixEnd(prefix) } };
      const docs = await users.find(filter).sort({ username_key: 1 }).limit(limit).toArray();
      return docs.map(toRecord);
    },
    async updateProfile(userId, patch: ProfilePatch, at) {
      const set: Partial<UserDoc> = { updated_at: new Date(at) };
      if (patch.displayName !== undefined) set.display_name = patch.displayName;
      if (patch.avatarUrl !== undefined) set.avatar_url = patch.avatarUrl;
      if (patch.bio !== undefined) set.bio = patch.bio;
      if (patch.presenceVisibility !== undefined) set.presence_visibility = patch.presenceVisibility;
      const doc = await users.findOneAndUpdate({ _id: userId }, { $set: set }, { returnDocument: 'after' });
      return doc ? toRecord(doc) : null;
    },
    async updatePasswordHash(userId, passwordHash) {
      await users.updateOne({ _id: userId }, { $set: { password_hash: passwordHash } });
    },
    async recordLastSeen(userId, at) {
      // $max: two gateways writing out of order leave the later time.
      await users.updateOne({ _id: userId }, { $max: { last_seen: new Date(at) } });
    },
  };
}
