import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { memoryPipelineDeps } from '../ops/platform.js';
import { topicCatalog } from '../schemas/catalog.js';
import { imTopology, OPTIONAL_PROCESSORS, PROCESSOR_NAMES } from './im-topology.js';
import { directConversationId, userPairKey } from '../domain/conversations.js';
import type { OnlinePush } from '../schemas/types.generated.js';
import { describeAsMermaid, describePlan, describeTopology, planFor } from '../streams/index.js';
import { TopologyTestDriver } from '../streams/testing.js';

const config = loadConfig({});
// Described with an after-event webhook and the example counter configured, so that every processor is declared (OPTIONAL_PROCESSORS).
const withWebhooks = loadConfig({ IM_WEBHOOK_AFTER_SEND_URL: 'http://127.0.0.1:9/after-send', IM_WEBHOOK_SECRET: 'topology-test-secret', IM_EXAMPLE_COUNTER: 'true' });
const topology = imTopology(memoryPipelineDeps(withWebhooks), withWebhooks);

describe('the platform topology', () => {
  const plan = planFor(topology);
  const described = describeTopology(topology, 'im', plan);
  const subOf = (processor: string) => plan.subTopologies.find((s) => s.processors.includes(processor));

  it('declares every named processor; each runs in exactly one sub-topology or is inlined', () => {
    expect(described.map((d) => d.name)).toEqual([...PROCESSOR_NAMES]);
    for (const name of PROCESSOR_NAMES) expect(plan.subTopologies.filter((s) => s.processors.includes(name)).length, name).toBeLessThanOrEqual(1);
    expect(described.find((d) => d.name === 'push-realtime')!.consumerGroup).toBeNull();
  });

  it('plans the send path as one task up to the stamped record: the ack after one hop, delivery after two', () => {
    const hot = subOf('router')!;
    expect(subOf('message-logic')).toBe(hot);
    expect(subOf('stamper')).toBe(hot);
    expect(hot.fused.get('im.cmd.send')).toEqual(['message-logic']);
    expect(hot.fused.get('im.msg.checked')).toEqual(['stamper']);
    // The ack and error frames reach the gateway only after the task's outputs are durable.
    expect(hot.afterProduce.get('im.push.online')).toEqual(['push-realtime']);
    // im.msg.stamped is a contract: persistence, offline push and extensions read it.
    expect([...hot.fused.keys()]).not.toContain('im.msg.stamped');
    const push = subOf('push-orchestrator')!;
    expect(push).not.toBe(hot);
    expect(push.sources).toEqual(['im.msg.stamped']);
    expect(push.afterProduce.get('im.push.online')).toEqual(['push-realtime']);
    expect(subOf('persistence')!.processors).toEqual(['persistence']);
    expect(describePlan(plan, 'im')).toContain('Sub-topology 0 (consumer group im.router+');
  });

  it('runs the query processor in a group of its own: a database that stops answering holds back syncs, not sends', () => {
    // Sync reads MongoDB; fused with the router, a frozen database stalled the send path (bench faults, db-freeze).
    expect(subOf('query')!.processors).toEqual(['query']);
    expect(subOf('query')!.sources).toEqual(['im.cmd.sync']);
    expect([...subOf('router')!.fused.keys()]).not.toContain('im.cmd.sync');
  });

  it('runs receipts in a group of their own: a burst of a group\'s DELIVERED holds back receipts, not sends', () => {
    // Each member's DELIVERED of a group message is a record and a MongoDB write (bench fanout).
    expect(subOf('receipts')!.sources).toContain('im.cmd.receipt');
    expect(subOf('receipts')).not.toBe(subOf('router'));
    expect([...subOf('router')!.fused.keys()]).not.toContain('im.cmd.receipt');
  });

  it('runs the media processor in a group of its own: reading objects and making thumbnails holds back neither sends nor delivery', () => {
    expect(subOf('media')!.processors).toEqual(['media']);
    expect(subOf('media')!.sources).toEqual(['im.msg.stamped']);
    expect(subOf('stamper')!.sources).toContain('im.msg.media-ready');
  });

  it('declares the webhook processors only when an after-event has an endpoint, and the media processor only with an object store', () => {
    const off = imTopology({ ...memoryPipelineDeps(config), objectStore: undefined }, config);
    expect(OPTIONAL_PROCESSORS.filter((n) => off.processors.has(n))).toEqual([]);
    expect([...off.processors.keys()]).toEqual(PROCESSOR_NAMES.filter((n) => !OPTIONAL_PROCESSORS.includes(n)));
    // The deliveries topic is a real hop: a slow receiver holds back only the deliveries' own group.
    expect(subOf('webhook-events')!.processors).toEqual(['webhook-events']);
    expect(subOf('webhook-deliveries')!.sources).toEqual(['im.webhook.deliveries']);
  });

  it('fuses only within the processors a process runs', () => {
    const alone = planFor(topology, ['router', 'push-realtime']);
    expect(alone.subTopologies.map((s) => s.processors)).toEqual([['router'], ['push-realtime']]);
    expect(alone.subTopologies[0]!.fused.size).toBe(0);
    // Other producers of im.push.online run elsewhere: push-realtime keeps its own group too.
    expect(alone.subTopologies[0]!.afterProduce.get('im.push.online')).toEqual(['push-realtime']);
    expect(alone.subTopologies[1]!.sources).toEqual(['im.push.online']);
  });

  it('reads and writes only catalogued topics, and every command and stream topic has a consumer', () => {
    const catalog = topicCatalog();
    const used = described.flatMap((d) => [...d.sources, ...d.sinks, ...d.tables, ...d.stores, ...d.outputTables]);
    for (const t of used) expect(catalog.has(t), t).toBe(true);
    const consumed = new Set(described.flatMap((d) => [...d.sources, ...d.tables]));
    for (const t of catalog.keys()) {
      if (t.startsWith('im.cmd.') || t.startsWith('im.msg.') || t.startsWith('im.push.')) expect(consumed.has(t), `${t} has no consumer`).toBe(true);
    }
  });

  it('wires the send path: router, message logic, stamper, then push and persistence', () => {
    const by = new Map(described.map((d) => [d.name, d]));
    expect(by.get('router')!.sinks).toContain('im.cmd.send');
    expect(by.get('message-logic')!.sources).toEqual(['im.cmd.send']);
    expect(by.get('message-logic')!.tables).toEqual(expect.arrayContaining(['im.state.relations', 'im.state.members']));
    expect(by.get('stamper')!.stores).toEqual(['im.state.sequences', 'im.state.dedup', 'im.state.messages']);
    expect(by.get('push-orchestrator')!.sinks).toEqual(expect.arrayContaining(['im.push.online', 'im.push.offline']));
    expect(by.get('persistence')!.sources).toEqual(['im.msg.stamped']);
    const mermaid = describeAsMermaid(described);
    expect(mermaid).toContain('t_im_msg_stamped --> p_persistence');
  });

  it('follows one message from ingress to stamped, pushed and persisted', async () => {
    // The whole topology on the test driver, with the in-memory stores and buses a process uses.
    const deps = memoryPipelineDeps(config);
    const driver = await TopologyTestDriver.start(imTopology(deps, config));
    const pushed: OnlinePush[] = [];
    const unsubscribe = await deps.pushBus.subscribe('gw-kim', (p) => pushed.push(p));
    try {
      const at = driver.clock.now();
      const conversationId = directConversationId('kim', 'lee');
      // kim and lee are friends; kim is online, lee is not.
      await driver.pipe('im.state.relations', [{ key: userPairKey('kim', 'lee'), value: { userA: 'kim', userB: 'lee', status: 'FRIENDS', blockedByA: false, blockedByB: false, updatedAt: at } }]);
      await deps.presence.connect({ userId: 'kim', connectionId: 'kim-1', gatewayId: 'gw-kim', deviceId: 'kim-phone', connectedAt: at });
      const frame = { type: 'send_msg', msg_id: 'first', recipient: 'lee', content: 'hello lee', timestamp: at };
      await driver.pipe('im.ingress', [{ key: conversationId, value: { correlationId: 'one-message', userId: 'kim', origin: { gatewayId: 'gw-kim', connectionId: 'kim-1', deviceId: 'kim-phone' }, receivedAt: at, frameType: 'send_msg', payload: JSON.stringify(frame) } }]);

      const stamped = driver.read('im.msg.stamped');
      expect(stamped).toHaveLength(1);
      expect(stamped[0]!.value).toMatchObject({ conversationId, sender: 'kim', recipientId: 'lee', clientMsgId: 'first', content: 'hello lee', seq: 1 });
      const messageId = stamped[0]!.value.messageId;
      // lee is offline: an offline push task instead of a delivery.
      expect(driver.read('im.push.offline').map((r) => r.value)).toEqual([expect.objectContaining({ userId: 'lee', messageId, conversationId, seq: 1, sender: 'kim', reason: 'OFFLINE' })]);
      const history = await deps.messageStore.history(conversationId, { limit: 10 });
      expect(history.messages.map((m) => [m.messageId, m.seq, m.content])).toEqual([[messageId, 1, 'hello lee']]);
      // The sender's ack reaches its connection through its gateway's channel (the memory bus hands it over in a microtask, run by now).
      const toKim = pushed.flatMap((p) => p.deliveries).map((d) => ({ connectionId: d.connectionId, frame: JSON.parse(d.frame) as Record<string, unknown> }));
      expect(toKim).toContainEqual({ connectionId: 'kim-1', frame: expect.objectContaining({ type: 'ack', msg_id: 'first', server_msg_id: messageId, sequence_number: 1 }) });
    } finally {
      await unsubscribe();
      await driver.close();
    }
  });
});
