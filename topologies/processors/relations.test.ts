import { describe, expect, it } from 'vitest';
import type { RelationAction, RelationCommand } from '../../schemas/types.generated.js';
import { engines, eventually } from '../../streams/testing.js';
import { relationsProcessor } from './relations.js';
import { userPairKey } from './replies.js';
import { useKit } from './test-kit.js';

const TOPICS = ['im.cmd.relation', 'im.state.relations', 'im.msg.checked', 'im.dlq'] as const;
let n = 0;
const cmd = (actor: string, action: RelationAction, target: string, extra: Partial<RelationCommand> = {}) => {
  const value: RelationCommand = { correlationId: `r${++n}`, actor, target, action, note: null, at: Date.now() + n, ...extra };
  return { key: userPairKey(actor, target), value };
};

for (const engine of engines) {
  describe(`relations on the ${engine.name} engine`, () => {
    const kit = useKit(engine, [...TOPICS]);

    it('request then accept makes friends, with notices in the direct conversation', async () => {
      const k = await kit();
      await k.start('relations', relationsProcessor());
      const state = await k.collect('im.state.relations');
      const checked = await k.collect('im.msg.checked');
      await k.produce('im.cmd.relation', [cmd('bob', 'REQUEST', 'alice', { note: 'hi, it is bob' }), cmd('alice', 'ACCEPT', 'bob')]);
      await eventually(() => checked.records.length === 2 && state.records.length === 2, 'two notices, two states');
      expect(state.records.map((r) => r.value.status)).toEqual(['PENDING_B_TO_A', 'FRIENDS']);
      expect(state.records[1]!.key).toBe('alice|bob');
      const [req, acc] = checked.records.map((r) => r.value);
      expect(req).toMatchObject({ sender: 'bob', recipientId: 'alice', conversationId: 'd:alice:bob', contentType: 'system/friend_request', origin: null });
      expect(JSON.parse(req!.content)).toMatchObject({ event: 'friend_request', actor: 'bob', target: 'alice', note: 'hi, it is bob' });
      expect(acc).toMatchObject({ sender: 'alice', recipientId: 'bob', contentType: 'system/friend_accepted' });
      expect(req!.clientMsgId).toMatch(/^sys:/);
    });

    it('refuses what the rules forbid, privately to the actor', async () => {
      const k = await kit();
      await k.start('relations', relationsProcessor());
      const checked = await k.collect('im.msg.checked');
      const state = await k.collect('im.state.relations');
      await k.produce('im.cmd.relation', [
        cmd('carol', 'ACCEPT', 'dave'), // nothing pending
        cmd('erin', 'BLOCK', 'frank'),
        cmd('frank', 'REQUEST', 'erin'), // blocked
        cmd('erin', 'REQUEST', 'frank'), // the blocker cannot request either
        cmd('erin', 'UNBLOCK', 'frank'),
        cmd('frank', 'REQUEST', 'erin'),
        cmd('frank', 'ACCEPT', 'erin'), // cannot accept your own request
        cmd('gil', 'REQUEST', 'gil'),
      ]);
      await eventually(() => checked.records.length === 8, 'eight notices');
      // Different pairs are different partitions: order by command, as each pair's order holds.
      const byCommand = [...checked.records].sort((a, b) => Number(a.value.correlationId.slice(1)) - Number(b.value.correlationId.slice(1)));
      const got = byCommand.map((r) => ({ to: r.value.conversationId, type: r.value.contentType, code: (JSON.parse(r.value.content) as { error_code?: string }).error_code }));
      expect(got).toEqual([
        { to: 'd:carol:carol', type: 'system/command_rejected', code: 'NO_PENDING_REQUEST' },
        { to: 'd:erin:erin', type: 'system/user_blocked', code: undefined },
        { to: 'd:frank:frank', type: 'system/command_rejected', code: 'BLOCKED' },
        { to: 'd:erin:erin', type: 'system/command_rejected', code: 'BLOCKED' },
        { to: 'd:erin:erin', type: 'system/user_unblocked', code: undefined },
        { to: 'd:erin:frank', type: 'system/friend_request', code: undefined },
        { to: 'd:frank:frank', type: 'system/command_rejected', code: 'NO_PENDING_REQUEST' },
        { to: 'd:gil:gil', type: 'system/command_rejected', code: 'BAD_REQUEST' },
      ]);
      await eventually(() => state.records.filter((r) => r.key === 'erin|frank').length === 3, 'erin|frank states');
      expect(state.records.filter((r) => r.key === 'erin|frank').at(-1)!.value).toMatchObject({ status: 'PENDING_B_TO_A', blockedByA: false, blockedByB: false });
    });

    it('mutual requests become a friendship; a block overrides a pending request; unfriend ends it', async () => {
      const k = await kit();
      await k.start('relations', relationsProcessor());
      const state = await k.collect('im.state.relations');
      await k.produce('im.cmd.relation', [cmd('hal', 'REQUEST', 'ida'), cmd('ida', 'REQUEST', 'hal'), cmd('jo', 'REQUEST', 'kim'), cmd('kim', 'BLOCK', 'jo'), cmd('hal', 'UNFRIEND', 'ida')]);
      await eventually(() => state.records.length === 5, 'five states');
      const last = (key: string) => state.records.filter((r) => r.key === key).map((r) => r.value.status);
      expect(last('hal|ida')).toEqual(['PENDING_A_TO_B', 'FRIENDS', 'NONE']);
      expect(last('jo|kim')).toEqual(['PENDING_A_TO_B', 'NONE']);
      expect(state.records.filter((r) => r.key === 'jo|kim').at(-1)!.value.blockedByB).toBe(true);
    });

    it('a redelivered command re-sends its notice with the same id; a repeated click is a no-op', async () => {
      const k = await kit();
      await k.start('relations', relationsProcessor());
      const checked = await k.collect('im.msg.checked');
      const request = cmd('lea', 'REQUEST', 'max');
      await k.produce('im.cmd.relation', [request, request, cmd('lea', 'REQUEST', 'max'), cmd('lea', 'UNBLOCK', 'max')]);
      await eventually(() => checked.records.length === 2, 'the notice twice');
      await new Promise((r) => setTimeout(r, 300));
      expect(checked.records).toHaveLength(2);
      expect(checked.records[0]!.value).toEqual(checked.records[1]!.value);
    });
  });
}
