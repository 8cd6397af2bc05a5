import { randomUUID } from 'node:crypto';
import { UsernameTakenError, usernameKey, type NewUser, type UserRecord, type UserStore } from './user-store.js';

/** Accounts in a Map: one process only, lost on exit. For tests and `make run`. */
export function createMemoryUserStore(now: () => number = Date.now): UserStore {
  const byId = new Map<string, UserRecord>();
  const byName = new Map<string, string>();
  return {
    async create(user: NewUser) {
      const key = usernameKey(user.username);
      if (byName.has(key)) throw new UsernameTakenError(user.username);
      const record: UserRecord = { ...user, userId: randomUUID(), createdAt: now() };
      byId.set(record.userId, record);
      byName.set(key, record.userId);
      return { ...record };
    },
    async findByUsername(username) {
      const id = byName.get(usernameKey(username));
      const record = id === undefined ? undefined : byId.get(id);
      return record ? { ...record } : null;
    },
    async findById(userId) {
      const record = byId.get(userId);
      return record ? { ...record } : null;
    },
    async updatePasswordHash(userId, passwordHash) {
      const record = byId.get(userId);
      if (record) record.passwordHash = passwordHash;
    },
  };
}
