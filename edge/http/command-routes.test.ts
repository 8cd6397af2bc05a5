import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMirror } from '../../connectors/mongo-mirror/mirror-memory.js';
import { MirrorSink } from '../../connectors/mongo-mirror/mirror-sink.js';
import { groupsProcessor } from '../../topologies/processors/groups.js';
import { relationsProcessor } from '../../topologies/processors/relations.js';
import { StreamsApp, Topology } from '../../streams/index.js';
import { engines, eventually } from '../../streams/testing.js';
import { createCommandProducer, recordingCommandProducer } from './command-producer.js';
import { groupRoutes } from './groups-routes.js';
import { relationRoutes } from './relations-routes.js';
import { HttpError, type HttpRequest, type HttpResponse, type HttpRoute } from './routes.js';

/** Calls the route matching `method path` as the gateway would, with `:params` filled in. */
async function call(routes: HttpRoute[], userId: string, method: HttpRequest['method'], path: string, body: unknown = null): Promise<HttpResponse> {
  for (const r of routes) {
    if (r.method !== method) continue;
    const names: string[] = [];
    const re = new RegExp(`^${r.path.replace(/:(\w+)/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    const m = re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    try {
      return await r.handler({ method, path, params, query: {}, headers: {}, body, remoteAddress: '192.0.2.1', userId });
    } catch (err) {
      if (err instanceof HttpError) return { status: err.status, body: { error_code: err.code, error_message: err.message } };
      throw err;
    }
  }
  throw new Error(`no route for ${method} ${path}`);
}

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
    ];
    expect(bad.map((r) => [r.status, (r.body as { error_code: string }).error_code])).toEqual(Array(8).fill([400, 'BAD_REQUEST']));
    expect(commands.sent).toHaveLength(0);
  });
});

for (const engine of engines) {
  describe(`command routes end to end on the ${engine.name} engine`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('HTTP command -> processor -> state topic -> mirror -> HTTP read', async () => {
      const h = await engine.create();
      cleanups.push(() => h.close());
      await h.createTopics(['im.cmd.relation', 'im.cmd.group', 'im.state.relations', 'im.state.groups', 'im.state.members', 'im.msg.checked', 'im.dlq']);
      const topology = new Topology('commands').processor('relations', relationsProcessor()).processor('groups', groupsProcessor({}, { membersCanInvite: false, maxGroupMembers: 100 }));
      const app = new StreamsApp(topology, { log: h.log, serde: h.serde, appId: `cmd-${randomUUID().slice(0, 6)}`, runtime: { maxRetries: 2, retryInitialMs: 5, retryMaxMs: 20, partitionsConcurrency: 4 } });
      cleanups.push(() => app.stop());
      await app.start();
      const mirror = createMemoryMirror();
      const sink = new MirrorSink({ log: h.log, serde: h.serde, store: mirror, groupId: `mirror-${randomUUID().slice(0, 6)}` });
      cleanups.push(() => sink.stop());
      await sink.start();
      const producer = await h.log.producer();
      cleanups.push(() => producer.close());
      const commands = createCommandProducer(producer, h.serde);
      const routes = [...relationRoutes({ commands, mirror }), ...groupRoutes({ commands, mirror })];

      await call(routes, 'bob', 'POST', '/v1/friends/requests', { user_id: 'amy' });
      await eventually(async () => ((await call(routes, 'amy', 'GET', '/v1/friends')).body as { incoming: string[] }).incoming.length === 1, 'request mirrored');
      await call(routes, 'amy', 'POST', '/v1/friends/requests/bob/accept');
      await eventually(async () => ((await call(routes, 'bob', 'GET', '/v1/friends')).body as { friends: unknown[] }).friends.length === 1, 'friendship mirrored');
      expect((await call(routes, 'amy', 'GET', '/v1/friends')).body).toMatchObject({ friends: [{ user_id: 'bob' }], incoming: [], outgoing: [], blocked: [] });

      const created = await call(routes, 'bob', 'POST', '/v1/groups', { name: 'Crew', members: ['amy'] });
      const groupId = (created.body as { group_id: string }).group_id;
      await eventually(async () => (await call(routes, 'amy', 'GET', `/v1/groups/${groupId}`)).status === 200, 'group mirrored');
      await call(routes, 'bob', 'PUT', `/v1/groups/${groupId}/announcement`, { text: 'Welcome' });
      await call(routes, 'amy', 'POST', `/v1/groups/${groupId}/leave`);
      await eventually(async () => (await call(routes, 'amy', 'GET', `/v1/groups/${groupId}`)).status === 404, 'amy left');
      const detail = await call(routes, 'bob', 'GET', `/v1/groups/${groupId}`);
      expect(detail.body).toMatchObject({ group_id: groupId, conversation_id: `g:${groupId}`, name: 'Crew', owner_id: 'bob', announcement: 'Welcome', members: [{ user_id: 'bob', role: 'owner' }] });
      expect((await call(routes, 'bob', 'GET', '/v1/groups')).body).toMatchObject({ groups: [{ group_id: groupId, role: 'owner' }] });
      expect((await call(routes, 'amy', 'GET', '/v1/groups')).body).toEqual({ groups: [] });
    });
  });
}
