import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { createMemoryDeviceTokenStore } from './device-tokens.js';
import { offlinePushFromConfig } from './from-config.js';

describe('offline push configuration', () => {
  it('is off by default, on with credentials, and refuses half an APNs setup or a broken FCM key', async () => {
    const base = loadConfig({});
    expect(base.offlinePush.apns).toBeNull();
    expect(base.offlinePush.fcm).toBeNull();
    expect(base.delivery.writer).toEqual({ maxItems: 500, lingerMs: 20 });
    const on = loadConfig({
      IM_APNS_KEY_PEM: '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----',
      IM_APNS_KEY_ID: 'K',
      IM_APNS_TEAM_ID: 'T',
      IM_APNS_BUNDLE_ID: 'com.example.im',
      IM_FCM_SERVICE_ACCOUNT_JSON: JSON.stringify({ client_email: 'e', private_key: 'k', project_id: 'p' }),
    });
    expect(on.offlinePush.apns).toMatchObject({ endpoint: 'https://api.push.apple.com', keyPem: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----' });
    expect(on.offlinePush.fcm!.serviceAccount.token_uri).toBe('https://oauth2.googleapis.com/token');
    const router = offlinePushFromConfig(on.offlinePush, createMemoryDeviceTokenStore());
    expect(await router.notify('nobody', { title: 't', body: 'b', data: {} })).toEqual({ sent: 0, removed: 0, failed: 0 });
    await router.close();
    expect(() => loadConfig({ IM_APNS_KEY_PEM: 'x' })).toThrow(/IM_APNS_KEY_ID/);
    expect(() => loadConfig({ IM_FCM_SERVICE_ACCOUNT_JSON: '{"client_email":"e"}' })).toThrow(/private_key missing/);
  });
});
