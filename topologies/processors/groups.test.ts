import { describe, expect, it } from 'vitest';
import type { GroupAction, GroupCommand } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { groupsProcessor, type GroupsConfig } from './groups.js';
import { noticeEvents } from './testing.js';

const T0 = Date.UTC(2024, 0, 1);
const config: GroupsConfig = { membersCanInvite: false, maxGroupMembers: 5 };
const start = (cfg: GroupsConfig = config) => TopologyTestDriver.start(new Topology('groups-test').processor('groups', groupsProcessor({}, cfg)));
let n = 0;
const cmd = (actor: string, action: GroupAction, groupId: string, extra: Partial<GroupCommand> = {}) => {
  const value: GroupCommand = { correlationId: `g${++n}`, actor, groupId, action, targets: [], role: null, mutedUntil: null, text: null, at: T0 + n, ...extra };
  return { key: groupId, value };
};
const events = noticeEvents;

describe('groups', () => {
  it('create, add, roles, remove and leave follow the role rules', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.group', [
      cmd('olga', 'CREATE', 'g1', { text: 'Team', targets: ['pam', 'quin', 'olga'] }),
      cmd('pam', 'ADD', 'g1', { targets: ['rex'] }), // plain member: forbidden
      cmd('olga', 'SET_ROLE', 'g1', { targets: ['pam'], role: 'ADMIN' }),
      cmd('pam', 'ADD', 'g1', { targets: ['rex', 'quin'] }), // quin already in: only rex joins
      cmd('pam', 'SET_ROLE', 'g1', { targets: ['quin'], role: 'ADMIN' }), // only the owner sets roles
      cmd('pam', 'REMOVE', 'g1', { targets: ['olga'] }), // an admin cannot remove the owner
      cmd('pam', 'REMOVE', 'g1', { targets: ['rex'] }),
      cmd('olga', 'LEAVE', 'g1'), // owner must transfer first
      cmd('quin', 'LEAVE', 'g1'),
      cmd('olga', 'ADD', 'g1', { targets: ['s1', 's2', 's3', 's4'] }), // over the limit of 5
      cmd('olga', 'SET_ROLE', 'g1', { targets: ['pam'], role: 'OWNER' }),
      cmd('olga', 'LEAVE', 'g1'), // now an admin: may leave
      cmd('zed', 'RENAME', 'g1', { text: 'x' }),
      cmd('zed', 'RENAME', 'nope', { text: 'x' }),
    ]);
    const checked = driver.read('im.msg.checked');
    expect(checked).toHaveLength(15);
    const got = events(checked.filter((r) => r.value.correlationId !== `g${n}`));
    expect(got).toEqual([
      'g:g1 group_created',
      'd:pam:pam rejected FORBIDDEN',
      'g:g1 role_changed',
      'g:g1 members_added',
      'd:pam:pam rejected FORBIDDEN',
      'd:pam:pam rejected FORBIDDEN',
      'g:g1 members_removed',
      'd:rex:rex removed_from_group',
      'd:olga:olga rejected OWNER_MUST_TRANSFER',
      'g:g1 member_left',
      'd:olga:olga rejected GROUP_FULL',
      'g:g1 role_changed',
      'g:g1 member_left',
      'd:zed:zed rejected NOT_A_MEMBER',
    ]);
    expect(events(checked.filter((r) => r.value.correlationId === `g${n}`))).toEqual(['d:zed:zed rejected GROUP_NOT_FOUND']);
    const added = checked.find((r) => r.value.contentType === 'system/members_added')!.value;
    expect(JSON.parse(added.content)).toMatchObject({ members: ['rex'], actor: 'pam' });
    // Final membership: pam is the only member left, and the owner.
    expect([...driver.state('im.state.members')].map(([key, v]) => [key, v.role])).toEqual([['g1|pam', 'OWNER']]);
  });

  it('mutes a member until a time, mutes all, announces, disbands', async () => {
    const driver = await start();
    const until = T0 + 60_000;
    await driver.pipe('im.cmd.group', [
      cmd('ann', 'CREATE', 'g2', { text: 'Club', targets: ['ben', 'cat'] }),
      cmd('ann', 'SET_ROLE', 'g2', { targets: ['ben'], role: 'ADMIN' }),
      cmd('ben', 'MUTE_MEMBER', 'g2', { targets: ['cat'], mutedUntil: until }),
      cmd('cat', 'MUTE_MEMBER', 'g2', { targets: ['ben'], mutedUntil: until }), // a member cannot mute
      cmd('ben', 'MUTE_MEMBER', 'g2', { targets: ['ann'], mutedUntil: until }), // nor an admin the owner
      cmd('ben', 'MUTE_ALL', 'g2'),
      cmd('ben', 'MUTE_ALL', 'g2'), // already: a no-op, no notice
      cmd('ben', 'ANNOUNCE', 'g2', { text: 'Meeting at 5' }),
      cmd('ben', 'DISBAND', 'g2'), // owner only
      cmd('ann', 'DISBAND', 'g2'),
      cmd('ann', 'RENAME', 'g2', { text: 'Again' }),
    ]);
    expect(events(driver.read('im.msg.checked'))).toEqual([
      'g:g2 group_created', 'g:g2 role_changed', 'g:g2 member_muted', 'd:cat:cat rejected FORBIDDEN', 'd:ben:ben rejected FORBIDDEN',
      'g:g2 group_muted', 'g:g2 announcement', 'd:ben:ben rejected FORBIDDEN', 'g:g2 group_disbanded', 'd:ann:ann rejected GROUP_DISBANDED',
    ]);
    expect(driver.state('im.state.groups').get('g2')).toMatchObject({ status: 'DISBANDED', muteAll: true, announcement: 'Meeting at 5', ownerId: 'ann', name: 'Club' });
    expect(driver.state('im.state.members').get('g2|cat')).toMatchObject({ role: 'MEMBER', mutedUntil: until });
  });

  it('a redelivered command sends its notices again with the same ids and changes nothing', async () => {
    const driver = await start({ ...config, membersCanInvite: true });
    const create = cmd('dora', 'CREATE', 'g3', { text: 'Trio', targets: ['eli'] });
    const add = cmd('eli', 'ADD', 'g3', { targets: ['fay'] }); // members may invite here
    await driver.pipe('im.cmd.group', [create, create, add, add]);
    const checked = driver.read('im.msg.checked');
    const ids = checked.map((r) => r.value.clientMsgId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(events(checked)).toEqual(['g:g3 group_created', 'g:g3 group_created', 'g:g3 members_added', 'g:g3 members_added']);
    expect([...driver.state('im.state.members').keys()].sort()).toEqual(['g3|dora', 'g3|eli', 'g3|fay']);
  });
});
