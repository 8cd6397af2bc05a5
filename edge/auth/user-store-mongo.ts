import { randomUUID } from 'node:crypto';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { UsernameTakenError, usernameKey, type NewUser, type UserRecord, type UserStore } from './user-store.js';

interface UserDoc {
  _id: string;
  username: string;
  username_key: string;
  display_name: string;
  password_hash: string;
  created_at: Date;
}

import { DUPLICATE_KEY } from '../../connectors/mongo/duplicate-key.js';

function toRecord(doc: UserDoc): UserRecord {
  return {
    userId: doc._id,
    username: doc.username,
    displayName: doc.display_name,
    passwordHash: doc.password_hash,
    createdAt: doc.created_at.getTime(),
  };
}

export interface MongoUserStore extends UserStore {
  /** Creates the unique username index; idempotent, call once at start. */
  ensureIndexes(): Promise<void>;
}

/**
 * Accounts in the `auth_users` collection. A unique index on the lower-cased username makes
 * two concurrent registrations of one name impossible without a transaction (FerretDB has none).
 */
export function createMongoUserStore(db: Db, options: { collection?: string; now?: () => number } = {}): MongoUserStore {
  const users: Collection<UserDoc> = db.collection<UserDoc>(options.collection ?? 'auth_users');
  const now = options.now ?? Date.now;
  return {
    async ensureIndexes() {
      await users.createIndex({ username_key: 1 }, { unique: true, name: 'username_key_unique' });
    },
    async create(user: NewUser) {
      const doc: UserDoc = {
        _id: randomUUID(),
        username: user.username,
        username_key: usernameKey(user.username),
        display_name: user.displayName,
        password_hash: user.passwordHash,
        created_at: new Date(now()),
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
    async updatePasswordHash(userId, passwordHash) {
      await users.updateOne({ _id: userId }, { $set: { password_hash: passwordHash } });
    },
  };
}
