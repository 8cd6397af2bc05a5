import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMirror } from '../connectors/mongo-mirror/mirror-memory.js';
import { MirrorSink } from '../connectors/mongo-mirror/mirror-sink.js';
import { createCommandProducer } from '../edge/http/command-producer.js';
import { groupRoutes } from '../edge/http/groups-routes.js';
import { relationRoutes } from '../edge/http/relations-routes.js';
import { callRoute as call } from '../edge/http/testing.js';
import { StreamsApp, Topology } from '../streams/index.js';
import { engines, eventually } from '../streams/testing.js';
import { groupsProcessor } from './processors/groups.js';
import { relationsProcessor } from './processors/relations.js';

/** The path of a relationship or group command: HTTP route, processor, state topic, mirror, HTTP read. */
for (const engine of engines) {
  describe(`command routes end to end on the ${engine.name} engine`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('HTTP command -> processor -> state topic -> mirror -> HTTP read', async () => {
      const h = await engine.create();
      cleanups.push(() => h.close());
      await h.createTopics(['im.cmd.relation', 'im.cmd.group', 'im.state.relations', 'im.state.groups', 'im.state.members', 'im.state.media', 'im.state.admissions', 'im.state.reports', 'im.state.messages', 'im.msg.checked', 'im.dlq']);
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
