import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../core/circuit-breaker.js';
import type { IngressFrame } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { routerProcessor, type RouterConfig, type RouterDeps } from './router.js';
import { frames, origin } from './testing.js';

const config: RouterConfig = { maxContentChars: 100, routerRatePerSec: 1, routerBurst: 5, routerStaleMs: 1_000, breakerFailureThreshold: 3, breakerOpenMs: 500 };
const start = (deps: RouterDeps = {}, cfg: RouterConfig = config) => TopologyTestDriver.start(new Topology('router-test').processor('router', routerProcessor(deps, cfg)));

let n = 0;
function ingress(userId: string, payload: unknown, receivedAt: number, frameType?: string): { key: string; value: IngressFrame } {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const type = frameType ?? (typeof payload === 'object' && payload && 'type' in payload ? String((payload as { type: unknown }).type) : 'send_msg');
  return { key: userId, value: { correlationId: `c${++n}`, userId, origin: origin(`conn-${userId}`), receivedAt, frameType: type, payload: text } };
}

describe('router', () => {
  it('routes each frame type to its command topic, keyed as the topic says', async () => {
    const driver = await start();
    const now = driver.clock.now();
    await driver.pipe('im.ingress', [
      ingress('bob', { type: 'send_msg', msg_id: 'm1', recipient: 'alice', content: 'hi', timestamp: 1 }, now),
      ingress('bob', { type: 'send_msg', msg_id: 'm2', recipient: 'g1', recipient_type: 'group', content: 'all', content_type: 'text/markdown', timestamp: 2 }, now),
      ingress('bob', { type: 'read', conversation_id: 'd:alice:bob', seq: 7 }, now),
      ingress('bob', { type: 'delivered', conversation_id: 'g:g1', seq: 9 }, now),
      ingress('bob', { type: 'typing', recipient: 'g1', recipient_type: 'group', active: true }, now),
      ingress('alice', { type: 'sync', conversation_id: 'd:alice:bob', after_seq: 3, limit: 10_000 }, now),
      ingress('alice', { type: 'heartbeat' }, now),
    ]);
    const send = driver.read('im.cmd.send');
    expect(send).toHaveLength(2);
    const byId = new Map(send.map((r) => [r.value.clientMsgId, r]));
    expect(byId.get('m1')!.key).toBe('d:alice:bob');
    expect(byId.get('m1')!.value).toMatchObject({ sender: 'bob', recipientKind: 'USER', recipientId: 'alice', content: 'hi', contentType: 'text', clientTimestamp: 1, receivedAt: now });
    expect(byId.get('m2')!.key).toBe('g:g1');
    expect(byId.get('m2')!.value).toMatchObject({ recipientKind: 'GROUP', recipientId: 'g1', contentType: 'text/markdown' });
    expect(driver.read('im.cmd.receipt')).toMatchObject([{ key: 'd:alice:bob', value: { userId: 'bob', kind: 'READ', seq: 7 } }, { key: 'g:g1', value: { userId: 'bob', kind: 'DELIVERED', seq: 9 } }]);
    expect(driver.read('im.cmd.typing')).toMatchObject([{ key: 'g:g1', value: { userId: 'bob', recipientKind: 'GROUP', active: true } }]);
    expect(driver.read('im.cmd.sync')).toMatchObject([{ key: 'alice', value: { conversationId: 'd:alice:bob', afterSeq: 3, limit: 500 } }]);
    expect(driver.read('im.push.online')).toEqual([]);
  });

  it('routes conversation settings by conversation; refuses a stranger\'s pair, an unknown mute and a frame that changes nothing', async () => {
    const driver = await start();
    const now = driver.clock.now();
    await driver.pipe('im.ingress', [
      ingress('bob', { type: 'conversation_settings', msg_id: 's1', conversation_id: 'd:alice:bob', muted: 'mentions', pinned: true }, now),
      ingress('bob', { type: 'conversation_settings', msg_id: 's2', conversation_id: 'g:g1', marked_unread: true }, now),
      ingress('eve', { type: 'conversation_settings', msg_id: 's3', conversation_id: 'd:alice:bob', archived: true }, now),
      ingress('eve', { type: 'conversation_settings', msg_id: 's4', conversation_id: 'd:alice:eve', muted: 'loud' }, now),
      ingress('eve', { type: 'conversation_settings', msg_id: 's5', conversation_id: 'd:alice:eve' }, now),
    ]);
    expect(driver.read('im.cmd.settings')).toMatchObject([
      { key: 'd:alice:bob', value: { userId: 'bob', clientMsgId: 's1', muted: 'MENTIONS', pinned: true, archived: null, markedUnread: null, at: now } },
      { key: 'g:g1', value: { userId: 'bob', clientMsgId: 's2', muted: null, markedUnread: true } },
    ]);
    expect(frames(driver.read('im.push.online')).map((f) => [f.userId, f.frame.msg_id, f.frame.error_code])).toEqual([['eve', 's3', 'FORBIDDEN'], ['eve', 's4', 'MALFORMED_FRAME'], ['eve', 's5', 'MALFORMED_FRAME']]);
  });

  it('answers client mistakes with error frames to the sending connection, never the DLQ', async () => {
    const driver = await start({}, { ...config, routerBurst: 50 });
    const now = driver.clock.now();
    await driver.pipe('im.ingress', [
      ingress('eve', '{not json', now, 'send_msg'),
      ingress('eve', { type: 'dance' }, now),
      ingress('eve', { type: 'send_msg', msg_id: 'x1', recipient: 'bob', timestamp: 1 }, now),
      ingress('eve', { type: 'send_msg', msg_id: 'sys:forged', recipient: 'bob', content: 'x', timestamp: 1 }, now),
      ingress('eve', { type: 'send_msg', msg_id: 'x2', recipient: 'bob', content: 'x'.repeat(101), timestamp: 1 }, now),
      ingress('eve', { type: 'read', conversation_id: 'd:alice:bob', seq: 1 }, now),
      ingress('eve', { type: 'typing', recipient: 'bob', active: 'yes' }, now),
    ]);
    const out = driver.read('im.push.online');
    const got = frames(out);
    expect(got.every((f) => f.userId === 'eve' && f.connectionId === 'conn-eve' && f.frame.type === 'error' && f.frame.timestamp === now)).toBe(true);
    expect(got.map((f) => f.frame.error_code)).toEqual(['INVALID_JSON', 'UNKNOWN_FRAME_TYPE', 'MALFORMED_FRAME', 'MALFORMED_FRAME', 'MALFORMED_FRAME', 'FORBIDDEN', 'MALFORMED_FRAME']);
    expect(got[2]!.frame.msg_id).toBe('x1');
    expect(got[4]!.frame.msg_id).toBe('x2');
    // Keyed by the connection: its answers stay in order, other connections' do not wait behind them.
    expect(out[0]!.key).toBe('gw-1|conn-eve');
    expect(out[0]!.value.gatewayId).toBe('gw-1');
    expect(driver.read('im.dlq')).toHaveLength(0);
  });

  it('refuses integers the Avro records cannot hold, with the msg_id, and routes the largest they can', async () => {
    const driver = await start({}, { ...config, routerBurst: 50 });
    const now = driver.clock.now();
    const unsafe = 2 ** 53 - 1;
    const msg = (id: string, timestamp: unknown) => ingress('ivy', { type: 'send_msg', msg_id: id, recipient: 'bob', content: 'x', timestamp }, now);
    await driver.pipe('im.ingress', [
      msg('n1', 1e308),
      msg('n2', unsafe),
      msg('n3', 1.5),
      ingress('ivy', { type: 'sync', after_seq: unsafe }, now),
      ingress('ivy', { type: 'sync', limit: 2 ** 31 }, now),
      ingress('ivy', { type: 'read', conversation_id: 'd:bob:ivy', seq: unsafe }, now),
      msg('n-max', unsafe - 1),
      ingress('ivy', { type: 'sync', after_seq: unsafe - 1, limit: 2 ** 31 - 1 }, now),
      ingress('ivy', { type: 'read', conversation_id: 'd:bob:ivy', seq: unsafe - 1 }, now),
    ]);
    expect(frames(driver.read('im.push.online')).map((f) => [f.frame.error_code, f.frame.msg_id])).toEqual([
      ['MALFORMED_FRAME', 'n1'],
      ['MALFORMED_FRAME', 'n2'],
      ['MALFORMED_FRAME', 'n3'],
      ...Array(3).fill(['MALFORMED_FRAME', undefined]),
    ]);
    expect(driver.read('im.cmd.send').map((r) => r.value)).toMatchObject([{ clientMsgId: 'n-max', clientTimestamp: unsafe - 1 }]);
    expect(driver.read('im.cmd.sync').map((r) => r.value)).toMatchObject([{ afterSeq: unsafe - 1, limit: 500 }]);
    expect(driver.read('im.cmd.receipt').map((r) => r.value)).toMatchObject([{ seq: unsafe - 1 }]);
    expect(driver.read('im.dlq')).toHaveLength(0);
  });

  it('limits each user with a token bucket on the gateway clock', async () => {
    const driver = await start();
    const now = driver.clock.now();
    const msg = (u: string, i: number, at: number) => ingress(u, { type: 'send_msg', msg_id: `${u}-${i}`, recipient: 'zed', content: 'x', timestamp: i }, at);
    // bob: 8 at once (burst 5), then one a second later (1 token refilled); carol is untouched.
    await driver.pipe('im.ingress', [...Array.from({ length: 8 }, (_, i) => msg('bob', i, now - 100)), msg('bob', 8, now + 900), msg('carol', 0, now)]);
    const send = driver.read('im.cmd.send');
    expect(send.filter((r) => r.value.sender === 'bob').map((r) => r.value.clientMsgId)).toEqual(['bob-0', 'bob-1', 'bob-2', 'bob-3', 'bob-4', 'bob-8']);
    expect(send.filter((r) => r.value.sender === 'carol')).toHaveLength(1);
    expect(frames(driver.read('im.push.online')).map((f) => [f.frame.error_code, f.frame.msg_id])).toEqual([['RATE_LIMIT_EXCEEDED', 'bob-5'], ['RATE_LIMIT_EXCEEDED', 'bob-6'], ['RATE_LIMIT_EXCEEDED', 'bob-7']]);
  });

  it('serves frames that waited past the stale bound (a backlog after an outage) instead of refusing them', async () => {
    const driver = await start();
    const now = driver.clock.now();
    const msg = (i: number, at: number) => ingress('dan', { type: 'send_msg', msg_id: `d${i}`, recipient: 'zed', content: 'x', timestamp: i }, at);
    // Four frames that waited 5 s (bound 1 s) and a fresh one: all routed, none refused.
    await driver.pipe('im.ingress', [msg(1, now - 5_000), msg(2, now - 5_000), msg(3, now - 5_000), msg(4, now - 5_000), msg(5, now)]);
    expect(driver.read('im.cmd.send').map((r) => r.value.clientMsgId)).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    expect(driver.read('im.push.online')).toHaveLength(0);
  });

  it('while its circuit is open refuses fast with the msg_id of each frame, and closes after a good probe', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 500, now: () => driver.clock.now() });
    const driver = await start({ breaker });
    breaker.failure(); // downstream trouble seen elsewhere in this process
    const at = driver.clock.now();
    await driver.pipe('im.ingress', [
      ingress('fay', { type: 'send_msg', msg_id: 's1', recipient: 'zed', content: 'x', timestamp: 1 }, at),
      ingress('fay', '{not json', at, 'send_msg'),
      ingress('fay', { type: 'sync', msg_id: 's3', after_seq: 1 }, at),
    ]);
    expect(frames(driver.read('im.push.online')).map((f) => [f.frame.error_code, f.frame.msg_id])).toEqual([
      ['SERVICE_UNAVAILABLE', 's1'],
      ['SERVICE_UNAVAILABLE', undefined],
      ['SERVICE_UNAVAILABLE', 's3'],
    ]);
    expect(driver.read('im.cmd.send')).toHaveLength(0);
    driver.advanceTime(499);
    await driver.pipe('im.ingress', [ingress('fay', { type: 'send_msg', msg_id: 's4', recipient: 'zed', content: 'x', timestamp: 4 }, driver.clock.now())]);
    expect(frames(driver.read('im.push.online')).at(-1)!.frame).toMatchObject({ error_code: 'SERVICE_UNAVAILABLE', msg_id: 's4' });
    driver.advanceTime(1); // openMs passed: the next frame is a probe, and a good one closes the circuit
    await driver.pipe('im.ingress', [
      ingress('fay', { type: 'send_msg', msg_id: 's5', recipient: 'zed', content: 'x', timestamp: 5 }, driver.clock.now()),
      ingress('fay', { type: 'send_msg', msg_id: 's6', recipient: 'zed', content: 'x', timestamp: 6 }, driver.clock.now()),
    ]);
    expect(driver.read('im.cmd.send').map((r) => r.value.clientMsgId)).toEqual(['s5', 's6']);
    expect(breaker.state).toBe('closed');
  });
});
