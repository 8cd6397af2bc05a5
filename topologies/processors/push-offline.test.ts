import { describe, expect, it } from 'vitest';
import { createMemoryDeviceTokenStore } from '../../connectors/offline-push/device-tokens.js';
import type { PushNotification, PushProvider } from '../../connectors/offline-push/push-provider.js';
import { createPushRouter } from '../../connectors/offline-push/router.js';
import type { OfflinePushTask } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { pushOffline } from './push-offline.js';

function fakeProvider(platform: 'apns' | 'fcm', dead: Set<string>): PushProvider & { sent: [string, PushNotification][] } {
  const sent: [string, PushNotification][] = [];
  return {
    platform,
    sent,
    async send(token, n) {
      if (dead.has(token)) return 'unregistered';
      sent.push([token, n]);
      return 'sent';
    },
    async close() {},
  };
}

const task = (userId: string, seq: number): OfflinePushTask => ({
  correlationId: `c${seq}`, userId, messageId: `m${seq}`, conversationId: 'd:alice:bob', seq, sender: 'alice', preview: `hello ${seq}`, reason: 'OFFLINE', createdAt: 1,
});

describe('offline push worker', () => {
  it('notifies every device of the user through its platform and drops dead tokens', async () => {
    const tokens = createMemoryDeviceTokenStore();
    await tokens.register({ userId: 'bob', platform: 'apns', token: 'iphone' });
    await tokens.register({ userId: 'bob', platform: 'fcm', token: 'android' });
    await tokens.register({ userId: 'bob', platform: 'fcm', token: 'old-android' });
    const apns = fakeProvider('apns', new Set());
    const fcm = fakeProvider('fcm', new Set(['old-android']));
    const driver = await TopologyTestDriver.start(new Topology('offline-test').processor('offline', pushOffline({ router: createPushRouter({ providers: { apns, fcm }, tokens }) })));
    await driver.pipe('im.push.offline', [{ key: 'bob', value: task('bob', 1) }, { key: 'bob', value: task('bob', 2) }, { key: 'zed', value: task('zed', 3) }]);
    expect(fcm.sent.map(([t]) => t)).toEqual(['android', 'android']);
    expect(apns.sent.map(([t, n]) => [t, n.title, n.body, n.data])).toEqual([
      ['iphone', 'alice', 'hello 1', { conversation_id: 'd:alice:bob', msg_id: 'm1', seq: '1' }],
      ['iphone', 'alice', 'hello 2', { conversation_id: 'd:alice:bob', msg_id: 'm2', seq: '2' }],
    ]);
    expect((await tokens.tokensOf('bob')).map((t) => t.token).sort()).toEqual(['android', 'iphone']);
  });

  it('drops a task whose message was recalled before it was sent', async () => {
    const tokens = createMemoryDeviceTokenStore();
    await tokens.register({ userId: 'bob', platform: 'apns', token: 'iphone' });
    const apns = fakeProvider('apns', new Set());
    const driver = await TopologyTestDriver.start(new Topology('offline-recall-test').processor('offline', pushOffline({ router: createPushRouter({ providers: { apns, fcm: fakeProvider('fcm', new Set()) }, tokens }) })));
    // The stamper's record of messages 1 and 2 (im.state.messages): 2 was recalled meanwhile.
    const entry = (seq: number, recalled: boolean) => ({ key: `d:alice:bob|${seq}`, value: { conversationId: 'd:alice:bob', seq, messageId: `m${seq}`, sender: 'alice', stampedAt: 1, contentType: 'text', recalled, version: 0, reactions: [] } });
    await driver.pipe('im.state.messages', [entry(1, false), entry(2, true)]);
    await driver.pipe('im.push.offline', [{ key: 'bob', value: task('bob', 1) }, { key: 'bob', value: task('bob', 2) }]);
    expect(apns.sent.map(([, n]) => n.body)).toEqual(['hello 1']);
  });
});
