import { PlatformError } from '../../core/errors.js';

/** An account as the auth service keeps it, with the public profile the user edits. */
export interface UserRecord {
  userId: string;
  /** As the user typed it; uniqueness is on the lower-cased form so "Ann" and "ann" cannot coexist. */
  username: string;
  displayName: string;
  /** An http(s) URL, or null. */
  avatarUrl: string | null;
  bio: string | null;
  /** Who sees the user's presence (online, away, last seen): a setting, not part of the public profile. */
  presenceVisibility: PresenceVisibility;
  /** Epoch ms the user was last seen connected, as of their last change to offline; null before. */
  lastSeen: number | null;
  passwordHash: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds of the last profile change (creation at first): clients compare it to refetch. */
  updatedAt: number;
}

export type NewUser = Pick<UserRecord, 'username' | 'displayName' | 'passwordHash'>;

/** Who may see a user's presence. */
export const PRESENCE_VISIBILITIES = ['everyone', 'friends', 'nobody'] as const;
export type PresenceVisibility = (typeof PRESENCE_VISIBILITIES)[number];
/** Friends see it unless the user says otherwise. */
export const DEFAULT_PRESENCE_VISIBILITY: PresenceVisibility = 'friends';

/** The fields a profile update may set; absent ones stay, null clears avatar and bio. */
export type ProfilePatch = Partial<Pick<UserRecord, 'displayName' | 'avatarUrl' | 'bio' | 'presenceVisibility'>>;

/** One page of a username prefix search, in username order. */
export interface UserSearch {
  /** Lower-cased username prefix, already validated (letters, digits, _ . -). */
  prefix: string;
  limit: number;
  /** The last username key of the previous page: the page starts after it. */
  after?: string;
}

/**
 * Where accounts live. `memory` for tests and `make run`; `mongo` for the real stack. The
 * store generates the user id and creation time so no client can choose them.
 */
export interface UserStore {
  /** Throws `UsernameTakenError` when the username (case-insensitively) exists. */
  create(user: NewUser): Promise<UserRecord>;
  findByUsername(username: string): Promise<UserRecord | null>;
  findById(userId: string): Promise<UserRecord | null>;
  /** Those of `userIds` that exist, in no particular order. */
  findByIds(userIds: readonly string[]): Promise<UserRecord[]>;
  /** Usernames starting with the prefix, ordered by username key (the unique index serves it). */
  search(query: UserSearch): Promise<UserRecord[]>;
  /** Applies the patch and stamps `updatedAt`; null when there is no such user. */
  updateProfile(userId: string, patch: ProfilePatch, at: number): Promise<UserRecord | null>;
  updatePasswordHash(userId: string, passwordHash: string): Promise<void>;
  /** Keeps the later of the stored last seen and `at` (a late writer never moves it back). */
  recordLastSeen(userId: string, at: number): Promise<void>;
}

export class UsernameTakenError extends PlatformError {
  constructor(username: string) {
    super('USERNAME_TAKEN', `username ${username} is already registered`);
    this.name = 'UsernameTakenError';
  }
}

/** The uniqueness key of a username. */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/**
 * The exclusive upper bound of the keys starting with `prefix`: usernames are letters, digits
 * and `_ . -` (all below `~` in code order), so `prefix + '~'` is past every one of them. A
 * plain range on the indexed key works on MongoDB and FerretDB alike; no regular expression.
 */
export function prefixEnd(prefix: string): string {
  return `${prefix}~`;
}
