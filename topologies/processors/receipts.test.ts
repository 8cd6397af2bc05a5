import { describe, expect, it } from 'vitest';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { positionMoves } from '../../connectors/mongo-mirror/mirror-sink.js';
import { createMemoryPresence } from '../../edge/presence/presence-memory.js';
import type { Presence } from '../../edge/presence/presence.js';
import type { Origin, ReceiptCommand, TypingCommand } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { defaultFanoutConfig } from '../fanout.js';
import { receiptsProcessor } from './receipts.js';
import { online } from './testing.js';
import { typingProcessor } from './typing.js';

const origin = (connectionId: string, gatewayId = 'gw-a'): Origin => ({ gatewayId, connectionId, deviceId: connectionId });
const receipt = (over: Partial<ReceiptCommand> & { seq: number }): ReceiptCommand => ({
  correlationId: `r-${over.seq}`,
  userId: 'bob',
  origin: origin('bob-phone'),
  kind: 'READ',
  conversationId: 'd:alice:bob',
  at: 100 + over.seq,
  ...over,
});
const typing = (over: Partial<TypingCommand> = {}): TypingCommand => ({
  correlationId: 't',
  userId: 'alice',
  origin: origin('alice-phone'),
  conversationId: 'd:alice:bob',
  recipientKind: 'USER',
  recipientId: 'bob',
  active: true,
  at: 5,
  ...over,
});

describe('receipts and typing', () => {
  it('stores read positions monotonically, notifies the peer and the reader\'s other devices, refuses outsiders', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    await online(presence, 'alice', 'alice-1', 'gw-b');
    await online(presence, 'bob', 'bob-phone', 'gw-a');
    await online(presence, 'bob', 'bob-laptop', 'gw-c');
    const mirror = createMemoryMessageStore();
    const driver = await TopologyTestDriver.start(new Topology('receipts-test').processor('receipts', receiptsProcessor({ presence }, { ...defaultFanoutConfig, maxGroupNotify: 100 })));
    await driver.pipe('im.state.sequences', [{ key: 'd:alice:bob', value: { conversationId: 'd:alice:bob', seq: 10, updatedAt: 1 } }]);
    await driver.pipe('im.cmd.receipt', [
      { key: 'd:alice:bob', value: receipt({ seq: 5 }) },
      { key: 'd:alice:bob', value: receipt({ seq: 3 }) }, // late: ignored
      { key: 'd:alice:bob', value: receipt({ seq: 50 }) }, // beyond the last seq: clamped to 10
      { key: 'd:alice:bob', value: receipt({ seq: 7, kind: 'DELIVERED' }) }, // read up to 10 implies delivered: nothing new
      { key: 'd:alice:carol', value: receipt({ seq: 1, conversationId: 'd:alice:carol' }) },
    ]);
    expect(driver.read('im.state.reads').map((r) => [r.key, r.value.readSeq])).toEqual([['d:alice:bob|bob', 5], ['d:alice:bob|bob', 10]]);
    // What the state mirror makes of the store's records (connectors/mongo-mirror/mirror-sink.ts).
    await mirror.movePositions(positionMoves(driver.read('im.state.reads').map((r) => r.value)));
    expect(await mirror.readSeqs('bob', ['d:alice:bob'])).toEqual(new Map([['d:alice:bob', 10]]));
    const pushes = driver.read('im.push.online');
    expect(pushes).toHaveLength(5);
    const frames = pushes.flatMap((r) => r.value.deliveries.map((d) => ({ gw: r.value.gatewayId, conn: d.connectionId, user: d.userId, f: JSON.parse(d.frame) })));
    const toAlice = frames.filter((f) => f.user === 'alice').map((f) => [f.gw, f.f.kind, f.f.seq]);
    expect(toAlice).toEqual([['gw-b', 'read', 5], ['gw-b', 'read', 10]]);
    const toBob = frames.filter((f) => f.user === 'bob' && f.f.type === 'receipt').map((f) => [f.conn, f.f.seq]);
    expect(toBob).toEqual([['bob-laptop', 5], ['bob-laptop', 10]]);
    const errors = frames.filter((f) => f.f.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ conn: 'bob-phone', f: { error_code: 'FORBIDDEN' } });
  });

  it('DELIVERED moves the delivered position forward only and tells no one in a group (asked for instead), not for outsiders; the mirror answers who reached a seq', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    await online(presence, 'alice', 'alice-1', 'gw-b');
    await online(presence, 'bob', 'bob-laptop', 'gw-c');
    const mirror = createMemoryMessageStore();
    const driver = await TopologyTestDriver.start(new Topology('receipts-test').processor('receipts', receiptsProcessor({ presence }, { ...defaultFanoutConfig, maxGroupNotify: 100 })));
    const members = ['alice', 'bob', 'carol'].map((u) => ({ key: `G|${u}`, value: { groupId: 'G', userId: u, role: 'MEMBER' as const, mutedUntil: 0, joinedAt: 1 } }));
    await driver.pipe('im.state.members', members);
    await driver.pipe('im.state.sequences', [{ key: 'g:G', value: { conversationId: 'g:G', seq: 9, updatedAt: 1 } }]);
    const g = { conversationId: 'g:G' };
    await driver.pipe('im.cmd.receipt', [
      { key: 'g:G', value: receipt({ ...g, seq: 4, kind: 'DELIVERED' }) },
      { key: 'g:G', value: receipt({ ...g, seq: 4, kind: 'DELIVERED' }) }, // nothing new: no one told
      { key: 'g:G', value: receipt({ ...g, seq: 2, kind: 'READ' }) },
      { key: 'g:G', value: receipt({ ...g, seq: 6, kind: 'DELIVERED', userId: 'carol', origin: origin('carol-1') }) },
      { key: 'g:G', value: receipt({ ...g, seq: 6, kind: 'DELIVERED', userId: 'mallory', origin: origin('mallory-1') }) },
    ]);
    expect(driver.read('im.state.reads').map((r) => [r.key, r.value.readSeq, r.value.deliveredSeq])).toEqual([['g:G|bob', 0, 4], ['g:G|bob', 2, 4], ['g:G|carol', 0, 6]]);
    const frames = driver.read('im.push.online').flatMap((r) => r.value.deliveries.map((d) => ({ user: d.userId, f: JSON.parse(d.frame) })));
    // Every member's DELIVERED to every other member would be n² frames a message: none in a group.
    expect(frames.filter((f) => f.f.kind === 'delivered')).toEqual([]);
    expect(frames.filter((f) => f.f.kind === 'read').map((f) => [f.user, f.f.user, f.f.seq])).toEqual([['alice', 'bob', 2], ['bob', 'bob', 2]]);
    // A non-member's DELIVERED (a gateway's record, not a frame of theirs) is dropped unanswered.
    expect(frames.filter((f) => f.user === 'mallory' || f.f.user === 'mallory')).toEqual([]);
    await mirror.movePositions(positionMoves(driver.read('im.state.reads').map((r) => r.value)));
    expect(await mirror.receiptsAt('g:G', 4, 'delivered', { limit: 10, exclude: 'alice' })).toEqual({ count: 2, users: ['bob', 'carol'], hasMore: false });
    expect(await mirror.receiptsAt('g:G', 2, 'read', { limit: 10 })).toEqual({ count: 1, users: ['bob'], hasMore: false });
  });

  it('delivers typing to online peers only, never stored, rate limited per user, not to outsiders', async () => {
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    await online(presence, 'bob', 'bob-1', 'gw-b');
    await online(presence, 'alice', 'alice-phone', 'gw-a');
    const members = ['alice', 'bob', 'carol'].map((u) => ({ key: `G|${u}`, value: { groupId: 'G', userId: u, role: 'MEMBER' as const, mutedUntil: 0, joinedAt: 1 } }));
    const driver = await TopologyTestDriver.start(new Topology('typing-test').processor('typing', typingProcessor({ presence }, { ...defaultFanoutConfig, perUser: { ratePerSec: 1, burst: 2 }, maxGroupMembers: 50 })));
    await driver.pipe('im.state.members', members);
    const group = { conversationId: 'g:G', recipientKind: 'GROUP' as const, recipientId: 'G' };
    // The rate limiter sees the typing frames in the order they are piped, across partitions.
    await driver.pipe('im.cmd.typing', [
      { key: 'd:alice:bob', value: typing() },
      { key: 'g:G', value: typing({ ...group, active: false }) },
      { key: 'g:G', value: typing(group) }, // over the burst of 2: dropped
      { key: 'g:G', value: typing({ ...group, userId: 'mallory' }) }, // not a member
    ]);
    const pushes = driver.read('im.push.online');
    const got = pushes.flatMap((r) => r.value.deliveries.map((d) => ({ user: d.userId, gw: r.value.gatewayId, f: JSON.parse(d.frame) })));
    expect(got).toEqual([
      { user: 'bob', gw: 'gw-b', f: { type: 'typing', conversation_id: 'd:alice:bob', user: 'alice', active: true, timestamp: 5 } },
      { user: 'bob', gw: 'gw-b', f: { type: 'typing', conversation_id: 'g:G', user: 'alice', active: false, timestamp: 5 } },
    ]);
    expect(driver.read('im.push.offline')).toHaveLength(0);
    expect(driver.read('im.state.reads')).toHaveLength(0);
    driver.advanceTime(999);
    await driver.pipe('im.cmd.typing', [{ key: 'g:G', value: typing(group) }]);
    expect(driver.read('im.push.online')).toHaveLength(2);
    driver.advanceTime(1); // a token a second: allowed again
    await driver.pipe('im.cmd.typing', [{ key: 'g:G', value: typing(group) }]);
    expect(driver.read('im.push.online')).toHaveLength(3);
  });
});
