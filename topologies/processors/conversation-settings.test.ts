import { describe, expect, it } from 'vitest';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { createMemoryDeviceTokenStore } from '../../connectors/offline-push/device-tokens.js';
import type { PushNotification, PushProvider } from '../../connectors/offline-push/push-provider.js';
import { createPushRouter } from '../../connectors/offline-push/router.js';
import { createMemoryPresence } from '../../edge/presence/presence-memory.js';
import type { SettingsCommand, StampedMessage } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { defaultFanoutConfig } from '../fanout.js';
import { conversationSettingsProcessor } from './conversation-settings.js';
import { pushOffline } from './push-offline.js';
import { pushOrchestrator } from './push-orchestrator.js';
import { frames, online, origin } from './testing.js';

const settings = (n: number, over: Partial<SettingsCommand>): { key: string; value: SettingsCommand } => {
  const value: SettingsCommand = { correlationId: `s${n}`, userId: 'bob', origin: origin('bob-phone', 'gw-a'), conversationId: 'd:alice:bob', clientMsgId: `set-${n}`, at: 100 + n, ...over };
  return { key: value.conversationId, value };
};

function stamped(seq: number, mentions: string[] = []): { key: string; value: StampedMessage } {
  const value: StampedMessage = {
    correlationId: `m${seq}`, messageId: `msg-${seq}`, seq, sender: 'alice', origin: origin('alice-1', 'gw-b'), clientMsgId: `c${seq}`,
    conversationId: 'd:alice:bob', recipientKind: 'USER', recipientId: 'bob', content: `hello ${seq}`, contentType: 'text', mentions, clientTimestamp: seq, receivedAt: seq, stampedAt: seq,
  };
  return { key: value.conversationId, value };
}

describe('conversation settings', () => {
  it('merges a participant\'s changes into their settings, answers the device that asked and tells the others; refuses a non-member', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    await online(presence, 'bob', 'bob-phone', 'gw-a');
    await online(presence, 'bob', 'bob-laptop', 'gw-c');
    const mirror = createMemoryMessageStore();
    const driver = await TopologyTestDriver.start(new Topology('settings-test').processor('settings', conversationSettingsProcessor({ presence, mirror }, defaultFanoutConfig)));
    await driver.pipe('im.cmd.settings', [
      settings(1, { muted: 'MENTIONS', pinned: true }),
      settings(2, { archived: true }),
      settings(3, { conversationId: 'g:team', muted: 'ALL' }), // bob is no member of team
    ]);
    const expected = { userId: 'bob', conversationId: 'd:alice:bob', muted: 'MENTIONS', pinned: true, archived: true, markedUnread: false, updatedAt: 102 };
    expect(driver.state('im.state.conversation-settings').get('bob|d:alice:bob')).toEqual(expected);
    expect(driver.state('im.state.conversation-settings').get('bob|g:team')).toBeUndefined();
    expect(await mirror.conversationSettings('bob', ['d:alice:bob', 'g:team'])).toEqual(new Map([['d:alice:bob', expected]]));

    const sent = frames(driver.read('im.push.online'));
    const toPhone = sent.filter((s) => s.connectionId === 'bob-phone').map((s) => s.frame);
    expect(toPhone).toMatchObject([
      { type: 'conversation_settings', msg_id: 'set-1', conversation_id: 'd:alice:bob', muted: 'mentions', pinned: true, archived: false, marked_unread: false },
      { type: 'conversation_settings', msg_id: 'set-2', muted: 'mentions', pinned: true, archived: true },
      { type: 'error', msg_id: 'set-3', error_code: 'NOT_A_MEMBER' },
    ]);
    const toLaptop = sent.filter((s) => s.userId === 'bob' && s.connectionId !== 'bob-phone').map((s) => s.frame);
    expect(toLaptop).toMatchObject([{ type: 'conversation_settings', pinned: true, archived: false }, { type: 'conversation_settings', archived: true }]);
    expect(toLaptop.every((f) => f.msg_id === undefined)).toBe(true);
  });

  it('a read clears marked unread and tells the user\'s devices; a read with nothing marked stores nothing', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    await online(presence, 'bob', 'bob-laptop', 'gw-c');
    const driver = await TopologyTestDriver.start(new Topology('settings-read-test').processor('settings', conversationSettingsProcessor({ presence }, defaultFanoutConfig)));
    await driver.pipe('im.cmd.receipt', [{ key: 'd:alice:bob', value: { correlationId: 'r0', userId: 'bob', origin: origin('bob-phone', 'gw-a'), kind: 'READ', conversationId: 'd:alice:bob', seq: 1, at: 90 } }]);
    expect(driver.read('im.state.conversation-settings')).toEqual([]);
    await driver.pipe('im.cmd.settings', [settings(1, { markedUnread: true })]);
    expect(driver.state('im.state.conversation-settings').get('bob|d:alice:bob')?.markedUnread).toBe(true);
    await driver.pipe('im.cmd.receipt', [{ key: 'd:alice:bob', value: { correlationId: 'r1', userId: 'bob', origin: origin('bob-phone', 'gw-a'), kind: 'READ', conversationId: 'd:alice:bob', seq: 3, at: 200 } }]);
    expect(driver.state('im.state.conversation-settings').get('bob|d:alice:bob')).toMatchObject({ markedUnread: false, updatedAt: 200 });
    const laptop = frames(driver.read('im.push.online')).filter((s) => s.connectionId === null || s.connectionId === 'bob-laptop').map((s) => s.frame.marked_unread);
    expect(laptop).toEqual([true, false]);
  });

  it('holds back offline pushes of a muted conversation; with "mentions" a message mentioning the user still notifies', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    const tokens = createMemoryDeviceTokenStore();
    await tokens.register({ userId: 'bob', platform: 'apns', token: 'iphone' });
    const sent: PushNotification[] = [];
    const apns: PushProvider = { platform: 'apns', send: async (_t, n) => (sent.push(n), 'sent'), close: async () => {} };
    const fcm: PushProvider = { platform: 'fcm', send: async () => 'sent', close: async () => {} };
    const driver = await TopologyTestDriver.start(
      new Topology('settings-offline-test')
        .processor('settings', conversationSettingsProcessor({ presence }, defaultFanoutConfig))
        .processor('orchestrate', pushOrchestrator({ presence }, { ...defaultFanoutConfig, previewChars: 50 }))
        .processor('offline', pushOffline({ router: createPushRouter({ providers: { apns, fcm }, tokens }) })),
    );
    await driver.pipe('im.msg.stamped', [stamped(1)]);
    await driver.pipe('im.cmd.settings', [settings(1, { muted: 'MENTIONS' })]);
    await driver.pipe('im.msg.stamped', [stamped(2), stamped(3, ['bob'])]);
    await driver.pipe('im.cmd.settings', [settings(2, { muted: 'ALL' })]);
    await driver.pipe('im.msg.stamped', [stamped(4), stamped(5, ['bob'])]);
    await driver.pipe('im.cmd.settings', [settings(3, { muted: 'NONE' })]);
    await driver.pipe('im.msg.stamped', [stamped(6)]);
    // Every message made a task (bob has no connection); push-offline sent only these.
    expect(driver.read('im.push.offline').map((r) => [r.value.seq, r.value.mentioned])).toEqual([[1, false], [2, false], [3, true], [4, false], [5, true], [6, false]]);
    expect(sent.map((n) => n.body)).toEqual(['hello 1', 'hello 3', 'hello 6']);
    expect(driver.read('im.dlq')).toEqual([]);
  });
});
