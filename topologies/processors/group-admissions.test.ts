import { describe, expect, it } from 'vitest';
import type { GroupAction, GroupCommand } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { admissionKey } from '../../domain/group-admissions.js';
import { stateViewRoutes } from '../../ops/state-view.js';
import { groupsProcessor, type GroupsConfig } from './groups.js';
import { noticeEvents, type NoticeRecord } from './testing.js';

// The driver's clock starts at T0 (TestDriverOptions.startTime's default); commands are stamped after it.
const T0 = Date.UTC(2024, 0, 1);
const config: GroupsConfig = { membersCanInvite: false, maxGroupMembers: 5 };
const start = () => TopologyTestDriver.start(new Topology('admissions-test').processor('groups', groupsProcessor({}, config)));
let n = 0;
const cmd = (actor: string, action: GroupAction, groupId: string, extra: Partial<GroupCommand> = {}) => {
  const value: GroupCommand = { correlationId: `a${++n}`, actor, groupId, action, targets: [], role: null, mutedUntil: null, text: null, at: T0 + n, ...extra };
  return { key: groupId, value };
};
const events = noticeEvents;
const bodyOf = (records: NoticeRecord[], event: string) => JSON.parse(records.find((r) => r.value.contentType === `system/${event}`)!.value.content) as Record<string, unknown>;
const memberIds = (driver: TopologyTestDriver, groupId: string) => [...driver.state('im.state.members').values()].filter((m) => m.groupId === groupId).map((m) => m.userId).sort();

describe('group admissions', () => {
  it('an invite makes a member only once accepted; declined or missing invites are refused', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.group', [
      cmd('ida', 'CREATE', 'i1', { text: 'Invites', targets: ['jon'] }),
      cmd('jon', 'INVITE', 'i1', { targets: ['kim'] }), // a plain member may not invite here
      cmd('ida', 'INVITE', 'i1', { targets: ['jon'] }), // already in
      cmd('ida', 'INVITE', 'i1', { targets: ['kim', 'lou'] }),
      cmd('ida', 'INVITE', 'i1', { targets: ['kim'] }), // waiting already: nothing new
      cmd('max', 'ACCEPT_INVITE', 'i1'), // never invited
      cmd('kim', 'ACCEPT_INVITE', 'i1'),
      cmd('kim', 'ACCEPT_INVITE', 'i1'), // now a member
      cmd('lou', 'DECLINE_INVITE', 'i1'),
      cmd('lou', 'ACCEPT_INVITE', 'i1'), // the invite is gone
    ]);
    const checked = driver.read('im.msg.checked');
    expect(events(checked)).toEqual([
      'g:i1 group_created',
      'd:jon:jon rejected FORBIDDEN',
      'd:ida:ida rejected ALREADY_MEMBER',
      'g:i1 members_invited', 'd:kim:kim group_invite', 'd:lou:lou group_invite',
      'd:max:max rejected INVITE_NOT_FOUND',
      'g:i1 members_added', 'd:kim:kim group_invite_accepted',
      'd:kim:kim rejected ALREADY_MEMBER',
      'd:lou:lou group_invite_declined',
      'd:lou:lou rejected INVITE_NOT_FOUND',
    ]);
    expect(bodyOf(checked, 'members_added')).toMatchObject({ members: ['kim'], via: 'invite', actor: 'kim' });
    expect(bodyOf(checked, 'group_invite')).toMatchObject({ group_id: 'i1', name: 'Invites', actor: 'ida' });
    expect(memberIds(driver, 'i1')).toEqual(['ida', 'jon', 'kim']);
    // Both invites are settled: nothing waits in the admissions table.
    expect([...driver.state('im.state.admissions').keys()]).toEqual([]);
  });

  it('an invite link admits until it expires by the clock, is used up or revoked', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.group', [
      cmd('ola', 'CREATE', 'l1', { text: 'Links', targets: ['pia'] }),
      cmd('pia', 'CREATE_LINK', 'l1', { code: 'tok-a' }), // admins only
      cmd('ola', 'CREATE_LINK', 'l1', { code: 'tok-a', maxUses: 1 }),
      cmd('ola', 'CREATE_LINK', 'l1', { code: 'tok-b', expiresAt: T0 + 60_000 }),
      cmd('ola', 'CREATE_LINK', 'l1', { code: 'tok-c', expiresAt: T0 }), // already past
      cmd('quy', 'JOIN_BY_LINK', 'l1', { code: 'tok-a' }),
      cmd('ray', 'JOIN_BY_LINK', 'l1', { code: 'tok-a' }), // one use only
      cmd('ray', 'JOIN_BY_LINK', 'l1', { code: 'nope' }),
      cmd('pia', 'JOIN_BY_LINK', 'l1', { code: 'tok-b' }), // a member already
      cmd('ray', 'JOIN_BY_LINK', 'l1', { code: 'tok-b' }),
    ]);
    driver.advanceTime(60_000);
    await driver.pipe('im.cmd.group', [
      cmd('sol', 'JOIN_BY_LINK', 'l1', { code: 'tok-b' }), // the link's time is up
      cmd('ola', 'CREATE_LINK', 'l1', { code: 'tok-d' }),
      cmd('ola', 'REVOKE_LINK', 'l1', { code: 'tok-d' }),
      cmd('sol', 'JOIN_BY_LINK', 'l1', { code: 'tok-d' }),
      cmd('ola', 'REVOKE_LINK', 'l1', { code: 'nope' }),
    ]);
    const checked = driver.read('im.msg.checked');
    expect(events(checked)).toEqual([
      'g:l1 group_created',
      'd:pia:pia rejected FORBIDDEN',
      'd:ola:ola invite_link_created',
      'd:ola:ola invite_link_created',
      'd:ola:ola rejected BAD_REQUEST',
      'g:l1 members_added',
      'd:ray:ray rejected INVITE_LINK_USED_UP',
      'd:ray:ray rejected INVITE_LINK_NOT_FOUND',
      'd:pia:pia rejected ALREADY_MEMBER',
      'g:l1 members_added',
      'd:sol:sol rejected INVITE_LINK_EXPIRED',
      'd:ola:ola invite_link_created',
      'd:ola:ola invite_link_revoked',
      'd:sol:sol rejected INVITE_LINK_REVOKED',
      'd:ola:ola rejected INVITE_LINK_NOT_FOUND',
    ]);
    expect(bodyOf(checked, 'invite_link_created')).toMatchObject({ code: 'l1:tok-a', max_uses: 1, expires_at: null });
    expect(memberIds(driver, 'l1')).toEqual(['ola', 'pia', 'quy', 'ray']);
    expect(driver.state('im.state.admissions').get(admissionKey('l1', 'LINK', 'tok-a'))).toMatchObject({ uses: 1, maxUses: 1, revoked: false });
    expect(driver.state('im.state.admissions').get(admissionKey('l1', 'LINK', 'tok-d'))).toMatchObject({ revoked: true });
  });

  it('a join request waits for an admin, who approves or rejects it; the requester is told', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.group', [
      cmd('uma', 'CREATE', 'r1', { text: 'Requests', targets: ['vic', 'wes'] }),
      cmd('uma', 'SET_ROLE', 'r1', { targets: ['vic'], role: 'ADMIN' }),
      cmd('xan', 'REQUEST_JOIN', 'r1'),
      cmd('xan', 'REQUEST_JOIN', 'r1'), // waiting already: nobody told twice
      cmd('yen', 'REQUEST_JOIN', 'r1'),
      cmd('wes', 'REQUEST_JOIN', 'r1'), // a member
      cmd('wes', 'APPROVE_REQUEST', 'r1', { targets: ['xan'] }), // a plain member may not
      cmd('vic', 'APPROVE_REQUEST', 'r1', { targets: ['zoe'] }), // never asked
      cmd('vic', 'APPROVE_REQUEST', 'r1', { targets: ['xan'] }),
      cmd('uma', 'REJECT_REQUEST', 'r1', { targets: ['yen'] }),
      cmd('uma', 'REJECT_REQUEST', 'r1', { targets: ['yen'] }), // answered already
      cmd('amy', 'REQUEST_JOIN', 'r1'),
      cmd('bob', 'REQUEST_JOIN', 'r1'),
      cmd('uma', 'APPROVE_REQUEST', 'r1', { targets: ['amy'] }), // the fifth member: the limit
      cmd('uma', 'APPROVE_REQUEST', 'r1', { targets: ['bob'] }),
      cmd('qed', 'OTHER', 'r1'), // an action this reader does not know
    ]);
    const checked = driver.read('im.msg.checked');
    const joinRequested = (u: string) => [`d:uma:uma join_requested`, `d:vic:vic join_requested`, `d:${u}:${u} join_request_sent`].sort();
    const got = events(checked);
    // The admins' notices of one request come in member order; compare them as a set.
    expect(got.slice(0, 2)).toEqual(['g:r1 group_created', 'g:r1 role_changed']);
    expect(got.slice(2, 5).sort()).toEqual(joinRequested('xan'));
    expect(got.slice(5, 8).sort()).toEqual(joinRequested('yen'));
    expect(got.slice(8, 14)).toEqual([
      'd:wes:wes rejected ALREADY_MEMBER',
      'd:wes:wes rejected FORBIDDEN',
      'd:vic:vic rejected JOIN_REQUEST_NOT_FOUND',
      'g:r1 members_added', 'd:xan:xan join_request_approved',
      'd:yen:yen join_request_rejected',
    ]);
    expect(got.slice(14, 15)).toEqual(['d:uma:uma rejected JOIN_REQUEST_NOT_FOUND']);
    expect(got.slice(15, 18).sort()).toEqual(joinRequested('amy'));
    expect(got.slice(18, 21).sort()).toEqual(joinRequested('bob'));
    expect(got.slice(21)).toEqual([
      'g:r1 members_added', 'd:amy:amy join_request_approved',
      'd:uma:uma rejected GROUP_FULL',
      'd:qed:qed rejected BAD_REQUEST',
    ]);
    expect(bodyOf(checked, 'members_added')).toMatchObject({ members: ['xan'], via: 'request', actor: 'vic' });
    expect(bodyOf(checked, 'join_requested')).toMatchObject({ group_id: 'r1', name: 'Requests', user: 'xan' });
    expect(memberIds(driver, 'r1')).toEqual(['amy', 'uma', 'vic', 'wes', 'xan']);
    // bob's request still waits for room.
    expect([...driver.state('im.state.admissions').keys()]).toEqual([admissionKey('r1', 'REQUEST', 'bob')]);
  });

  it('refuses outsiders, a taken code, a full group, a disbanded or unknown group', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.group', [
      cmd('gil', 'CREATE', 'f1', { text: 'Full', targets: ['hal', 'ivy', 'jay'] }), // four of five places
      cmd('kit', 'INVITE', 'f1', { targets: ['lee'] }), // not a member
      cmd('kit', 'CREATE_LINK', 'f1', { code: 'tok' }),
      cmd('gil', 'CREATE_LINK', 'f1', { code: 'tok' }),
      cmd('gil', 'CREATE_LINK', 'f1', { code: 'tok' }), // the code is taken
      cmd('gil', 'INVITE', 'f1', { targets: ['lee', 'max'] }),
      cmd('lee', 'ACCEPT_INVITE', 'f1'), // the fifth place
      cmd('max', 'ACCEPT_INVITE', 'f1'), // none left
      cmd('kit', 'JOIN_BY_LINK', 'f1', { code: 'tok' }),
      cmd('gil', 'DISBAND', 'f1'),
      cmd('kit', 'REQUEST_JOIN', 'f1'),
      cmd('kit', 'REQUEST_JOIN', 'nowhere'),
    ]);
    expect(events(driver.read('im.msg.checked'))).toEqual([
      'g:f1 group_created',
      'd:kit:kit rejected NOT_A_MEMBER',
      'd:kit:kit rejected NOT_A_MEMBER',
      'd:gil:gil invite_link_created',
      'd:gil:gil rejected CONFLICT',
      'g:f1 members_invited', 'd:lee:lee group_invite', 'd:max:max group_invite',
      'g:f1 members_added', 'd:lee:lee group_invite_accepted',
      'd:max:max rejected GROUP_FULL',
      'd:kit:kit rejected GROUP_FULL',
      'g:f1 group_disbanded',
      'd:kit:kit rejected GROUP_DISBANDED',
      'd:kit:kit rejected GROUP_NOT_FOUND',
    ]);
    // The refused joins changed nothing: max's invite still waits, the link was not used.
    expect(driver.state('im.state.admissions').get(admissionKey('f1', 'INVITE', 'max'))).toMatchObject({ by: 'gil' });
    expect(driver.state('im.state.admissions').get(admissionKey('f1', 'LINK', 'tok'))).toMatchObject({ uses: 0 });
  });

  it('a redelivered accept, link join or approval sends its notices again with the same ids and changes nothing', async () => {
    const driver = await start();
    const setup = [
      cmd('cal', 'CREATE', 'p1', { text: 'Replays' }),
      cmd('cal', 'INVITE', 'p1', { targets: ['dee'] }),
      cmd('cal', 'CREATE_LINK', 'p1', { code: 'tok', maxUses: 5 }),
      cmd('fin', 'REQUEST_JOIN', 'p1'),
    ];
    const accept = cmd('dee', 'ACCEPT_INVITE', 'p1');
    const link = cmd('eve', 'JOIN_BY_LINK', 'p1', { code: 'tok' });
    const approve = cmd('cal', 'APPROVE_REQUEST', 'p1', { targets: ['fin'] });
    await driver.pipe('im.cmd.group', [...setup, accept, accept, link, link, approve, approve]);
    const checked = driver.read('im.msg.checked');
    // Each command's notices twice, under the same ids: the stamper's dedup delivers them once.
    const twice = (c: { value: GroupCommand }) => {
      const mine = checked.filter((r) => r.value.correlationId === c.value.correlationId);
      const types = new Map(mine.map((r) => [r.value.clientMsgId, r.value.contentType]));
      expect(mine).toHaveLength(types.size * 2);
      return [...types.values()].sort();
    };
    expect(twice(accept)).toEqual(['system/group_invite_accepted', 'system/members_added']);
    expect(twice(link)).toEqual(['system/members_added']);
    expect(twice(approve)).toEqual(['system/join_request_approved', 'system/members_added']);
    expect(memberIds(driver, 'p1')).toEqual(['cal', 'dee', 'eve', 'fin']);
    expect(driver.state('im.state.admissions').get(admissionKey('p1', 'LINK', 'tok'))).toMatchObject({ uses: 1 });
  });

  it('a member reports a message or a member with a bounded reason; the report is kept and the admins told', async () => {
    const driver = await start();
    await driver.pipe('im.cmd.group', [cmd('mia', 'CREATE', 'm1', { text: 'Moderated', targets: ['nia', 'oto'] })]);
    const indexed = (seq: number, sender: string, contentType: string) => ({
      key: `g:m1|${seq}`,
      value: { conversationId: 'g:m1', seq, messageId: `msg-${seq}`, sender, stampedAt: T0, contentType, recalled: false, version: 0, reactions: [] },
    });
    await driver.pipe('im.state.messages', [indexed(2, 'oto', 'text'), indexed(3, 'mia', 'system/members_added')]);
    const report = cmd('nia', 'REPORT', 'm1', { seq: 2, text: ' spam ' });
    const refusedFirst = [
      cmd('nia', 'REPORT', 'm1', { seq: 9, text: 'spam' }), // no such message
      cmd('nia', 'REPORT', 'm1', { seq: 3, text: 'spam' }), // a notice is no one's message
      cmd('out', 'REPORT', 'm1', { seq: 2, text: 'spam' }), // not a participant
      cmd('nia', 'REPORT', 'm1', { targets: ['oto'], text: 'x'.repeat(501) }),
      cmd('nia', 'REPORT', 'm1', { targets: ['oto'], seq: 2, text: 'both' }),
    ];
    const aboutOto = cmd('nia', 'REPORT', 'm1', { targets: ['oto'], text: 'rude' });
    await driver.pipe('im.cmd.group', [report, ...refusedFirst, aboutOto, cmd('nia', 'REPORT', 'm1', { targets: ['nia'], text: 'me' }), cmd('nia', 'REPORT', 'm1', { targets: ['zed'], text: 'who' })]);
    const checked = driver.read('im.msg.checked');
    expect(events(checked)).toEqual([
      'g:m1 group_created',
      'd:nia:nia report_filed', 'd:mia:mia report_received',
      'd:nia:nia rejected MESSAGE_NOT_FOUND',
      'd:nia:nia rejected MESSAGE_NOT_FOUND',
      'd:out:out rejected NOT_A_MEMBER',
      'd:nia:nia rejected BAD_REQUEST',
      'd:nia:nia rejected BAD_REQUEST',
      'd:nia:nia report_filed', 'd:mia:mia report_received',
      'd:nia:nia rejected BAD_REQUEST',
      'd:nia:nia rejected NOT_A_MEMBER',
    ]);
    expect(bodyOf(checked, 'report_received')).toMatchObject({ group_id: 'm1', report_id: report.value.correlationId, reporter: 'nia', target: 'oto', seq: 2, reason: 'spam' });
    const reports = driver.state('im.state.reports');
    expect([...reports.keys()].sort()).toEqual([`m1|${report.value.correlationId}`, `m1|${aboutOto.value.correlationId}`].sort());
    expect(reports.get(`m1|${report.value.correlationId}`)).toEqual({ groupId: 'm1', reportId: report.value.correlationId, reporter: 'nia', target: 'oto', seq: 2, messageId: 'msg-2', reason: 'spam', at: report.value.at });
    expect(reports.get(`m1|${aboutOto.value.correlationId}`)).toMatchObject({ target: 'oto', seq: null, messageId: null, reason: 'rude' });

    // Operators list a group's reports through the state view, behind IM_ADMIN_TOKEN.
    const token = 'an-operator-secret-of-24-chars';
    const listing = stateViewRoutes(() => driver.queryableState(), { adminToken: token }).find((r) => r.path === '/state/:store')!;
    const ask = (authorization?: string) => listing.handler({ method: 'GET', path: '/state/im.state.reports', params: { store: 'im.state.reports' }, query: { prefix: 'm1' }, headers: authorization ? { authorization } : {}, body: null, remoteAddress: '192.0.2.1', userId: null });
    const listed = await ask(`Bearer ${token}`);
    expect(listed.body).toMatchObject({ matched: 2, entries: expect.arrayContaining([expect.objectContaining({ key: `m1|${report.value.correlationId}`, value: expect.objectContaining({ reporter: 'nia', reason: 'spam' }) })]) });
    await expect(ask('Bearer wrong')).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });
});
