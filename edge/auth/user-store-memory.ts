import { randomUUID } from 'node:crypto';
import { DEFAULT_PRESENCE_VISIBILITY, prefixEnd, UsernameTakenError, usernameKey, type NewUser, type UserRecord, type UserStore } from './user-store.js';

/** Accounts in a Map: one process only, lost on exit. For tests and `make run`. */
export function createMemoryUserStore(now: () => number = Date.now): UserStore {
  const byId = new Map<string, UserRecord>();
  const byName = new Map<string, string>();
  const copy = (record: UserRecord | undefined): UserRecord | null => (record ? { ...record } : null);
  return {
    async create(user: NewUser) {
      const key = usernameKey(user.username);
      if (byName.has(key)) throw new UsernameTakenError(user.username);
      const at = now();
      const record: UserRecord = { ...user, avatarUrl: null, bio: null, presenceVisibility: DEFAULT_PRESENCE_VISIBILITY, lastSeen: null, userId: randomUUID(), createdAt: at, updatedAt: at };
      byId.set(record.userId, record);
      byName.set(key, record.userId);
      return { ...record };
    },
    async findByUsername(username) {
      const id = byName.get(usernameKey(username));
      return copy(id === undefined ? undefined : byId.get(id));
    },
    async findById(userId) {
      return copy(byId.get(userId));
    },
    async findByIds(userIds) {
      return [...new Set(userIds)].flatMap((id) => copy(byId.get(id)) ?? []);
    },
    async search({ prefix, limit, after }) {
      const end = prefixEnd(prefix);
      const keys = [...byName.keys()].filter((k) => k >= prefix && k < end && (after === undefined || k > after)).sort();
      return keys.slice(0, limit).flatMap((k) => copy(byId.get(byName.get(k)!)) ?? []);
    },
    async updateProfile(userId, patch, at) {
      const record = byId.get(userId);
      if (!record) return null;
      Object.assign(record, patch, { updatedAt: at });
      return { ...record };
    },
    async updatePasswordHash(userId, passwordHash) {
      const record = byId.get(userId);
      if (record) record.passwordHash = passwordHash;
    },
    async recordLastSeen(userId, at) {
      const record = byId.get(userId);
      if (record) record.lastSeen = Math.max(record.lastSeen ?? 0, at);
    },
  };
}
