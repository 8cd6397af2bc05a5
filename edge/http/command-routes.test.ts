import { describe, expect, it } from 'vitest';
import { createMemoryMirror } from '../../connectors/mongo-mirror/mirror-memory.js';
import { recordingCommandProducer } from './command-producer.js';
import { groupRoutes } from './groups-routes.js';
import { relationRoutes } from './relations-routes.js';
import { callRoute as call } from './testing.js';

describe('command routes: validation and the commands they send', () => {
  it('sends one command per write, keyed as its topic says, answering 202 with its id', async () => {
    const commands = recordingCommandProducer();
    const mirror = createMemoryMirror();
    let id = 0;
    const routes = [...relationRoutes({ commands, mirror, newId: () => `id${++id}`, now: () => 42 }), ...groupRoutes({ commands, mirror, newId: () => `id${++id}`, now: () => 42 })];
    expect(await call(routes, 'bob', 'POST', '/v1/friends/requests', { user_id: 'amy', note: 'hi' })).toEqual({ status: 202, body: { command_id: 'id1' } });
    expect(commands.sent[0]).toEqual({ topic: 'im.cmd.relation', key: 'amy|bob', value: { correlationId: 'id1', actor: 'bob', target: 'amy', action: 'REQUEST', note: 'hi', at: 42 } });
    expect((await call(routes, 'bob', 'POST', '/v1/groups', { name: ' Team ', members: ['amy', 'amy', 'cy'] })).body).toEqual({ command_id: 'id3', group_id: 'id2' });
    expect(commands.sent[1]).toMatchObject({ topic: 'im.cmd.group', key: 'id2', value: { action: 'CREATE', text: 'Team', targets: ['amy', 'cy'] } });
    await call(routes, 'bob', 'PUT', '/v1/groups/id2/members/amy/role', { role: 'admin' });
    await call(routes, 'bob', 'POST', '/v1/groups/id2/members/cy/mute', { until: 99 });
    expect(commands.sent.slice(2).map((c) => c.value)).toMatchObject([{ action: 'SET_ROLE', targets: ['amy'], role: 'ADMIN' }, { action: 'MUTE_MEMBER', targets: ['cy'], mutedUntil: 99 }]);
  });

  it('sends the ways into a group: invites, links by code, join requests', async () => {
    const commands = recordingCommandProducer();
    let id = 0;
    const routes = groupRoutes({ commands, mirror: createMemoryMirror(), newId: () => `id${++id}`, now: () => 42 });
    await call(routes, 'bob', 'POST', '/v1/groups/g1/invites', { user_ids: ['amy'] });
    await call(routes, 'amy', 'POST', '/v1/groups/g1/invite/accept');
    expect(await call(routes, 'bob', 'POST', '/v1/groups/g1/links', { max_uses: 3, expires_at: 500 })).toEqual({ status: 202, body: { command_id: 'id4', code: 'g1:id3' } });
    expect(await call(routes, 'cy', 'POST', '/v1/invite-links/join', { code: 'g1:id3' })).toEqual({ status: 202, body: { command_id: 'id5', group_id: 'g1' } });
    await call(routes, 'bob', 'POST', '/v1/invite-links/revoke', { code: 'g1:id3' });
    await call(routes, 'dan', 'POST', '/v1/groups/g1/join-requests');
    await call(routes, 'bob', 'POST', '/v1/groups/g1/join-requests/dan/approve');
    await call(routes, 'bob', 'POST', '/v1/groups/g1/join-requests/dan/reject');
    expect(commands.sent.every((c) => c.topic === 'im.cmd.group' && c.key === 'g1')).toBe(true);
    expect(commands.sent.map((c) => c.value)).toMatchObject([
      { action: 'INVITE', actor: 'bob', targets: ['amy'] },
      { action: 'ACCEPT_INVITE', actor: 'amy' },
      { action: 'CREATE_LINK', code: 'id3', maxUses: 3, expiresAt: 500 },
      { action: 'JOIN_BY_LINK', actor: 'cy', code: 'id3' },
      { action: 'REVOKE_LINK', code: 'id3' },
      { action: 'REQUEST_JOIN', actor: 'dan' },
      { action: 'APPROVE_REQUEST', targets: ['dan'] },
      { action: 'REJECT_REQUEST', targets: ['dan'] },
    ]);
    expect(await call(routes, 'amy', 'POST', '/v1/groups/g1/reports', { seq: 7, reason: ' spam ' })).toEqual({ status: 202, body: { command_id: 'id10', report_id: 'id10' } });
    await call(routes, 'amy', 'POST', '/v1/groups/g1/reports', { user_id: 'cy', reason: 'rude' });
    expect(commands.sent.slice(8).map((c) => c.value)).toMatchObject([{ action: 'REPORT', seq: 7, text: 'spam', targets: [] }, { action: 'REPORT', targets: ['cy'], text: 'rude' }]);
  });

  it('refuses bad input with 400 and sends nothing', async () => {
    const commands = recordingCommandProducer();
    const routes = [...relationRoutes({ commands, mirror: createMemoryMirror() }), ...groupRoutes({ commands, mirror: createMemoryMirror() })];
    const bad = [
      await call(routes, 'bob', 'POST', '/v1/friends/requests', {}),
      await call(routes, 'bob', 'POST', '/v1/friends/requests', { user_id: 'bob' }),
      await call(routes, 'bob', 'POST', '/v1/blocks/a%7Cb'),
      await call(routes, 'bob', 'POST', '/v1/groups', { name: '', members: [] }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/members', { user_ids: [] }),
      await call(routes, 'bob', 'PUT', '/v1/groups/g/members/amy/role', { role: 'king' }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/members/amy/mute', { until: 'soon' }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/members/amy/mute', { until: 2 ** 53 - 1 }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/invites', { user_ids: [] }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/links', { max_uses: 0 }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/links', { max_uses: 1.5 }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/links', { expires_at: 'tomorrow' }),
      await call(routes, 'bob', 'POST', '/v1/invite-links/join', { code: 'no-group-in-it' }),
      await call(routes, 'bob', 'POST', '/v1/invite-links/join', { code: 'a|b:tok' }),
      await call(routes, 'bob', 'POST', '/v1/invite-links/revoke', {}),
      await call(routes, 'bob', 'POST', '/v1/groups/g/reports', { seq: 1, reason: 'x'.repeat(501) }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/reports', { seq: 1, user_id: 'amy', reason: 'both' }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/reports', { reason: 'neither' }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/reports', { seq: -1, reason: 'bad seq' }),
      await call(routes, 'bob', 'POST', '/v1/groups/g/reports', { user_id: 'amy' }),
    ];
    expect(bad.map((r) => [r.status, (r.body as { error_code: string }).error_code])).toEqual(Array(20).fill([400, 'BAD_REQUEST']));
    expect(commands.sent).toHaveLength(0);
  });
});
