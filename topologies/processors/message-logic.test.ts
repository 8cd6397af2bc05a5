import { describe, expect, it } from 'vitest';
import { directConversationId, groupConversationId, userPairKey } from '../../domain/conversations.js';
import type { GroupState, MemberState, RelationState, SendCommand } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { messageLogicProcessor, type MessageLogicConfig } from './message-logic.js';
import { frames, origin } from './testing.js';

const config: MessageLogicConfig = { requireFriendship: true, sensitiveWords: ['darn', 'heck'], sensitiveMode: 'mask' };
const NOW = Date.UTC(2024, 0, 1);

let n = 0;
function send(sender: string, recipient: string, content: string, group = false): { key: string; value: SendCommand } {
  const conversationId = group ? groupConversationId(recipient) : directConversationId(sender, recipient);
  n++;
  return { key: conversationId, value: { correlationId: `s${n}`, sender, origin: origin(`conn-${sender}`), clientMsgId: `m${n}`, conversationId, recipientKind: group ? 'GROUP' : 'USER', recipientId: recipient, content, contentType: 'text', clientTimestamp: NOW, receivedAt: NOW } };
}
const rel = (a: string, b: string, status: RelationState['status'], block: Partial<RelationState> = {}) => {
  const [userA, userB] = a < b ? [a, b] : [b, a];
  return { key: userPairKey(a, b), value: { userA, userB, status, blockedByA: false, blockedByB: false, updatedAt: 1, ...block } };
};
const group = (groupId: string, extra: Partial<GroupState> = {}) => ({ key: groupId, value: { groupId, name: groupId, ownerId: 'own', status: 'ACTIVE' as const, muteAll: false, announcement: null, createdAt: 1, updatedAt: 1, ...extra } });
const member = (groupId: string, userId: string, role: MemberState['role'] = 'MEMBER', mutedUntil = 0) => ({ key: `${groupId}|${userId}`, value: { groupId, userId, role, mutedUntil, joinedAt: 1 } });

describe('message logic', () => {
  async function seeded(cfg: MessageLogicConfig = config) {
    const driver = await TopologyTestDriver.start(new Topology('message-logic-test').processor('message-logic', messageLogicProcessor({}, cfg)), { startTime: NOW + 1_000 });
    await driver.pipe('im.state.relations', [rel('amy', 'bo', 'FRIENDS'), rel('amy', 'cy', 'FRIENDS', { blockedByB: true }), rel('amy', 'di', 'PENDING_A_TO_B')]);
    await driver.pipe('im.state.groups', [group('team'), group('quiet', { muteAll: true }), group('old', { status: 'DISBANDED' })]);
    await driver.pipe('im.state.members', [
      member('team', 'amy', 'ADMIN'), member('team', 'bo'), member('team', 'ed', 'MEMBER', NOW + 60_000), member('team', 'fi', 'MEMBER', NOW - 1),
      member('quiet', 'amy', 'ADMIN'), member('quiet', 'bo'), member('old', 'amy'),
    ]);
    return driver;
  }

  it('refuses by relationship and membership, each with its code and the client msg_id', async () => {
    const driver = await seeded();
    const refused = [
      send('amy', 'cy', 'hi'), // cy blocked amy
      send('amy', 'di', 'hi'), // only a pending request
      send('amy', 'zoe', 'hi'), // strangers
      send('amy', 'nope', 'hi', true),
      send('amy', 'old', 'hi', true),
      send('zoe', 'team', 'hi', true),
      send('ed', 'team', 'hi', true), // muted until later
      send('bo', 'quiet', 'hi', true), // mute-all silences plain members
    ];
    const allowed = [send('amy', 'bo', 'hi'), send('amy', 'amy', 'note to self'), send('fi', 'team', 'mute expired'), send('amy', 'quiet', 'admins may talk', true)];
    allowed[2] = send('fi', 'team', 'mute expired', true);
    await driver.pipe('im.cmd.send', [...refused, ...allowed]);
    const replies = frames(driver.read('im.push.online'));
    expect(replies).toHaveLength(refused.length);
    // A refusal is stamped with the engine's time, not the send's.
    expect(replies.every((f) => f.frame.timestamp === NOW + 1_000)).toBe(true);
    const codes = new Map(replies.map((f) => [f.frame.msg_id, [f.userId, f.connectionId, f.frame.error_code]]));
    expect(refused.map((s) => codes.get(s.value.clientMsgId))).toEqual([
      ['amy', 'conn-amy', 'BLOCKED'], ['amy', 'conn-amy', 'NOT_FRIENDS'], ['amy', 'conn-amy', 'NOT_FRIENDS'], ['amy', 'conn-amy', 'GROUP_NOT_FOUND'],
      ['amy', 'conn-amy', 'GROUP_DISBANDED'], ['zoe', 'conn-zoe', 'NOT_A_MEMBER'], ['ed', 'conn-ed', 'MUTED'], ['bo', 'conn-bo', 'MUTED'],
    ]);
    const checked = driver.read('im.msg.checked');
    expect(checked.map((r) => r.value.clientMsgId).sort()).toEqual(allowed.map((s) => s.value.clientMsgId).sort());
    expect(checked.find((r) => r.value.recipientId === 'amy')!.key).toBe('d:amy:amy');
  });

  it('extracts mentions of members only and masks sensitive words', async () => {
    const driver = await seeded();
    await driver.pipe('im.cmd.send', [
      send('bo', 'team', 'hey @amy and @ed, not @zoe; darn it, @all. mail a@b.c', true),
      send('amy', 'team', '@all HECK yes @bo @bo', true),
      send('amy', 'bo', 'ping @bo @cy'),
    ]);
    const byMsg = new Map(driver.read('im.msg.checked').map((r) => [r.value.clientMsgId, r.value]));
    expect(byMsg.size).toBe(3);
    const [a, b, c] = [byMsg.get(`m${n - 2}`)!, byMsg.get(`m${n - 1}`)!, byMsg.get(`m${n}`)!];
    expect(a.mentions).toEqual(['amy', 'ed']);
    expect(a.content).toBe('hey @amy and @ed, not @zoe; *** it, @all. mail a@b.c');
    expect(b.mentions).toEqual(['all', 'bo']);
    expect(b.content).toBe('@all *** yes @bo @bo');
    expect(c.mentions).toEqual(['bo']);
  });

  it('can reject filtered content and lets strangers talk when friendship is not required', async () => {
    const driver = await seeded({ ...config, requireFriendship: false, sensitiveMode: 'reject' });
    await driver.pipe('im.cmd.send', [send('amy', 'zoe', 'hello'), send('amy', 'zoe', 'oh heck'), send('amy', 'cy', 'still blocked')]);
    expect(driver.read('im.msg.checked').map((r) => r.value.content)).toEqual(['hello']);
    expect(frames(driver.read('im.push.online')).map((f) => f.frame.error_code).sort()).toEqual(['BLOCKED', 'CONTENT_REJECTED']);
  });
});
