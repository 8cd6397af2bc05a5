import type { PlatformConfig } from '../../core/config.js';
import { HttpError } from '../http/routes.js';
import { usernameKey, type PresenceVisibility, type ProfilePatch, type UserRecord, type UserStore } from './user-store.js';

/** What anyone signed in may see of a user, in the wire's snake_case. */
export interface PublicProfile {
  user_id: string;
  username: string;
  display_name: string;
  avatar_url: string | null;
  bio: string | null;
  /** Epoch ms of the last profile change: a client holding an older one refetches. */
  updated_at: number;
}

/** One's own profile: the public one and the settings only its owner sees. */
export interface OwnProfile extends PublicProfile {
  presence_visibility: PresenceVisibility;
}

export type ProfilesConfig = Pick<PlatformConfig['people'], 'pageMax' | 'cacheMaxAgeSec'>;

/**
 * Profiles and finding people, over the user store. Reads are what the web client and the
 * friend routes need: one user by id or exact username, many by id (display names of a list),
 * and a prefix search paged by the last username seen.
 */
export interface Profiles {
  byId(userId: string): Promise<PublicProfile | null>;
  own(userId: string): Promise<OwnProfile | null>;
  byUsername(username: string): Promise<PublicProfile | null>;
  /** At most `pageMax` ids; unknown ones are left out. */
  byIds(userIds: readonly string[]): Promise<PublicProfile[]>;
  /** A page of users whose username starts with `prefix` (case-insensitive), and the cursor of the next page. */
  search(prefix: string, options: { limit?: number; after?: string }): Promise<{ users: PublicProfile[]; next: string | null }>;
  /** Null when the user does not exist (an account deleted under a live token). */
  update(userId: string, patch: ProfilePatch): Promise<OwnProfile | null>;
  /** Called after each profile update (presence tells friends when the visibility changed). */
  onUpdate(listener: (userId: string, patch: ProfilePatch) => void): void;
  readonly config: ProfilesConfig;
}

export function publicProfile(u: UserRecord): PublicProfile {
  return { user_id: u.userId, username: u.username, display_name: u.displayName, avatar_url: u.avatarUrl, bio: u.bio, updated_at: u.updatedAt };
}

export function createProfiles(deps: { users: UserStore; now?: () => number }, config: ProfilesConfig): Profiles {
  const { users } = deps;
  const now = deps.now ?? Date.now;
  const one = (u: UserRecord | null): PublicProfile | null => (u ? publicProfile(u) : null);
  const own = (u: UserRecord | null): OwnProfile | null => (u ? { ...publicProfile(u), presence_visibility: u.presenceVisibility } : null);
  const listeners: ((userId: string, patch: ProfilePatch) => void)[] = [];
  return {
    config,
    byId: async (userId) => one(await users.findById(userId)),
    byUsername: async (username) => one(await users.findByUsername(username)),
    async byIds(userIds) {
      if (userIds.length > config.pageMax) throw new HttpError(400, 'BAD_REQUEST', `at most ${config.pageMax} ids at once`);
      return (await users.findByIds(userIds)).map(publicProfile);
    },
    async search(prefix, { limit = config.pageMax, after }) {
      const key = usernameKey(prefix);
      const found = await users.search({ prefix: key, limit: Math.min(limit, config.pageMax), ...(after === undefined ? {} : { after: usernameKey(after) }) });
      // A full page may have a next one; its cursor is the last key of this page.
      const last = found.at(-1);
      return { users: found.map(publicProfile), next: found.length === Math.min(limit, config.pageMax) && last ? usernameKey(last.username) : null };
    },
    own: async (userId) => own(await users.findById(userId)),
    async update(userId, patch) {
      const updated = own(await users.updateProfile(userId, patch, now()));
      if (updated) for (const l of listeners) l(userId, patch);
      return updated;
    },
    onUpdate: (listener) => void listeners.push(listener),
  };
}
