import { PlatformError } from '../../core/errors.js';

/** An account as the auth service keeps it; the profile proper belongs to the user service. */
export interface UserRecord {
  userId: string;
  /** As the user typed it; uniqueness is on the lower-cased form so "Ann" and "ann" cannot coexist. */
  username: string;
  displayName: string;
  passwordHash: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

export type NewUser = Omit<UserRecord, 'userId' | 'createdAt'>;

/**
 * Where accounts live. `memory` for tests and `make run`; `mongo` for the real stack. The
 * store generates the user id and creation time so no client can choose them.
 */
export interface UserStore {
  /** Throws `UsernameTakenError` when the username (case-insensitively) exists. */
  create(user: NewUser): Promise<UserRecord>;
  findByUsername(username: string): Promise<UserRecord | null>;
  findById(userId: string): Promise<UserRecord | null>;
  updatePasswordHash(userId: string, passwordHash: string): Promise<void>;
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
