import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../connectors/redis/client.js';
import { deleteKeys } from '../../connectors/redis/testing.js';
import type { ConversationOp } from '../../schemas/types.generated.js';
import { eventually, kafkaEngine, memoryEngine, type EngineHarness } from '../../streams/testing.js';
import { createMemoryPushBus } from '../delivery/push-bus-memory.js';
import { createRedisPushBus } from '../delivery/push-bus-redis.js';
import type { PushBus } from '../delivery/push-bus.js';
import { createMemoryPresence } from '../presence/presence-memory.js';
import { createRedisPresence } from '../presence/presence-redis.js';
import { CloseCodes } from '../../protocol/codes.js';
import type { Presence } from '../presence/presence.js';
import { GATEWAY_TOPICS, startTestGateway, type GatewayHarness, type TestClient } from './testing.js';

/**
 * Group delivery on real gateways: every local member's connection subscribed to its
 * conversation's topic at connect and on join, unsubscribed on leave or kick, all of them on a
 * disband; one publish of one frame per gateway. In memory, and on Kafka + Redis.
 */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

interface Store {
  presence: () => Promise<Presence>;
  pushBus: () => Promise<PushBus>;
  /** One per gateway: a gateway closes its engine when it stops. */
  engine: () => Promise<EngineHarness>;
}

const variants: { name: string; store: () => Promise<Store> }[] = [
  {
    name: 'memory',
    store: async () => {
      // One process: every gateway shares the same presence and bus.
      const presence = createMemoryPresence({ ttlMs: 60_000 });
      const bus = createMemoryPushBus();
      return { presence: async () => presence, pushBus: async () => bus, engine: memoryEngine };
    },
  },
  {
    name: 'Kafka and Redis',
    store: async () => {
      const prefix = `test-${randomUUID()}:`;
      const raw = await connectRedis(REDIS_URL, 'gw-groups-raw');
      cleanups.push(async () => {
        await deleteKeys(raw, prefix);
        await raw.quit();
      });
      return {
        presence: async () => createRedisPresence({ redis: await connectRedis(REDIS_URL, 'gw-groups-presence'), ttlMs: 60_000, keyPrefix: `${prefix}presence:`, ownsClient: true }),
        pushBus: async () => createRedisPushBus({ publisher: await connectRedis(REDIS_URL, 'gw-groups-pub'), subscriber: await connectRedis(REDIS_URL, 'gw-groups-sub', { subscriber: true }), channelPrefix: prefix, ownsClients: true }),
        engine: kafkaEngine,
      };
    },
  },
];

const frame = (msgId: string, conversationId: string, seq = 1) =>
  JSON.stringify({ type: 'message', msg_id: msgId, client_msg_id: `c-${msgId}`, conversation_id: conversationId, sender: 'bob', recipient: conversationId.slice(2), recipient_type: 'group', content: `text of ${msgId}`, content_type: 'text', mentions: [], timestamp: 1, sequence_number: seq });
const publishOp = (conversationId: string, msgId: string, exceptConnectionId: string | null = null, seq = 1): ConversationOp => ({ kind: 'PUBLISH', conversationId, userId: null, messageId: msgId, exceptConnectionId, frame: frame(msgId, conversationId, seq) });
const memberOp = (kind: 'SUBSCRIBE' | 'UNSUBSCRIBE', conversationId: string, userId: string): ConversationOp => ({ kind, conversationId, userId, messageId: null, exceptConnectionId: null, frame: null });

async function ops(g: GatewayHarness, conversationOps: ConversationOp[]): Promise<void> {
  await g.pushBus.publish({ gatewayId: g.config.gatewayId, correlationId: `corr-${randomUUID().slice(0, 6)}`, createdAt: Date.now(), deliveries: [], conversationOps });
}

/** A direct frame to the user, after which nothing earlier can still be on its way on this gateway. */
async function marker(g: GatewayHarness, c: TestClient, userId: string): Promise<void> {
  const id = `marker-${randomUUID().slice(0, 6)}`;
  await g.pushBus.publish({ gatewayId: g.config.gatewayId, correlationId: 'corr-marker', createdAt: Date.now(), deliveries: [{ userId, connectionId: null, messageId: null, frame: frame(id, 'd:x:y') }] });
  await c.next((f) => f.msg_id === id, 10_000);
}

const got = (c: TestClient, msgId: string) => c.frames.some((f) => f.type === 'message' && f.msg_id === msgId);

describe.each(variants)('gateway group delivery ($name)', ({ store }) => {
  async function gateways(n: number, options: { ackTimeoutMs?: number; presence?: (p: Presence) => Presence } = {}): Promise<{ presence: Presence; gws: GatewayHarness[] }> {
    const s = await store();
    const presence = await s.presence();
    cleanups.push(() => presence.close());
    // The memberships exist (the orchestrator rebuilt them): joins below are what it records.
    await presence.rebuild([], async () => () => true);
    const gws: GatewayHarness[] = [];
    for (let i = 0; i < n; i++) {
      const engine = await s.engine();
      await engine.createTopics([...GATEWAY_TOPICS]);
      const g = await startTestGateway({ engine, presence: options.presence?.(presence) ?? (await s.presence()), pushBus: await s.pushBus(), config: { deliveryAckTimeoutMs: options.ackTimeoutMs ?? 60_000 } });
      cleanups.push(() => g.close());
      gws.push(g);
    }
    return { presence, gws };
  }

  it('subscribes members at connect: one publish reaches every member connection here but the sending one; acks are owed per member', async () => {
    const { presence, gws: [g] } = await gateways(1, { ackTimeoutMs: 2_000 });
    const conv = `g:${randomUUID().slice(0, 8)}`;
    await presence.join(conv, ['alice', 'bob']);
    const [phone, laptop, bob, carol] = [await g!.client('alice', 'phone'), await g!.client('alice', 'laptop'), await g!.client('bob', 'phone'), await g!.client('carol', 'phone')];
    const bobConn = (await g!.presence.lookup(['bob'])).get('bob')![0]!.connectionId;
    await eventually(async () => (await presence.route(conv))?.gateways.includes(g!.config.gatewayId) ?? false, 'gateway registered for the group', 5_000);

    await ops(g!, [publishOp(conv, 'm1', bobConn)]);
    expect(await phone.next((f) => f.msg_id === 'm1')).toMatchObject({ type: 'message', conversation_id: conv, content: 'text of m1' });
    expect(await laptop.next((f) => f.msg_id === 'm1')).toMatchObject({ type: 'message' });
    await marker(g!, bob, 'bob');
    await marker(g!, carol, 'carol');
    expect(got(bob, 'm1')).toBe(false);
    expect(got(carol, 'm1')).toBe(false);
    // alice acks from one device; bob sent it and owes nothing: no offline task at all.
    laptop.send({ type: 'ack', msg_id: 'm1' });
    await ops(g!, [publishOp(conv, 'm2')]);
    await bob.next((f) => f.msg_id === 'm2');
    await phone.next((f) => f.msg_id === 'm2');
    phone.send({ type: 'ack', msg_id: 'm2' });
    // bob never acks m2: reported undelivered, alone.
    await eventually(() => g!.offline.records.length >= 1, 'ack timeout reported', 10_000);
    expect(g!.offline.records.map((r) => [r.value.userId, r.value.messageId, r.value.reason, r.value.conversationId])).toEqual([['bob', 'm2', 'ACK_TIMEOUT', conv]]);
  });

  it('a coalesced ack settles every message of the conversation up to its seq, for its user only', async () => {
    const { presence, gws: [g] } = await gateways(1, { ackTimeoutMs: 2_000 });
    const conv = `g:${randomUUID().slice(0, 8)}`;
    await presence.join(conv, ['alice', 'bob']);
    const [alice, bob] = [await g!.client('alice', 'phone'), await g!.client('bob', 'phone')];
    await eventually(async () => (await presence.route(conv))?.gateways.includes(g!.config.gatewayId) ?? false, 'gateway registered for the group', 5_000);
    await ops(g!, [1, 2, 3].map((seq) => publishOp(conv, `c${seq}`, null, seq)));
    for (const c of [alice, bob]) await c.next((f) => f.msg_id === 'c3');
    // alice holds 1-3 but acks up to 2; bob acks all three in one frame. A seq past the
    // conversation's, and a conversation with nothing pending, settle nothing more.
    alice.send({ type: 'ack', conversation_id: conv, seq: 2 });
    bob.send({ type: 'ack', conversation_id: conv, seq: 3 });
    bob.send({ type: 'ack', conversation_id: 'g:nothing-pending', seq: 9 });
    await eventually(() => g!.offline.records.length >= 1, 'ack timeout reported', 10_000);
    expect(g!.offline.records.map((r) => [r.value.userId, r.value.messageId, r.value.reason, r.value.seq])).toEqual([['alice', 'c3', 'ACK_TIMEOUT', 3]]);
    // Each one's DELIVERED receipt names the highest seq it settled.
    await eventually(() => g!.receipts.records.length >= 2, 'delivered receipts', 10_000);
    expect(g!.receipts.records.map((r) => [r.value.userId, r.value.kind, r.value.seq]).sort()).toEqual([['alice', 'DELIVERED', 2], ['bob', 'DELIVERED', 3]]);
  });

  it('refuses an ack that names neither a message nor a conversation and seq, and the connection goes on', async () => {
    const { gws: [g] } = await gateways(1);
    const alice = await g!.client('alice', 'phone');
    for (const bad of [{ type: 'ack' }, { type: 'ack', conversation_id: 'g:x' }, { type: 'ack', conversation_id: 'g:x', seq: 0 }, { type: 'ack', msg_id: '', seq: 3 }]) {
      alice.send(bad);
      expect(await alice.next((f) => f.type === 'error')).toMatchObject({ type: 'error', error_code: 'MALFORMED_FRAME' });
    }
    alice.send({ type: 'heartbeat' });
    expect(await alice.next((f) => f.type === 'heartbeat')).toMatchObject({ type: 'heartbeat' });
  });

  it('join subscribes, leave or kick unsubscribes, disband closes: who receives follows the membership', async () => {
    const { presence, gws: [g] } = await gateways(1);
    const conv = `g:${randomUUID().slice(0, 8)}`;
    await presence.join(conv, ['alice', 'bob']);
    const [alice, bob, carol] = [await g!.client('alice', 'phone'), await g!.client('bob', 'phone'), await g!.client('carol', 'phone')];
    await ops(g!, [publishOp(conv, 'before-join')]);
    await alice.next((f) => f.msg_id === 'before-join');
    await bob.next((f) => f.msg_id === 'before-join');
    // carol joins: subscribed before the notice's publish in the same push.
    await ops(g!, [memberOp('SUBSCRIBE', conv, 'carol'), publishOp(conv, 'joined')]);
    expect(await carol.next((f) => f.msg_id === 'joined')).toMatchObject({ conversation_id: conv });
    // bob is kicked (or leaves): unsubscribed before the notice.
    await ops(g!, [memberOp('UNSUBSCRIBE', conv, 'bob'), publishOp(conv, 'kicked')]);
    await alice.next((f) => f.msg_id === 'kicked');
    await carol.next((f) => f.msg_id === 'kicked');
    await ops(g!, [publishOp(conv, 'after-kick')]);
    await alice.next((f) => f.msg_id === 'after-kick');
    await marker(g!, bob, 'bob');
    expect(got(bob, 'kicked') || got(bob, 'after-kick')).toBe(false);
    // Disband: the notice, then every subscriber here leaves.
    await ops(g!, [publishOp(conv, 'disbanded'), { kind: 'CLOSE', conversationId: conv, userId: null, messageId: null, exceptConnectionId: null, frame: null }]);
    await alice.next((f) => f.msg_id === 'disbanded');
    await carol.next((f) => f.msg_id === 'disbanded');
    // A topic they still share, published right after: uWS writes a subscriber's frames in order.
    const other = `g:${randomUUID().slice(0, 8)}`;
    await ops(g!, [memberOp('SUBSCRIBE', other, 'alice'), memberOp('SUBSCRIBE', other, 'carol')]);
    await ops(g!, [publishOp(conv, 'after-disband'), publishOp(other, 'still-here')]);
    for (const c of [alice, carol]) {
      await c.next((f) => f.msg_id === 'still-here');
      expect(got(c, 'after-disband')).toBe(false);
    }
  });

  it('a connection whose groups are still being read gets what was published and joined meanwhile', async () => {
    let release = (): void => {};
    const held = new Promise<void>((r) => (release = r));
    const { presence, gws: [g] } = await gateways(1, {
      // Online at once, its groups answered only when the test says; closed by the test, not the gateway.
      presence: (p) => ({ ...p, connect: async (e) => { const convs = await p.connect(e); if (e.userId === 'dana') await held; return convs; }, close: async () => {} }),
    });
    const [convA, convB] = [`g:${randomUUID().slice(0, 8)}`, `g:${randomUUID().slice(0, 8)}`];
    await presence.join(convA, ['dana', 'erin']);
    const erin = await g!.client('erin', 'phone');
    const dana = await g!.client('dana', 'phone', { untilAdmitted: true });
    await ops(g!, [publishOp(convA, 'while-reading')]);
    await ops(g!, [memberOp('SUBSCRIBE', convB, 'dana'), publishOp(convB, 'joined-while-reading')]);
    await erin.next((f) => f.msg_id === 'while-reading');
    await marker(g!, dana, 'dana');
    expect(dana.frames.filter((f) => f.type === 'message')).toEqual([]);
    release();
    expect(await dana.next((f) => f.msg_id === 'while-reading')).toMatchObject({ conversation_id: convA });
    expect(await dana.next((f) => f.msg_id === 'joined-while-reading')).toMatchObject({ conversation_id: convB });
    // And she is subscribed to both from now on.
    await ops(g!, [publishOp(convA, 'later-a'), publishOp(convB, 'later-b')]);
    await dana.next((f) => f.msg_id === 'later-a');
    await dana.next((f) => f.msg_id === 'later-b');
  });

  it('closes a subscriber that does not read once its buffered bytes pass the bound; the others go on', async () => {
    const { presence, gws: [g] } = await gateways(1);
    const conv = `g:${randomUUID().slice(0, 8)}`;
    await presence.join(conv, ['slow', 'fast']);
    const [slow, fast] = [await g!.client('slow', 'phone'), await g!.client('fast', 'phone')];
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Kernel socket buffers absorb megabytes before uWS buffers anything: publish until it gives up.
    const big = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 2_000 && g!.gateway.connectionCount === 2; i++) {
      await ops(g!, [{ ...publishOp(conv, `big-${i}`), messageId: null, frame: JSON.stringify({ type: 'message', msg_id: `big-${i}`, conversation_id: conv, content: big }) }]);
      if (i % 20 === 0) await fast.next((f) => f.msg_id === `big-${i}`, 10_000);
    }
    await eventually(() => g!.gateway.connectionCount === 1, 'slow subscriber closed', 10_000);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.waitClosed(10_000)).code).toBe(CloseCodes.SLOW_CONSUMER.code);
    await ops(g!, [publishOp(conv, 'after-slow')]);
    await fast.next((f) => f.msg_id === 'after-slow', 10_000);
  });

  it('a member who reconnects to another gateway is routed there and receives there', async () => {
    const { presence, gws: [g1, g2] } = await gateways(2);
    const conv = `g:${randomUUID().slice(0, 8)}`;
    await presence.join(conv, ['alice', 'bob']);
    const bob = await g1!.client('bob', 'phone');
    const first = await g1!.client('alice', 'phone');
    await eventually(async () => JSON.stringify((await presence.route(conv))?.gateways) === JSON.stringify([g1!.config.gatewayId]), 'g1 routed', 5_000);
    first.close();
    await first.waitClosed();
    const again = await g2!.client('alice', 'phone');
    await eventually(async () => (await presence.route(conv))?.gateways.includes(g2!.config.gatewayId) ?? false, 'g2 routed', 5_000);
    for (const g of [g1!, g2!]) await ops(g, [publishOp(conv, 'after-reconnect')]);
    expect(await again.next((f) => f.msg_id === 'after-reconnect')).toMatchObject({ conversation_id: conv });
    await bob.next((f) => f.msg_id === 'after-reconnect');
    expect(first.frames.some((f) => f.msg_id === 'after-reconnect')).toBe(false);
  });
});
