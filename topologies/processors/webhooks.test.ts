import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { webhooksFromConfig } from '../../connectors/webhooks/from-config.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../connectors/webhooks/testing.js';
import { loadConfig } from '../../core/config.js';
import { recordingLogger, type LogLine } from '../../core/testing.js';
import { memoryPipelineDeps } from '../../ops/platform.js';
import type { RelationState, SendCommand, StampedMessage } from '../../schemas/types.generated.js';
import { StreamsApp } from '../../streams/index.js';
import { engines, TopologyTestDriver } from '../../streams/testing.js';
import { imTopology } from '../im-topology.js';
import { frames, origin } from './testing.js';

/**
 * The webhooks through the pipeline, against a real local HTTP endpoint: before-send in message
 * logic ahead of the stamper, the after-events through their own topic. The platform's wiring
 * is the real one: configuration → connectors/webhooks → imTopology.
 */
const SECRET = 'current-secret-0123456789';
const PREVIOUS = 'previous-secret-0123456789';

const receivers: WebhookReceiver[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(reply?: WebhookReceiver['reply'], secret = SECRET): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver({ secret, reply });
  receivers.push(r);
  return r;
}

/** The platform's topology on the driver, running only `processors`, with webhook settings from `env`. */
async function pipeline(env: Record<string, string>, processors: string[], lines: LogLine[] = []): Promise<TopologyTestDriver> {
  const config = loadConfig({ IM_WEBHOOK_SECRET: SECRET, IM_SENSITIVE_WORDS: 'darn', ...env });
  const deps = { ...memoryPipelineDeps(config), webhooks: webhooksFromConfig(config, recordingLogger(lines)) };
  const driver = await TopologyTestDriver.start(imTopology(deps, config), { processors, logger: recordingLogger(lines) });
  closers.push(() => driver.close());
  return driver;
}

let n = 0;
function send(content: string, sender = 'amy', recipient = 'bo'): { key: string; value: SendCommand } {
  n++;
  const conversationId = `d:${[sender, recipient].sort().join(':')}`;
  return { key: conversationId, value: { correlationId: `s${n}`, sender, origin: origin(`conn-${sender}`), clientMsgId: `m${n}`, conversationId, recipientKind: 'USER', recipientId: recipient, content, contentType: 'text', clientTimestamp: n, receivedAt: n } };
}
const friends = (a: string, b: string): { key: string; value: RelationState } => ({ key: [a, b].sort().join('|'), value: { userA: [a, b].sort()[0]!, userB: [a, b].sort()[1]!, status: 'FRIENDS', blockedByA: false, blockedByB: false, updatedAt: 1 } });

describe('before-send through message logic and the stamper', () => {
  const ON = (url: string, extra: Record<string, string> = {}) => ({ IM_WEBHOOK_BEFORE_SEND_URL: url, ...extra });
  const errors = (driver: TopologyTestDriver) => frames(driver.read('im.push.online')).map((f) => f.frame).filter((f) => f.type === 'error');

  it('allows, refuses (WEBHOOK_REFUSED with the endpoint\'s code, never stamped) and rewrites (stamped with the new content)', async () => {
    const r = await receiver((call) => {
      const content = (call.json.message as { content: string }).content;
      if (content.startsWith('buy')) return { status: 200, body: { action: 'refuse', code: 'SPAM', message: 'Looks like an advert' } };
      if (content.startsWith('HEY')) return { status: 200, body: { action: 'rewrite', content: 'hey @bo, darn quiet now' } };
      return { status: 200, body: { action: 'allow' } };
    });
    const driver = await pipeline(ON(r.url('/before-send')), ['message-logic', 'stamper']);
    await driver.pipe('im.state.relations', [friends('amy', 'bo')]);
    const [hello, advert, shout] = [send('hello'), send('buy now'), send('HEY BO')];
    for (const s of [hello, advert, shout]) await driver.pipe('im.cmd.send', [s]);

    expect(r.calls.map((c) => [c.path, c.event, c.verified])).toEqual(Array(3).fill(['/before-send', 'before-send', true]));
    const stamped = driver.read('im.msg.stamped').map((x) => x.value);
    // The refused send took no seq: the two stamped are 1 and 2.
    expect(stamped.map((m) => [m.clientMsgId, m.seq, m.content, m.mentions])).toEqual([
      [hello.value.clientMsgId, 1, 'hello', []],
      // The rewrite went through the same rules as any content: mentions read from it, the filter applied.
      [shout.value.clientMsgId, 2, 'hey @bo, *** quiet now', ['bo']],
    ]);
    expect(errors(driver)).toEqual([
      { type: 'error', error_code: 'WEBHOOK_REFUSED', error_message: 'Looks like an advert', error_detail: 'SPAM', timestamp: driver.clock.now(), msg_id: advert.value.clientMsgId },
    ]);
  });

  it('asks only about the scope configured, and never about a send the platform refused', async () => {
    const r = await receiver();
    const driver = await pipeline(ON(r.url(), { IM_WEBHOOK_BEFORE_SEND_SCOPE: 'group' }), ['message-logic', 'stamper']);
    await driver.pipe('im.state.relations', [friends('amy', 'bo')]);
    await driver.pipe('im.cmd.send', [send('direct, not asked')]);
    expect(driver.read('im.msg.stamped')).toHaveLength(1);
    const both = await pipeline(ON(r.url()), ['message-logic', 'stamper']);
    await both.pipe('im.cmd.send', [send('to a stranger', 'amy', 'zed')]);
    expect(errors(both).map((f) => f.error_code)).toEqual(['NOT_FRIENDS']);
    expect(r.calls).toHaveLength(0);
  });

  it('fails open on a slow endpoint: sends go through after the timeout, then at once while the circuit is open; one log line per change', async () => {
    let slow = true;
    const r = await receiver(() => (slow ? 'hang' : { status: 200, body: { action: 'refuse', code: 'BACK' } }));
    const lines: LogLine[] = [];
    const driver = await pipeline(ON(r.url(), { IM_WEBHOOK_BEFORE_SEND_TIMEOUT_MS: '100', IM_WEBHOOK_BREAKER_FAILURES: '2', IM_WEBHOOK_BREAKER_OPEN_MS: '60000' }), ['message-logic', 'stamper'], lines);
    await driver.pipe('im.state.relations', [friends('amy', 'bo')]);
    for (let i = 0; i < 5; i++) await driver.pipe('im.cmd.send', [send(`slow ${i}`)]);
    expect(driver.read('im.msg.stamped').map((m) => m.value.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(r.calls).toHaveLength(2);
    expect(lines.filter((l) => l.msg.startsWith('webhook circuit')).map((l) => [l.level, l.fields?.event, l.fields?.state])).toEqual([['warn', 'before-send', 'open']]);

    // The open time passes on the engine's clock; the next send probes the endpoint, now fast again.
    slow = false;
    driver.advanceTime(60_000);
    const probe = send('probe');
    await driver.pipe('im.cmd.send', [probe]);
    expect(r.calls).toHaveLength(3);
    expect(errors(driver).map((f) => [f.error_code, f.error_detail, f.msg_id])).toEqual([['WEBHOOK_REFUSED', 'BACK', probe.value.clientMsgId]]);
    expect(lines.filter((l) => l.msg.startsWith('webhook circuit')).map((l) => l.fields?.state)).toEqual(['open', 'half-open', 'closed']);
  });

  it('fails closed when so configured: SERVICE_UNAVAILABLE, nothing stamped', async () => {
    const r = await receiver(() => ({ status: 500 }));
    const driver = await pipeline(ON(r.url(), { IM_WEBHOOK_BEFORE_SEND_ON_FAILURE: 'refuse' }), ['message-logic', 'stamper']);
    await driver.pipe('im.state.relations', [friends('amy', 'bo')]);
    const s = send('hello');
    await driver.pipe('im.cmd.send', [s]);
    expect(driver.read('im.msg.stamped')).toEqual([]);
    expect(errors(driver).map((f) => [f.error_code, f.msg_id])).toEqual([['SERVICE_UNAVAILABLE', s.value.clientMsgId]]);
  });
});

let seq = 0;
function stamped(fields: Partial<StampedMessage> & Pick<StampedMessage, 'conversationId'>): { key: string; value: StampedMessage } {
  seq++;
  const value: StampedMessage = {
    correlationId: `k${seq}`, messageId: `M${seq}`, seq, sender: 'amy', origin: origin('conn-amy'), clientMsgId: `c${seq}`, recipientKind: 'USER', recipientId: 'bo',
    content: `hello ${seq}`, contentType: 'text', mentions: [], clientTimestamp: seq, receivedAt: seq, stampedAt: 1_000 + seq, ...fields,
  };
  return { key: value.conversationId, value };
}
const notice = (event: string, conversationId: string, body: Record<string, unknown>, group = false) =>
  stamped({ conversationId, origin: null, contentType: `system/${event}`, clientMsgId: `sys:cmd-${event}:0`, content: JSON.stringify({ event, actor: 'amy', command_id: `cmd-${event}`, ...body }), ...(group ? { recipientKind: 'GROUP' as const, recipientId: conversationId.slice(2) } : {}) });

describe('after-events through im.webhook.deliveries', () => {
  const AFTER = (r: WebhookReceiver, extra: Record<string, string> = {}) => ({
    IM_WEBHOOK_AFTER_SEND_URL: r.url('/sent'), IM_WEBHOOK_AFTER_FRIEND_CHANGE_URL: r.url('/friends'), IM_WEBHOOK_AFTER_GROUP_CHANGE_URL: r.url('/groups'),
    IM_WEBHOOK_RETRIES: '3', IM_WEBHOOK_RETRY_INITIAL_MS: '1', IM_WEBHOOK_RETRY_MAX_MS: '5', IM_WEBHOOK_BREAKER_FAILURES: '100', ...extra,
  });

  it('enqueues and posts each event once, signed with both secrets while rotating, with an id that survives a replay', async () => {
    const r = await receiver(() => ({ status: 204 }), PREVIOUS);
    const driver = await pipeline(AFTER(r, { IM_WEBHOOK_PREVIOUS_SECRET: PREVIOUS }), ['webhook-events', 'webhook-deliveries']);
    const message = stamped({ conversationId: 'd:amy:bo', mentions: ['bo'] });
    const accepted = notice('friend_accepted', 'd:amy:bo', { target: 'bo' });
    const added = notice('members_added', 'g:team', { members: ['cy'] }, true);
    const ignored = [notice('command_rejected', 'd:amy:amy', { action: 'ADD', error_code: 'FORBIDDEN' }), notice('recalled', 'd:amy:bo', { target_seq: 1 })];
    await driver.pipe('im.msg.stamped', [message, accepted, ...ignored, added]);

    expect(driver.read('im.webhook.deliveries').map((d) => [d.key, d.value.event, d.value.eventId])).toEqual([
      ['d:amy:bo', 'after-send', `after-send:${message.value.messageId}`],
      ['d:amy:bo', 'after-friend-change', `after-friend-change:${accepted.value.messageId}`],
      ['g:team', 'after-group-change', `after-group-change:${added.value.messageId}`],
    ]);
    const by = (path: string) => r.callsTo(path).map((c) => c.json);
    expect(by('/sent')).toEqual([{
      event: 'after-send', event_id: `after-send:${message.value.messageId}`, occurred_at: message.value.stampedAt,
      message: expect.objectContaining({ msg_id: message.value.messageId, client_msg_id: message.value.clientMsgId, conversation_id: 'd:amy:bo', sender: 'amy', recipient: 'bo', recipient_type: 'user', content: message.value.content, mentions: ['bo'], sequence_number: message.value.seq, timestamp: message.value.stampedAt }),
    }]);
    expect(by('/friends')).toEqual([{ event: 'after-friend-change', event_id: `after-friend-change:${accepted.value.messageId}`, occurred_at: accepted.value.stampedAt, change: 'friend_accepted', actor: 'amy', target: 'bo', command_id: 'cmd-friend_accepted', details: {} }]);
    expect(by('/groups')).toEqual([{ event: 'after-group-change', event_id: `after-group-change:${added.value.messageId}`, occurred_at: added.value.stampedAt, change: 'members_added', actor: 'amy', group_id: 'team', command_id: 'cmd-members_added', details: { members: ['cy'] } }]);
    // The receiver still on the previous secret verifies every call, and so does one on the new secret.
    expect(r.calls.map((c) => c.verified)).toEqual([true, true, true]);
    r.secret = SECRET;

    // A replay (a crash before the commit) posts the same events again, with the same ids: receivers dedupe on them.
    await driver.redeliver('im.msg.stamped');
    const ids = (calls: typeof r.calls) => calls.map((c) => c.eventId).sort();
    expect(r.calls).toHaveLength(6);
    expect(ids(r.calls.slice(3))).toEqual(ids(r.calls.slice(0, 3)));
    expect(r.calls.slice(3).map((c) => c.verified)).toEqual([true, true, true]);
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('retries a failing endpoint until it recovers: nothing lost, nothing dead-lettered', async () => {
    const failuresLeft = new Map<string, number>();
    const r = await receiver((call) => {
      const left = failuresLeft.get(call.eventId!) ?? 2;
      failuresLeft.set(call.eventId!, left - 1);
      return left > 0 ? { status: 503 } : { status: 200 };
    });
    const lines: LogLine[] = [];
    const driver = await pipeline(AFTER(r), ['webhook-events', 'webhook-deliveries'], lines);
    const sent = Array.from({ length: 5 }, (_, i) => stamped({ conversationId: `d:amy:u${i}` }));
    await driver.pipe('im.msg.stamped', sent);
    const ids = sent.map((s) => `after-send:${s.value.messageId}`);
    expect([...new Set(r.calls.map((c) => c.eventId))].sort()).toEqual([...ids].sort());
    for (const id of ids) expect(r.calls.filter((c) => c.eventId === id)).toHaveLength(3);
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('dead-letters an event the endpoint keeps failing (after the retries) or refuses (4xx at once), with the bytes to replay it', async () => {
    const r = await receiver((call) => (call.path === '/groups' ? { status: 422 } : { status: 500 }));
    const lines: LogLine[] = [];
    const driver = await pipeline(AFTER(r), ['webhook-events', 'webhook-deliveries'], lines);
    const message = stamped({ conversationId: 'd:amy:bo' });
    const renamed = notice('group_renamed', 'g:team', { name: 'Crew' }, true);
    await driver.pipe('im.msg.stamped', [message, renamed]);
    expect([r.callsTo('/sent').length, r.callsTo('/groups').length]).toEqual([4, 1]);
    const dead = driver.read('im.dlq').map((d) => d.value);
    expect(dead.map((d) => [d.processor, d.sourceTopic, d.errorCode])).toEqual(Array(2).fill(['webhook-deliveries', 'im.webhook.deliveries', 'WEBHOOK_DELIVERY_FAILED']));
    const reason = (event: string) => dead.find((d) => d.reason.startsWith(event))?.reason;
    expect(reason('after-send')).toContain('after 4 attempt(s): after-send webhook answered HTTP 500');
    expect(reason('after-group-change')).toContain('after 1 attempt(s): after-group-change webhook answered HTTP 422');
    const replayable = await Promise.all(dead.map((d) => driver.serde.decode('im.webhook.deliveries', d.value!)));
    expect(replayable.map((d) => d.eventId).sort()).toEqual([`after-group-change:${renamed.value.messageId}`, `after-send:${message.value.messageId}`].sort());
    expect(lines.filter((l) => l.msg === 'record sent to dead-letter topic')).toHaveLength(2);
  });
});

for (const engine of engines) {
  describe(`after-event webhooks on the ${engine.name} engine`, () => {
    it('delivers every stamped message through the deliveries topic, retrying a failed call', async () => {
      const h = await engine.create();
      closers.push(() => h.close());
      await h.createTopics(['im.msg.stamped', 'im.webhook.deliveries', 'im.dlq']);
      const attempts = new Map<string, number>();
      const r = await receiver((call) => {
        const k = attempts.get(call.eventId!) ?? 0;
        attempts.set(call.eventId!, k + 1);
        return k === 0 ? { status: 502 } : { status: 200 };
      });
      // Six first calls fail at once: the breaker (tested above) must not open here.
      const config = loadConfig({ IM_WEBHOOK_SECRET: SECRET, IM_WEBHOOK_AFTER_SEND_URL: r.url('/sent'), IM_WEBHOOK_RETRY_INITIAL_MS: '5', IM_WEBHOOK_RETRY_MAX_MS: '20', IM_WEBHOOK_BREAKER_FAILURES: '100' });
      const deps = { ...memoryPipelineDeps(config), webhooks: webhooksFromConfig(config, recordingLogger([])) };
      const app = new StreamsApp(imTopology(deps, config), {
        log: h.log, serde: h.serde, appId: `webhooks-${randomUUID().slice(0, 8)}`, processors: ['webhook-events', 'webhook-deliveries'],
        runtime: { maxRetries: 0, retryInitialMs: 5, retryMaxMs: 20, partitionsConcurrency: 4 }, logger: recordingLogger([]),
      });
      closers.push(() => app.stop());
      await app.start();
      const producer = await h.log.producer();
      closers.push(() => producer.close());
      const sent = Array.from({ length: 6 }, (_, i) => stamped({ conversationId: `d:amy:k${i}` }));
      await producer.send(await Promise.all(sent.map(async (s) => ({ topic: 'im.msg.stamped', key: s.key, value: await h.serde.encode('im.msg.stamped', s.value), headers: {}, timestamp: Date.now() }))));

      await r.waitForCalls(12, 60_000);
      const ids = sent.map((s) => `after-send:${s.value.messageId}`).sort();
      expect([...attempts.keys()].sort()).toEqual(ids);
      expect([...attempts.values()]).toEqual(Array(6).fill(2));
      expect(r.calls.every((c) => c.verified && c.event === 'after-send')).toBe(true);
    }, 90_000);
  });
}
