import { afterEach, describe, expect, it } from 'vitest';
import { deviceRoutes } from '../../edge/http/device-routes.js';
import type { HttpRequest } from '../../edge/http/routes.js';
import { openTestMongo } from '../message-store/testing.js';
import { createMongoDeviceTokenStore } from './device-tokens-mongo.js';
import { createMemoryDeviceTokenStore, type DeviceTokenStore } from './device-tokens.js';

const impls = [
  { name: 'memory', open: async () => ({ store: createMemoryDeviceTokenStore(), close: async () => {} }) },
  {
    name: 'mongodb',
    open: async () => {
      const t = await openTestMongo('devices');
      return { store: await createMongoDeviceTokenStore(t.db), close: t.close };
    },
  },
] as const;

const req = (method: HttpRequest['method'], userId: string, body: unknown, params: Record<string, string> = {}): HttpRequest =>
  ({ method, path: '/v1/devices', params, query: {}, headers: {}, body, remoteAddress: '192.0.2.1', userId });

describe.each(impls)('device tokens and routes ($name)', ({ open }) => {
  let store: DeviceTokenStore;
  let close: () => Promise<void> = async () => {};
  afterEach(async () => close());

  it('registers over HTTP, moves a re-registered token, unregisters only own tokens, removes dead ones', async () => {
    ({ store, close } = await open());
    const [post, del] = deviceRoutes(store);
    expect((await post!.handler(req('POST', 'bob', { platform: 'apns', token: 'aa11' }))).status).toBe(204);
    expect((await post!.handler(req('POST', 'bob', { platform: 'fcm', token: 'fcm:xyz' }))).status).toBe(204);
    await expect(post!.handler(req('POST', 'bob', { platform: 'wns', token: 'x' }))).rejects.toMatchObject({ status: 400 });
    await expect(post!.handler(req('POST', 'bob', { platform: 'apns', token: '' }))).rejects.toMatchObject({ status: 400 });
    expect((await store.tokensOf('bob')).map((t) => [t.platform, t.token]).sort()).toEqual([['apns', 'aa11'], ['fcm', 'fcm:xyz']]);

    await post!.handler(req('POST', 'carol', { platform: 'apns', token: 'aa11' })); // same phone, another account
    expect((await store.tokensOf('bob')).map((t) => t.token)).toEqual(['fcm:xyz']);
    await expect(del!.handler(req('DELETE', 'bob', null, { token: 'aa11' }))).rejects.toMatchObject({ status: 404 });
    expect((await del!.handler(req('DELETE', 'carol', null, { token: 'aa11' }))).status).toBe(204);
    await store.remove('fcm:xyz');
    expect(await store.tokensOf('bob')).toEqual([]);
    expect(await store.tokensOf('carol')).toEqual([]);
  });
});
