import type { Collection, Db } from 'mongodb';
import type { DevicePlatform } from './push-provider.js';
import type { DeviceToken, DeviceTokenStore } from './device-tokens.js';

interface TokenDoc {
  _id: string;
  userId: string;
  platform: DevicePlatform;
  updatedAt: number;
}

/** Device tokens in MongoDB: the token is the `_id`, so re-registering moves it (upsert). */
export async function createMongoDeviceTokenStore(db: Db, options: { collection?: string; now?: () => number } = {}): Promise<DeviceTokenStore> {
  const tokens: Collection<TokenDoc> = db.collection<TokenDoc>(options.collection ?? 'device_tokens');
  const now = options.now ?? Date.now;
  await tokens.createIndex({ userId: 1 }, { name: 'device_tokens_user' });
  const toToken = (d: TokenDoc): DeviceToken => ({ token: d._id, userId: d.userId, platform: d.platform, updatedAt: d.updatedAt });
  return {
    async register(t) {
      await tokens.updateOne({ _id: t.token }, { $set: { userId: t.userId, platform: t.platform, updatedAt: now() } }, { upsert: true });
    },
    async unregister(userId, token) {
      return (await tokens.deleteOne({ _id: token, userId })).deletedCount === 1;
    },
    async remove(token) {
      await tokens.deleteOne({ _id: token });
    },
    async tokensOf(userId) {
      return (await tokens.find({ userId }).toArray()).map(toToken);
    },
    async close() {},
  };
}
