import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../connectors/redis/client.js';
import { deleteKeys } from '../../connectors/redis/testing.js';
import { createMemoryPresence } from '../../edge/presence/presence-memory.js';
import { createRedisPresence } from '../../edge/presence/presence-redis.js';
import type { Presence } from '../../edge/presence/presence.js';
import { loadConfig } from '../../core/config.js';
import { memoryPipelineDeps } from '../../ops/platform.js';
import type { ConversationOp, GroupCommand, MemberState, StampedMessage } from '../../schemas/types.generated.js';
import { imTopology } from '../im-topology.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { defaultFanoutConfig } from '../fanout.js';
import { membershipChange, pushOrchestrator } from './push-orchestrator.js';

/**
 * Group delivery by conversation topics: one record per gateway and message whatever the
 * group's size, subscriptions moved by membership notices in message order. On the memory and
 * the Redis routing store.
 */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
const config = { ...defaultFanoutConfig, previewChars: 10 };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const stores = [
  { name: 'memory', create: async () => createMemoryPresence({ ttlMs: 60_000 }) },
  {
    name: 'redis',
    create: async () => {
      const prefix = `test-${randomUUID()}:presence:`;
      const raw = await connectRedis(REDIS_URL, 'orchestrator-groups-raw');
      cleanups.push(async () => {
        await deleteKeys(raw, prefix);
        await raw.quit();
      });
      return createRedisPresence({ redis: await connectRedis(REDIS_URL, 'orchestrator-groups'), ttlMs: 60_000, keyPrefix: prefix, ownsClient: true });
    },
  },
] as const;

const member = (groupId: string, userId: string): MemberState => ({ groupId, userId, role: 'MEMBER', mutedUntil: 0, joinedAt: 1 });

let seq = 0;
function groupMessage(groupId: string, over: Partial<StampedMessage> = {}): StampedMessage {
  seq++;
  return {
    correlationId: `corr-${seq}`,
    messageId: `m-${seq}`,
    sender: 'alice',
    origin: { gatewayId: 'gw-0', connectionId: 'alice-phone', deviceId: 'phone' },
    clientMsgId: `c-${seq}`,
    conversationId: `g:${groupId}`,
    recipientKind: 'GROUP',
    recipientId: groupId,
    content: 'hello everyone, how are you?',
    contentType: 'text',
    mentions: [],
    clientTimestamp: 1,
    receivedAt: 2,
    stampedAt: 3,
    seq,
    ...over,
  };
}

/** A membership notice as the groups processor words it (no origin: it comes from a command). */
const notice = (groupId: string, event: string, body: Record<string, unknown>, actor = 'alice') =>
  groupMessage(groupId, { origin: null, sender: actor, contentType: `system/${event}`, content: JSON.stringify({ event, actor, command_id: 'cmd', ...body }) });

interface Harness {
  presence: Presence;
  driver: TopologyTestDriver;
  /** Every op of the records written since the last call, per gateway, in order. */
  opsSince(): Map<string, ConversationOp[]>;
}

async function start(create: () => Promise<Presence>): Promise<Harness> {
  const presence = await create();
  cleanups.push(() => presence.close());
  const driver = await TopologyTestDriver.start(new Topology('push-groups').processor('orchestrate', pushOrchestrator({ presence }, config)));
  cleanups.push(() => driver.close());
  let read = 0;
  return {
    presence,
    driver,
    opsSince() {
      const records = driver.read('im.push.online').slice(read);
      read += records.length;
      const out = new Map<string, ConversationOp[]>();
      for (const r of records) out.set(r.value.gatewayId, [...(out.get(r.value.gatewayId) ?? []), ...(r.value.conversationOps ?? [])]);
      return out;
    },
  };
}

const online = (presence: Presence, userId: string, gatewayId: string, connectionId = `${userId}-${gatewayId}`) =>
  presence.connect({ userId, connectionId, gatewayId, deviceId: connectionId, connectedAt: 1 });
const kinds = (ops: ConversationOp[] | undefined) => (ops ?? []).map((o) => (o.userId ? `${o.kind} ${o.userId}` : o.kind));

describe.each(stores)('group push orchestration ($name routing store)', ({ create }) => {
  it('a 2,000-member group: one record per gateway holding members, the frame once in it; offline members get tasks', async () => {
    const { presence, driver } = await start(create);
    const groupId = `big-${randomUUID().slice(0, 8)}`;
    const users = Array.from({ length: 2_000 }, (_, i) => `u${i}`);
    await driver.pipe('im.state.members', ['alice', ...users].map((u) => ({ key: `${groupId}|${u}`, value: member(groupId, u) })));
    // The routing store knows no membership yet: the first message rebuilds it from the table.
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: groupMessage(groupId, { content: 'first' }) }]);
    expect(driver.read('im.push.online')).toEqual([]);
    expect(driver.read('im.push.offline')).toHaveLength(2_000);
    // u0..u1899 connect over three gateways (some with a second device), u1900.. stay offline.
    await online(presence, 'alice', 'gw-0', 'alice-phone');
    for (let i = 0; i < 1_900; i++) await online(presence, `u${i}`, `gw-${(i % 3) + 1}`);
    for (let i = 0; i < 30; i++) await online(presence, `u${i}`, 'gw-1', `u${i}-tablet`);

    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: groupMessage(groupId, { content: 'y'.repeat(300) }) }]);
    const records = driver.read('im.push.online');
    // gw-0 too: the sender's gateway, which skips her sending connection.
    expect(records.map((r) => r.value.gatewayId).sort()).toEqual(['gw-0', 'gw-1', 'gw-2', 'gw-3']);
    for (const r of records) {
      expect(r.value.deliveries).toEqual([]);
      expect(r.value.conversationOps).toHaveLength(1);
      const [publish] = r.value.conversationOps!;
      expect(publish).toMatchObject({ kind: 'PUBLISH', conversationId: `g:${groupId}`, exceptConnectionId: 'alice-phone', messageId: `m-${seq}` });
      expect(JSON.parse(publish!.frame!)).toMatchObject({ type: 'message', content: 'y'.repeat(300), recipient_type: 'group' });
      // The frame once: the record is its size, not hundreds of copies of it.
      expect(JSON.stringify(r.value).length).toBeLessThan(1_500);
    }
    const offline = driver.read('im.push.offline').filter((t) => t.value.preview.startsWith('y'));
    expect(offline.map((t) => t.key).sort()).toEqual(users.slice(1_900).sort());
  });

  it('a join subscribes the joiner where they are online before the notice is published; later messages reach them', async () => {
    const { presence, driver, opsSince } = await start(create);
    const groupId = `join-${randomUUID().slice(0, 8)}`;
    await driver.pipe('im.state.members', ['alice', 'bob'].map((u) => ({ key: `${groupId}|${u}`, value: member(groupId, u) })));
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: groupMessage(groupId) }]); // the store rebuilt
    await online(presence, 'bob', 'gw-1');
    // carol is online on gw-2 (no member there yet) and is added.
    await online(presence, 'carol', 'gw-2');
    await driver.pipe('im.state.members', [{ key: `${groupId}|carol`, value: member(groupId, 'carol') }]);
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: notice(groupId, 'members_added', { members: ['carol'] }) }]);
    const ops = opsSince();
    expect(kinds(ops.get('gw-2'))).toEqual(['SUBSCRIBE carol', 'PUBLISH']);
    expect(kinds(ops.get('gw-1'))).toEqual(['PUBLISH']);
    expect(await presence.conversationsOf('carol', 'gw-9')).toEqual([`g:${groupId}`]);
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: groupMessage(groupId) }]);
    expect([...opsSince().keys()].sort()).toEqual(['gw-1', 'gw-2']);
  });

  it('a leave or a kick unsubscribes before the notice is published; the leaver\'s other devices still get their own notice', async () => {
    const { presence, driver, opsSince } = await start(create);
    const groupId = `leave-${randomUUID().slice(0, 8)}`;
    await driver.pipe('im.state.members', ['alice', 'bob', 'carol', 'dave'].map((u) => ({ key: `${groupId}|${u}`, value: member(groupId, u) })));
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: groupMessage(groupId) }]); // the store rebuilt
    await online(presence, 'bob', 'gw-1');
    await online(presence, 'carol', 'gw-1');
    await online(presence, 'carol', 'gw-2', 'carol-laptop');
    await online(presence, 'dave', 'gw-2');
    opsSince();
    // The owner kicks bob.
    await driver.pipe('im.state.members', [{ key: `${groupId}|bob`, value: null }]);
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: notice(groupId, 'members_removed', { members: ['bob'] }) }]);
    expect(kinds(opsSince().get('gw-1'))).toEqual(['UNSUBSCRIBE bob', 'PUBLISH']);
    expect(await presence.conversationsOf('bob', 'gw-1')).toEqual([]);
    // carol leaves: her own connections are unsubscribed, and get the notice as its sender.
    await driver.pipe('im.state.members', [{ key: `${groupId}|carol`, value: null }]);
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: notice(groupId, 'member_left', { user: 'carol' }, 'carol') }]);
    const ops = opsSince();
    expect(kinds(ops.get('gw-1'))).toEqual(['UNSUBSCRIBE carol', 'PUBLISH']);
    expect(kinds(ops.get('gw-2'))).toEqual(['UNSUBSCRIBE carol', 'PUBLISH']);
    const leaverCopies = driver.read('im.push.online').filter((r) => r.value.correlationId === `corr-${seq}`);
    expect(leaverCopies.map((r) => [r.value.gatewayId, r.value.deliveries.map((d) => d.userId)]).sort()).toEqual([['gw-1', ['carol']], ['gw-2', ['carol']]]);
  });

  it('a disband publishes its notice, then closes the topic on every gateway, and forgets the memberships', async () => {
    const { presence, driver, opsSince } = await start(create);
    const groupId = `gone-${randomUUID().slice(0, 8)}`;
    await driver.pipe('im.state.members', ['alice', 'bob'].map((u) => ({ key: `${groupId}|${u}`, value: member(groupId, u) })));
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: groupMessage(groupId) }]);
    await online(presence, 'bob', 'gw-1');
    opsSince();
    await driver.pipe('im.msg.stamped', [{ key: `g:${groupId}`, value: notice(groupId, 'group_disbanded', {}) }]);
    expect(kinds(opsSince().get('gw-1'))).toEqual(['PUBLISH', 'CLOSE']);
    expect(await presence.conversationsOf('bob', 'gw-1')).toEqual([]);
  });
});

describe('subscriptions moved by the groups processor\'s own notices', () => {
  it('create, add, kick, leave and disband reach the gateways as SUBSCRIBE, UNSUBSCRIBE and CLOSE around each notice', async () => {
    const platform = loadConfig({});
    const presence = createMemoryPresence({ ttlMs: 60_000 });
    cleanups.push(() => presence.close());
    const driver = await TopologyTestDriver.start(imTopology({ ...memoryPipelineDeps(platform), presence }, platform), { processors: ['groups', 'stamper', 'push-orchestrator'] });
    cleanups.push(() => driver.close());
    let read = 0;
    const pushes = () => {
      const records = driver.read('im.push.online').slice(read);
      read += records.length;
      return records.map((r) => `${r.value.gatewayId}: ${kinds(r.value.conversationOps).join(', ')}${r.value.deliveries.length ? ` +${r.value.deliveries.map((d) => d.userId).join(',')}` : ''}`).sort();
    };
    let n = 0;
    const command = (actor: string, action: GroupCommand['action'], targets: string[] = [], text: string | null = null) => ({
      key: 'G7',
      value: { correlationId: `cmd-${++n}`, actor, groupId: 'G7', action, targets, role: null, mutedUntil: null, text, at: driver.clock.now() + n } satisfies GroupCommand,
    });
    for (const [u, gw] of [['olga', 'gw-1'], ['pam', 'gw-2'], ['quin', 'gw-2'], ['rex', 'gw-3']] as const) await online(presence, u, gw);

    await driver.pipe('im.cmd.group', [command('olga', 'CREATE', ['pam', 'quin'], 'Team')]);
    expect(pushes()).toEqual(['gw-1: SUBSCRIBE olga, PUBLISH', 'gw-2: SUBSCRIBE pam, SUBSCRIBE quin, PUBLISH']);
    await driver.pipe('im.cmd.group', [command('olga', 'ADD', ['rex'])]);
    expect(pushes()).toEqual(['gw-1: PUBLISH', 'gw-2: PUBLISH', 'gw-3: SUBSCRIBE rex, PUBLISH']);
    await driver.pipe('im.cmd.group', [command('olga', 'REMOVE', ['pam'])]);
    // pam also gets her "removed from group" notice in her own inbox, by the per-user path.
    expect(pushes()).toEqual(['gw-1: PUBLISH', 'gw-2:  +pam', 'gw-2: UNSUBSCRIBE pam, PUBLISH', 'gw-3: PUBLISH']);
    await driver.pipe('im.cmd.group', [command('quin', 'LEAVE')]);
    expect(pushes()).toEqual(['gw-1: PUBLISH', 'gw-2: UNSUBSCRIBE quin, PUBLISH +quin', 'gw-3: PUBLISH']);
    await driver.pipe('im.cmd.group', [command('olga', 'DISBAND')]);
    expect(pushes()).toEqual(['gw-1: PUBLISH, CLOSE', 'gw-2: PUBLISH, CLOSE', 'gw-3: PUBLISH, CLOSE']);
    for (const u of ['olga', 'pam', 'quin', 'rex']) expect(await presence.conversationsOf(u, 'gw-9')).toEqual([]);
  });
});

describe('membership notices', () => {
  it('name who joins, who goes and which close the conversation', () => {
    const n = (event: string, body: object) => membershipChange({ contentType: `system/${event}`, content: JSON.stringify({ event, ...body }) });
    expect(n('group_created', { members: ['a', 'b'] })).toEqual({ joined: ['a', 'b'], left: [], closed: false });
    expect(n('members_added', { members: ['c'] })).toEqual({ joined: ['c'], left: [], closed: false });
    expect(n('members_removed', { members: ['c'] })).toEqual({ joined: [], left: ['c'], closed: false });
    expect(n('member_left', { user: 'd' })).toEqual({ joined: [], left: ['d'], closed: false });
    expect(n('group_disbanded', {})).toEqual({ joined: [], left: [], closed: true });
    expect(n('group_renamed', { name: 'x' })).toEqual({ joined: [], left: [], closed: false });
    expect(membershipChange({ contentType: 'system/members_added', content: 'not json' })).toEqual({ joined: [], left: [], closed: false });
  });
});
