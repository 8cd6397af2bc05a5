import { describe, expect, it } from 'vitest';
import { directConversationId } from '../../domain/conversations.js';
import { createMemoryPushBus } from '../../edge/delivery/push-bus-memory.js';
import { createMemoryPresence } from '../../edge/presence/presence-memory.js';
import type { Presence } from '../../edge/presence/presence.js';
import type { MemberState, OnlinePush, StampedMessage } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { GatewayDeliveries, defaultFanoutConfig } from '../fanout.js';
import { pushOrchestrator } from './push-orchestrator.js';
import { pushRealtime } from './push-realtime.js';
import { online } from './testing.js';

const config = { ...defaultFanoutConfig, presenceBatchSize: 7, previewChars: 10 };
const start = (presence: Presence) => TopologyTestDriver.start(new Topology('push-test').processor('orchestrate', pushOrchestrator({ presence }, config)));

function stamped(over: Partial<StampedMessage> & { seq: number }): StampedMessage {
  return {
    correlationId: `corr-${over.seq}`,
    messageId: `m-${over.seq}`,
    sender: 'alice',
    origin: { gatewayId: 'gw-a', connectionId: 'alice-phone', deviceId: 'phone' },
    clientMsgId: `c-${over.seq}`,
    conversationId: directConversationId('alice', 'bob'),
    recipientKind: 'USER',
    recipientId: 'bob',
    content: 'hello there, how are you?',
    contentType: 'text',
    mentions: [],
    clientTimestamp: 1,
    receivedAt: 2,
    stampedAt: 3,
    ...over,
  };
}

const frames = (pushes: OnlinePush[]) => pushes.flatMap((p) => p.deliveries.map((d) => ({ gw: p.gatewayId, ...d, frame: JSON.parse(d.frame) as Record<string, unknown> })));

describe('gateway deliveries', () => {
  it('keeps one record per gateway and splits only past the count or byte bound', () => {
    const d = new GatewayDeliveries();
    const frame = 'x'.repeat(1000);
    for (let i = 0; i < 10; i++) d.add('gw-1', { userId: `u${i}`, connectionId: null, messageId: 'm', frame });
    d.add('gw-2', { userId: 'v', connectionId: null, messageId: 'm', frame });
    const sizes = (e: ReturnType<GatewayDeliveries['toEmits']>) => e.map((x) => [x.key, x.value!.deliveries.length]);
    expect(sizes(d.toEmits('c', { maxDeliveriesPerPush: 500 }, 7))).toEqual([['gw-1', 10], ['gw-2', 1]]);
    expect(sizes(d.toEmits('c', { maxDeliveriesPerPush: 4 }, 7))).toEqual([['gw-1', 4], ['gw-1', 4], ['gw-1', 2], ['gw-2', 1]]);
    expect(sizes(d.toEmits('c', { maxDeliveriesPerPush: 500, maxPushBytes: 7_000 }, 7))).toEqual([['gw-1', 2], ['gw-1', 2], ['gw-1', 2], ['gw-1', 2], ['gw-1', 2], ['gw-2', 1]]);
    expect(d.toEmits('c', { maxDeliveriesPerPush: 500 }, 7).every((e) => e.value!.createdAt === 7)).toBe(true);
    // With the conversation, the key orders a conversation's pushes per gateway, not all of a gateway's.
    expect(d.toEmits('c', { maxDeliveriesPerPush: 500 }, 7, 'g:G').map((e) => [e.key, e.value!.gatewayId])).toEqual([['gw-1|g:G', 'gw-1'], ['gw-2|g:G', 'gw-2']]);
  });
});

describe('push orchestration', () => {
  it('delivers to the peer and the sender\'s other devices, and skips the sending connection (its ack comes from the stamper)', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    await online(presence, 'alice', 'alice-phone', 'gw-a');
    await online(presence, 'alice', 'alice-laptop', 'gw-b');
    await online(presence, 'bob', 'bob-1', 'gw-b');
    await online(presence, 'bob', 'bob-2', 'gw-b');
    const driver = await start(presence);
    await driver.pipe('im.msg.stamped', [{ key: directConversationId('alice', 'bob'), value: stamped({ seq: 1 }) }]);
    const pushes = driver.read('im.push.online');
    // One push per gateway with deliveries, stamped with the engine's time.
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.value.createdAt).toBe(driver.clock.now());
    const byGw = new Map(pushes.map((r) => [r.value.gatewayId, r.value]));
    expect(byGw.has('gw-a')).toBe(false);
    const gwB = byGw.get('gw-b')!.deliveries;
    expect(gwB.map((d) => [d.userId, d.connectionId, d.messageId]).sort()).toEqual([['alice', 'alice-laptop', 'm-1'], ['bob', null, 'm-1']]);
    expect(JSON.parse(gwB[0]!.frame)).toMatchObject({ type: 'message', msg_id: 'm-1', sequence_number: 1, sender: 'alice' });
    expect(driver.read('im.push.offline')).toHaveLength(0);
  });

  it('sends an offline task for an offline peer', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    await online(presence, 'alice', 'alice-phone', 'gw-a');
    const driver = await start(presence);
    await driver.pipe('im.msg.stamped', [{ key: 'd:alice:bob', value: stamped({ seq: 4 }) }]);
    const offline = driver.read('im.push.offline');
    expect(offline).toHaveLength(1);
    expect(frames(driver.read('im.push.online').map((r) => r.value)).filter((d) => d.frame.type === 'ack')).toEqual([]);
    expect(offline[0]!.key).toBe('bob');
    expect(offline[0]!.value).toMatchObject({ userId: 'bob', messageId: 'm-4', seq: 4, reason: 'OFFLINE', preview: 'hello ther…', createdAt: driver.clock.now() });
  });

  it('fans a group message out once per gateway holding members, without a presence lookup per member; offline members as tasks', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    const users = Array.from({ length: 50 }, (_, i) => `u${i}`);
    const member = (userId: string): MemberState => ({ groupId: 'G', userId, role: 'MEMBER', mutedUntil: 0, joinedAt: 1 });
    let lookups = 0;
    const counted: Presence = { ...presence, lookup: (ids) => (lookups++, presence.lookup(ids)) };
    const driver = await start(counted);
    await driver.pipe('im.state.members', [...users, 'alice'].map((u) => ({ key: `G|${u}`, value: member(u) })));
    await driver.pipe('im.state.members', [{ key: 'OTHER|zed', value: { ...member('zed'), groupId: 'OTHER' } }]);
    // The first message finds no memberships in the routing store and rebuilds them from the table.
    await driver.pipe('im.msg.stamped', [{ key: 'g:G', value: stamped({ seq: 8, conversationId: 'g:G', recipientKind: 'GROUP', recipientId: 'G' }) }]);
    // Connections register their gateway for their groups: u0..u39 over three gateways, u40..u49 offline.
    await online(presence, 'alice', 'alice-phone', 'gw-a');
    await online(presence, 'zed', 'zed-1', 'gw-z');
    for (let i = 0; i < 40; i++) await online(presence, `u${i}`, `c${i}`, `gw-${i % 3}`);
    const before = driver.read('im.push.online').length;
    await driver.pipe('im.msg.stamped', [{ key: 'g:G', value: stamped({ seq: 9, conversationId: 'g:G', recipientKind: 'GROUP', recipientId: 'G' }) }]);
    const pushes = driver.read('im.push.online').slice(before);
    const offline = driver.read('im.push.offline').filter((r) => r.value.seq === 9);
    expect(lookups).toBe(0);
    // The sender's gateway too: it skips her sending connection (its ack is the stamper's).
    expect(pushes.map((r) => r.value.gatewayId).sort()).toEqual(['gw-0', 'gw-1', 'gw-2', 'gw-a']);
    for (const r of pushes) {
      expect(r.value.deliveries).toEqual([]);
      expect(r.value.conversationOps).toEqual([{ kind: 'PUBLISH', conversationId: 'g:G', userId: null, messageId: 'm-9', exceptConnectionId: 'alice-phone', frame: expect.stringContaining('"sequence_number":9') }]);
    }
    expect(offline.map((r) => r.key).sort()).toEqual(users.slice(40).sort());
  });

  it('the real-time worker publishes each online push to its gateway channel', async () => {
    const bus = createMemoryPushBus();
    const got: OnlinePush[] = [];
    await bus.subscribe('gw-9', (p) => got.push(p));
    const driver = await TopologyTestDriver.start(new Topology('realtime-test').processor('realtime', pushRealtime({ pushBus: bus })));
    const push = (n: number): OnlinePush => ({ gatewayId: 'gw-9', correlationId: `c${n}`, createdAt: n, deliveries: [{ userId: 'bob', connectionId: null, messageId: `m${n}`, frame: '{"type":"message"}' }] });
    await driver.pipe('im.push.online', [1, 2, 3].map((n) => ({ key: 'gw-9', value: push(n) })));
    expect(got).toMatchObject([1, 2, 3].map(push));
  });
});
