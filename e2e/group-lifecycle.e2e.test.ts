import { expect, it } from 'vitest';
import type { Frame, TestClient } from '../edge/gateway/testing.js';
import { eventually } from '../streams/testing.js';
import { newGroup, onEachEngine, sendMsg, type User } from './harness.js';

/**
 * The ways into a group end to end, on both engines (issue 11, item 9): an invite the invitee
 * accepts, a join by an invite link (and one refused as used up), a join request an admin
 * approves. The owner's second device sees each join live; a member offline throughout finds
 * them by `sync`, in the conversation's order; the new members get the group's messages.
 * The owner promotes and demotes, and what the role allows follows. A member reports a message
 * and the owner is told; a non-member may not.
 */
const WAIT = 30_000;
type Body = Record<string, unknown>;
const bodyOf = (f: Frame) => JSON.parse(String(f.content)) as Body;
const inbox = (u: User) => `d:${u.id}:${u.id}`;
/** A notice in `conversation` with this event, whose body has these fields. */
const notice = (conversation: string, event: string, fields: Body = {}) => (f: Frame) =>
  f.type === 'message' && f.conversation_id === conversation && f.content_type === `system/${event}` && Object.entries(fields).every(([k, v]) => JSON.stringify(bodyOf(f)[k]) === JSON.stringify(v));
const refused = (u: User, code: string) => notice(inbox(u), 'command_rejected', { error_code: code });

onEachEngine('group lifecycle', (platform) => {
  it('an accepted invite, a link join and an approved request make members; a second device sees them live, an offline member by sync', async () => {
    const p = platform();
    const { owner, members: [away], groupId, conversation } = await newGroup(p, 'lcowner', ['lcaway'] as const);
    const [invitee, linker, late, asker] = [await p.user('lcinvitee'), await p.user('lclinker'), await p.user('lclate'), await p.user('lcasker')];
    const [o1, o2] = [await owner.connect('phone'), await owner.connect('laptop')];
    const [i, l, x, a] = [await invitee.connect(), await linker.connect(), await late.connect(), await asker.connect()];
    const post = async (u: User, path: string, body?: unknown) => {
      const res = await p.http<Body>('POST', path, { token: u.token, body });
      expect(res.status).toBe(202);
      return res.body;
    };
    const joined = (u: User, via: string) => notice(conversation, 'members_added', { members: [u.id], via });

    // Invite: nobody joins until the invitee accepts.
    await post(owner, `/v1/groups/${groupId}/invites`, { user_ids: [invitee.id] });
    expect(bodyOf(await i.next(notice(inbox(invitee), 'group_invite'), WAIT))).toMatchObject({ group_id: groupId, name: 'team', actor: owner.id });
    await post(invitee, `/v1/groups/${groupId}/invite/accept`);
    for (const c of [o1, o2, i]) await c.next(joined(invitee, 'invite'), WAIT);
    await post(invitee, `/v1/groups/${groupId}/invite/accept`);
    await i.next(refused(invitee, 'ALREADY_MEMBER'), WAIT);

    // Link: one use; the second holder of the code is told it is used up.
    const { code } = await post(owner, `/v1/groups/${groupId}/links`, { max_uses: 1, expires_at: Date.now() + 3_600_000 }) as { code: string };
    await o1.next(notice(inbox(owner), 'invite_link_created', { code }), WAIT);
    await post(linker, '/v1/invite-links/join', { code });
    for (const c of [o1, o2, l]) await c.next(joined(linker, 'link'), WAIT);
    await post(late, '/v1/invite-links/join', { code });
    await x.next(refused(late, 'INVITE_LINK_USED_UP'), WAIT);

    // Request: the admins are asked, the requester told the answer.
    await post(asker, `/v1/groups/${groupId}/join-requests`);
    await o2.next(notice(inbox(owner), 'join_requested', { user: asker.id }), WAIT);
    await post(owner, `/v1/groups/${groupId}/join-requests/${asker.id}/approve`);
    await a.next(notice(inbox(asker), 'join_request_approved', { group_id: groupId }), WAIT);
    for (const c of [o1, o2, a]) await c.next(joined(asker, 'request'), WAIT);

    // Every new member gets the group's messages.
    o1.send(sendMsg(groupId, 'welcome all', 'group', `lc-${groupId}`));
    for (const c of [i, l, a]) await c.next((f) => f.type === 'message' && f.conversation_id === conversation && f.content === 'welcome all', WAIT);

    // The member offline throughout: the joins by sync, in the order the conversation gave them.
    const w: TestClient = await away.connect();
    let synced: Frame[] = [];
    await eventually(async () => {
      w.send({ type: 'sync', conversation_id: conversation, after_seq: 0, limit: 100 });
      const page = await w.next((f) => f.type === 'sync_result' && f.conversation_id === conversation, WAIT);
      synced = page.messages as Frame[];
      return synced.some((f) => f.content === 'welcome all');
    }, 'the joins and the welcome stored and synced', WAIT);
    const joins = synced.filter((f) => f.content_type === 'system/members_added').map((f) => [bodyOf(f).members, bodyOf(f).via]);
    expect(joins).toEqual([[[invitee.id], 'invite'], [[linker.id], 'link'], [[asker.id], 'request']]);
    const seqs = synced.map((f) => Number(f.sequence_number));
    expect(seqs).toEqual([...seqs].sort((m, n) => m - n));
    await eventually(async () => (await p.http<{ members?: unknown[] }>('GET', `/v1/groups/${groupId}`, { token: away.token })).body.members?.length === 5, 'five members mirrored', WAIT);
  });

  it('refuses what is not allowed with its code: a member inviting, an unknown or revoked code, an expired link, an answer to no request', async () => {
    const p = platform();
    const { owner, members: [plain], groupId } = await newGroup(p, 'rfowner', ['rfplain'] as const);
    const stranger = await p.user('rfstranger');
    const [o, m, s] = [await owner.connect(), await plain.connect(), await stranger.connect()];
    const post = (u: User, path: string, body?: unknown) => p.http<Body>('POST', path, { token: u.token, body });

    await post(plain, `/v1/groups/${groupId}/invites`, { user_ids: [stranger.id] });
    await m.next(refused(plain, 'FORBIDDEN'), WAIT);
    await post(stranger, '/v1/invite-links/join', { code: `${groupId}:no-such-token` });
    await s.next(refused(stranger, 'INVITE_LINK_NOT_FOUND'), WAIT);
    await post(stranger, `/v1/groups/${groupId}/invite/accept`);
    await s.next(refused(stranger, 'INVITE_NOT_FOUND'), WAIT);
    await post(owner, `/v1/groups/${groupId}/join-requests/${stranger.id}/approve`);
    await o.next(refused(owner, 'JOIN_REQUEST_NOT_FOUND'), WAIT);

    const { code } = (await post(owner, `/v1/groups/${groupId}/links`, {})).body as { code: string };
    await o.next(notice(inbox(owner), 'invite_link_created', { code }), WAIT);
    await post(owner, '/v1/invite-links/revoke', { code });
    await o.next(notice(inbox(owner), 'invite_link_revoked', { code }), WAIT);
    await post(stranger, '/v1/invite-links/join', { code });
    await s.next(refused(stranger, 'INVITE_LINK_REVOKED'), WAIT);

    // Expiry is judged by the processor's clock when the join is decided: a link a moment long.
    const short = (await post(owner, `/v1/groups/${groupId}/links`, { expires_at: Date.now() + 300 })).body as { code: string };
    const created = await o.next(notice(inbox(owner), 'invite_link_created', { code: short.code }), WAIT);
    const expiresAt = Number(bodyOf(created).expires_at);
    await eventually(() => Date.now() > expiresAt, 'the link past its expiry', WAIT);
    await post(stranger, '/v1/invite-links/join', { code: short.code });
    await s.next(refused(stranger, 'INVITE_LINK_EXPIRED'), WAIT);
    expect((await post(stranger, '/v1/invite-links/join', { code: 'not a code' })).body).toMatchObject({ error_code: 'BAD_REQUEST' });
  });

  it('the owner promotes a member to admin, who may then create links, and demotes them again', async () => {
    const p = platform();
    const { owner, members: [helper, other], groupId, conversation } = await newGroup(p, 'prowner', ['prhelper', 'prother'] as const);
    const [o, h, x] = [await owner.connect(), await helper.connect(), await other.connect()];
    const role = (body: unknown) => p.http('PUT', `/v1/groups/${groupId}/members/${helper.id}/role`, { token: owner.token, body });
    const link = () => p.http('POST', `/v1/groups/${groupId}/links`, { token: helper.token, body: {} });

    await link();
    await h.next(refused(helper, 'FORBIDDEN'), WAIT);
    expect((await role({ role: 'admin' })).status).toBe(202);
    for (const c of [o, h, x]) await c.next(notice(conversation, 'role_changed', { user: helper.id, role: 'ADMIN' }), WAIT);
    await link();
    await h.next(notice(inbox(helper), 'invite_link_created'), WAIT);
    // Only the owner changes roles.
    await p.http('PUT', `/v1/groups/${groupId}/members/${other.id}/role`, { token: helper.token, body: { role: 'admin' } });
    await h.next(refused(helper, 'FORBIDDEN'), WAIT);
    expect((await role({ role: 'member' })).status).toBe(202);
    await x.next(notice(conversation, 'role_changed', { user: helper.id, role: 'MEMBER' }), WAIT);
    await link();
    await h.next(refused(helper, 'FORBIDDEN'), WAIT);
    expect((await role({ role: 'king' })).body).toMatchObject({ error_code: 'BAD_REQUEST' });
  });

  it('a member reports a message; the owner is told, a non-member is refused', async () => {
    const p = platform();
    const { owner, members: [writer, reporter], groupId, conversation } = await newGroup(p, 'rpowner', ['rpwriter', 'rpreporter'] as const);
    const outsider = await p.user('rpoutsider');
    const [o, w, r, x] = [await owner.connect(), await writer.connect(), await reporter.connect(), await outsider.connect()];
    w.send(sendMsg(groupId, 'buy cheap stuff', 'group', `rp-${groupId}`));
    const seq = Number((await w.next((f) => f.type === 'ack' && f.msg_id === `rp-${groupId}`, WAIT)).sequence_number);
    await r.next((f) => f.type === 'message' && f.conversation_id === conversation && f.content === 'buy cheap stuff', WAIT);
    const filed = await p.http<Body>('POST', `/v1/groups/${groupId}/reports`, { token: reporter.token, body: { seq, reason: 'spam' } });
    expect(filed.status).toBe(202);
    await r.next(notice(inbox(reporter), 'report_filed', { report_id: filed.body.report_id }), WAIT);
    expect(bodyOf(await o.next(notice(inbox(owner), 'report_received', { report_id: filed.body.report_id }), WAIT))).toMatchObject({ reporter: reporter.id, target: writer.id, seq, reason: 'spam' });
    await p.http('POST', `/v1/groups/${groupId}/reports`, { token: outsider.token, body: { seq, reason: 'spam' } });
    await x.next(refused(outsider, 'NOT_A_MEMBER'), WAIT);
    expect((await p.http<Body>('POST', `/v1/groups/${groupId}/reports`, { token: reporter.token, body: { seq, reason: 'x'.repeat(501) } })).body).toMatchObject({ error_code: 'BAD_REQUEST' });
  });
});
