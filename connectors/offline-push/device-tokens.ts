import type { DevicePlatform } from './push-provider.js';

/**
 * Device tokens by user, registered by apps over HTTP. A token belongs to one user at a time:
 * registering it again (another account on the same phone) moves it. Dead tokens reported by
 * a vendor are removed. Implementations: memory and MongoDB.
 */
export interface DeviceToken {
  userId: string;
  platform: DevicePlatform;
  token: string;
  updatedAt: number;
}

export interface DeviceTokenStore {
  register(token: Omit<DeviceToken, 'updatedAt'>): Promise<void>;
  /** Removes a token of this user; false when the user has no such token. */
  unregister(userId: string, token: string): Promise<boolean>;
  /** Removes a dead token whoever holds it. */
  remove(token: string): Promise<void>;
  tokensOf(userId: string): Promise<DeviceToken[]>;
  close(): Promise<void>;
}

export function createMemoryDeviceTokenStore(now: () => number = Date.now): DeviceTokenStore {
  const byToken = new Map<string, DeviceToken>();
  return {
    async register(t) {
      byToken.set(t.token, { ...t, updatedAt: now() });
    },
    async unregister(userId, token) {
      if (byToken.get(token)?.userId !== userId) return false;
      byToken.delete(token);
      return true;
    },
    async remove(token) {
      byToken.delete(token);
    },
    async tokensOf(userId) {
      return [...byToken.values()].filter((t) => t.userId === userId).map((t) => ({ ...t }));
    },
    async close() {},
  };
}
