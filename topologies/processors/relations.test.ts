import { describe, expect, it } from 'vitest';
import { userPairKey } from '../../domain/conversations.js';
import type { RelationAction, RelationCommand } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { relationsProcessor } from './relations.js';
import { byCommand } from './testing.js';

const T0 = Date.UTC(2024, 0, 1);
const start = () => TopologyTestDriver.start(new Topology('relations-test').processor('relations', relationsProcessor()));
let n = 0;
const cmd = (actor: string, action: RelationAction, target: string, extra: Partial<RelationCommand> = {}) => {
  const value: RelationCommand = { correlationId: `r${++n}`, actor, target, action, note: null, at: T0 + n, ...extra };
  return { key: userPairKey(actor, target), value };
};

describe('relations', () => {
  it('request then accept makes friends, with notices in the direct conversation', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.relation', [cmd('bob', 'REQUEST', 'alice', { note: 'hi, it is bob' }), cmd('alice', 'ACCEPT', 'bob')]);
    const state = driver.read('im.state.relations');
    expect(state.map((r) => r.value.status)).toEqual(['PENDING_B_TO_A', 'FRIENDS']);
    expect(state[1]!.key).toBe('alice|bob');
    const [req, acc] = driver.read('im.msg.checked').map((r) => r.value);
    expect(req).toMatchObject({ sender: 'bob', recipientId: 'alice', conversationId: 'd:alice:bob', contentType: 'system/friend_request', origin: null });
    expect(JSON.parse(req!.content)).toMatchObject({ event: 'friend_request', actor: 'bob', target: 'alice', note: 'hi, it is bob' });
    expect(acc).toMatchObject({ sender: 'alice', recipientId: 'bob', contentType: 'system/friend_accepted' });
    expect(req!.clientMsgId).toMatch(/^sys:/);
  });

  it('refuses what the rules forbid, privately to the actor', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.relation', [
      cmd('carol', 'ACCEPT', 'dave'), // nothing pending
      cmd('erin', 'BLOCK', 'frank'),
      cmd('frank', 'REQUEST', 'erin'), // blocked
      cmd('erin', 'REQUEST', 'frank'), // the blocker cannot request either
      cmd('erin', 'UNBLOCK', 'frank'),
      cmd('frank', 'REQUEST', 'erin'),
      cmd('frank', 'ACCEPT', 'erin'), // cannot accept your own request
      cmd('gil', 'REQUEST', 'gil'),
    ]);
    const got = byCommand(driver.read('im.msg.checked')).map((r) => ({ to: r.value.conversationId, type: r.value.contentType, code: (JSON.parse(r.value.content) as { error_code?: string }).error_code }));
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
    expect(driver.read('im.state.relations').filter((r) => r.key === 'erin|frank')).toHaveLength(3);
    expect(driver.state('im.state.relations').get('erin|frank')).toMatchObject({ status: 'PENDING_B_TO_A', blockedByA: false, blockedByB: false });
  });

  it('mutual requests become a friendship; a block overrides a pending request; unfriend ends it', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.relation', [cmd('hal', 'REQUEST', 'ida'), cmd('ida', 'REQUEST', 'hal'), cmd('jo', 'REQUEST', 'kim'), cmd('kim', 'BLOCK', 'jo'), cmd('hal', 'UNFRIEND', 'ida')]);
    const statuses = (key: string) => driver.read('im.state.relations').filter((r) => r.key === key).map((r) => r.value.status);
    expect(statuses('hal|ida')).toEqual(['PENDING_A_TO_B', 'FRIENDS', 'NONE']);
    expect(statuses('jo|kim')).toEqual(['PENDING_A_TO_B', 'NONE']);
    expect(driver.state('im.state.relations').get('jo|kim')!.blockedByB).toBe(true);
  });

  it('a redelivered command re-sends its notice with the same id; a repeated click is a no-op', async () => {
    const driver = await start();
    const request = cmd('lea', 'REQUEST', 'max');
    await driver.pipe('im.cmd.relation', [request, request, cmd('lea', 'REQUEST', 'max'), cmd('lea', 'UNBLOCK', 'max')]);
    const checked = driver.read('im.msg.checked');
    expect(checked).toHaveLength(2);
    expect(checked[0]!.value).toEqual(checked[1]!.value);
    expect(driver.read('im.state.relations')).toHaveLength(1);
  });
});
