import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OnlinePush } from '../../schemas/types.generated.js';
import { eventually } from '../../streams/testing.js';
import { HttpError, type HttpRoute } from '../http/routes.js';
import { CloseCodes } from '../../protocol/codes.js';
import { GATEWAY_TOPICS, startTestGateway, TestClient, type GatewayHarness } from './testing.js';

/** Delivery, acks, back-pressure, shutdown, presence and HTTP of the gateway, on the memory engine. */
let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const messageFrame = (msgId: string, content = 'hello') =>
  JSON.stringify({ type: 'message', msg_id: msgId, client_msg_id: `c-${msgId}`, conversation_id: 'd:alice:bob', sender: 'bob', recipient: 'alice', recipient_type: 'user', content, content_type: 'text', mentions: [], timestamp: 1, sequence_number: 7 });

function push(h: GatewayHarness, deliveries: OnlinePush['deliveries'], correlationId = 'corr-1'): Promise<void> {
  return h.pushBus.publish({ gatewayId: h.config.gatewayId, correlationId, createdAt: Date.now(), deliveries });
}

describe('gateway delivery', () => {
  it('fans a push out to every device of the user, or to the one connection named', async () => {
    h = await startTestGateway();
    const phone = await h.client('alice', 'phone');
    const laptop = await h.client('alice', 'laptop');
    const bob = await h.client('bob', 'phone');
    await push(h, [{ userId: 'alice', connectionId: null, messageId: null, frame: messageFrame('m1') }]);
    expect(await phone.nextOfType('message')).toMatchObject({ msg_id: 'm1' });
    expect(await laptop.nextOfType('message')).toMatchObject({ msg_id: 'm1' });
    const laptopConn = (await h.presence.lookup(['alice'])).get('alice')!.find((e) => e.deviceId === 'laptop')!.connectionId;
    await push(h, [{ userId: 'alice', connectionId: laptopConn, messageId: null, frame: messageFrame('m2') }]);
    expect(await laptop.nextOfType('message')).toMatchObject({ msg_id: 'm2' });
    await new Promise((r) => setTimeout(r, 100));
    expect(phone.frames.filter((f) => f.msg_id === 'm2')).toEqual([]);
    expect(bob.frames).toEqual([]);
  });

  it('reports a pushed message not acked in time as an offline task; an ack from any device settles it', async () => {
    h = await startTestGateway({ config: { deliveryAckTimeoutMs: 1_000 } });
    const phone = await h.client('alice', 'phone');
    const laptop = await h.client('alice', 'laptop');
    await push(h, [
      { userId: 'alice', connectionId: null, messageId: 'acked', frame: messageFrame('acked') },
      { userId: 'alice', connectionId: null, messageId: 'ignored', frame: messageFrame('ignored', 'where are you?') },
    ], 'corr-ack');
    await phone.nextOfType('message');
    laptop.send({ type: 'ack', msg_id: 'acked' });
    await eventually(() => h!.offline.records.length >= 1, 'offline task', 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.offline.records.map((r) => r.value)).toEqual([
      expect.objectContaining({ userId: 'alice', messageId: 'ignored', reason: 'ACK_TIMEOUT', conversationId: 'd:alice:bob', seq: 7, sender: 'bob', preview: 'where are you?', correlationId: 'corr-ack' }),
    ]);
    expect(h.offline.records[0]!.key).toBe('alice');
  });

  it('folds the acks of a user\'s devices into one DELIVERED record per conversation, the highest seq; a client cannot send one', async () => {
    // A long interval: the only flush is the one at shutdown, so the folding is all there is to see.
    h = await startTestGateway({ config: { deliveredReceiptIntervalMs: 60_000 } });
    const phone = await h.client('alice', 'phone');
    const laptop = await h.client('alice', 'laptop');
    const at = (msgId: string, seq: number) => JSON.stringify({ ...(JSON.parse(messageFrame(msgId)) as object), sequence_number: seq });
    await push(h, [3, 5, 4].map((seq) => ({ userId: 'alice', connectionId: null, messageId: `s${seq}`, frame: at(`s${seq}`, seq) })));
    await phone.next((f) => f.msg_id === 's4');
    laptop.send({ type: 'ack', msg_id: 's3' });
    phone.send({ type: 'ack', msg_id: 's5' });
    phone.send({ type: 'ack', msg_id: 's4' });
    phone.send({ type: 'ack', msg_id: 'never-pushed' });
    phone.send({ type: 'delivered', conversation_id: 'd:alice:bob', seq: 99 });
    expect(await phone.nextOfType('error')).toMatchObject({ error_code: 'UNKNOWN_FRAME_TYPE' });
    // Frames of a connection are handled in order: once its heartbeat is answered, its acks were.
    for (const c of [phone, laptop]) {
      c.send({ type: 'heartbeat' });
      await c.nextOfType('heartbeat');
    }
    await h.gateway.stop();
    await eventually(() => h!.receipts.records.length > 0, 'the delivered record', 5_000);
    expect(h.receipts.records.map((r) => [r.key, r.value.userId, r.value.kind, r.value.conversationId, r.value.seq])).toEqual([['d:alice:bob', 'alice', 'DELIVERED', 'd:alice:bob', 5]]);
    // Straight to the receipts processor's topic: nothing of it passes the router.
    expect(h.ingress.records.filter((r) => r.value.frameType === 'delivered')).toEqual([]);
  });

  it('reports a message for a user with no local connection as OFFLINE at once', async () => {
    h = await startTestGateway();
    await push(h, [{ userId: 'ghost', connectionId: null, messageId: 'm9', frame: messageFrame('m9') }]);
    await eventually(() => h!.offline.records.length === 1, 'offline task', 5_000);
    expect(h.offline.records[0]!.value).toMatchObject({ userId: 'ghost', messageId: 'm9', reason: 'OFFLINE' });
  });

  it('disconnects a client that does not read once its buffered bytes pass the bound', async () => {
    h = await startTestGateway({ config: { maxBackpressureBytes: 64 * 1024 } });
    const slow = await h.client('alice', 'phone');
    const fast = await h.client('bob', 'phone');
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'x'.repeat(8 * 1024);
    // Kernel socket buffers absorb megabytes before uWS buffers anything: push until it gives up.
    for (let i = 0; i < 4_000 && h.gateway.connectionCount === 2; i++) {
      await push(h, [{ userId: 'alice', connectionId: null, messageId: null, frame: messageFrame(`s${i}`, big) }]);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await eventually(() => h!.gateway.connectionCount === 1, 'slow consumer closed', 10_000);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.waitClosed(10_000)).code).toBe(CloseCodes.SLOW_CONSUMER.code);
    fast.send({ type: 'heartbeat' });
    expect(await fast.nextOfType('heartbeat')).toBeTruthy();
  });
});

describe('gateway lifecycle and presence', () => {
  it('presence appears on connect and disappears on disconnect', async () => {
    h = await startTestGateway();
    const phone = await h.client('alice', 'phone');
    await eventually(async () => (await h!.presence.lookup(['alice'])).get('alice')?.length === 1, 'presence on connect', 5_000);
    expect((await h.presence.lookup(['alice'])).get('alice')![0]).toMatchObject({ gatewayId: h.config.gatewayId, deviceId: 'phone' });
    phone.close();
    await eventually(async () => !(await h!.presence.lookup(['alice'])).has('alice'), 'presence gone on disconnect', 5_000);
  });

  it('graceful stop sends reconnect, closes with GOING_AWAY, flushes and removes presence', async () => {
    // A long linger: only stop()'s flush can produce the last frame in time.
    h = await startTestGateway({ config: { ingressLingerMs: 1_000 } });
    const a = await h.client('alice', 'phone');
    const b = await h.client('bob', 'laptop');
    a.send({ type: 'send_msg', msg_id: 'last', recipient: 'bob', content: 'bye', timestamp: 1 });
    a.send({ type: 'heartbeat' });
    await a.nextOfType('heartbeat');
    await eventually(async () => (await h!.presence.lookup(['alice', 'bob'])).size === 2, 'presence', 5_000);
    await h.gateway.stop();
    for (const c of [a, b]) {
      expect(await c.nextOfType('reconnect')).toMatchObject({ type: 'reconnect', retry_after_ms: expect.any(Number) });
      expect((await c.waitClosed()).code).toBe(CloseCodes.GOING_AWAY.code);
    }
    expect((await h.presence.lookup(['alice', 'bob'])).size).toBe(0);
    await eventually(() => h!.ingress.records.some((r) => r.value.payload.includes('"last"')), 'flushed frame', 900);
    await expect(TestClient.connect(h.url(`token=${await h.auth.sign('carol', 'x')}`))).rejects.toThrow();
  });
});

describe('gateway http', () => {
  const routes: HttpRoute[] = [
    { method: 'GET', path: '/v1/echo/:id', auth: true, handler: async (req) => ({ status: 200, body: { id: req.params.id, q: req.query.q, user: req.userId } }) },
    { method: 'POST', path: '/v1/things', auth: false, handler: async (req) => ({ status: 201, body: { got: req.body } }) },
    { method: 'POST', path: '/v1/conflict', auth: false, handler: async () => { throw new HttpError(409, 'CONFLICT', 'exists'); } },
  ];

  it('mounts routes with params, query, bearer auth, body limits and JSON errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-static-'));
    await writeFile(join(dir, 'index.html'), '<h1>chat</h1>');
    h = await startTestGateway({ routes, config: { maxHttpBodyBytes: 1024, staticDir: dir } });
    const base = `http://127.0.0.1:${h.port}`;
    const token = await h.auth.sign('alice', 'web');
    const ok = await fetch(`${base}/v1/echo/a%20b?q=1`, { headers: { authorization: `Bearer ${token}` } });
    expect([ok.status, await ok.json()]).toEqual([200, { id: 'a b', q: '1', user: 'alice' }]);
    const anon = await fetch(`${base}/v1/echo/x`);
    expect([anon.status, ((await anon.json()) as { error_code: string }).error_code]).toEqual([401, 'UNAUTHORIZED']);
    const posted = await fetch(`${base}/v1/things`, { method: 'POST', body: JSON.stringify({ a: 1 }) });
    expect([posted.status, await posted.json()]).toEqual([201, { got: { a: 1 } }]);
    const big = await fetch(`${base}/v1/things`, { method: 'POST', body: JSON.stringify({ a: 'x'.repeat(2048) }) });
    expect([big.status, ((await big.json()) as { error_code: string }).error_code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const bad = await fetch(`${base}/v1/things`, { method: 'POST', body: '{nope' });
    expect([bad.status, ((await bad.json()) as { error_code: string }).error_code]).toEqual([400, 'BAD_REQUEST']);
    const conflict = await fetch(`${base}/v1/conflict`, { method: 'POST' });
    expect([conflict.status, await conflict.json()]).toEqual([409, { error_code: 'CONFLICT', error_message: 'exists' }]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('im_gateway_connections');
    expect(await (await fetch(`${base}/`)).text()).toBe('<h1>chat</h1>');
    expect((await fetch(`${base}/../../etc/passwd`)).status).toBe(404);
    expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
  });
});

describe('gateway with a failing log', () => {
  it('tells the sender SERVICE_UNAVAILABLE when its frame cannot be produced, and goes on', async () => {
    const { memoryEngine } = await import('../../streams/testing.js');
    const engine = await memoryEngine();
    await engine.createTopics([...GATEWAY_TOPICS]);
    let failing = true;
    const realProducer = engine.log.producer.bind(engine.log);
    engine.log.producer = async () => {
      const p = await realProducer();
      return { send: async (m) => (failing ? Promise.reject(new Error('broker down')) : p.send(m)), close: () => p.close() };
    };
    h = await startTestGateway({ engine });
    const alice = await h.client('alice', 'phone');
    alice.send({ type: 'send_msg', msg_id: 'lost', recipient: 'bob', content: 'x', timestamp: 1 });
    expect(await alice.nextOfType('error', 10_000)).toMatchObject({ error_code: 'SERVICE_UNAVAILABLE', msg_id: 'lost' });
    failing = false;
    alice.send({ type: 'send_msg', msg_id: 'retried', recipient: 'bob', content: 'x', timestamp: 1 });
    await eventually(() => h!.ingress.records.some((r) => r.value.payload.includes('"retried"')), 'frame after recovery', 5_000);
    expect(alice.closed).toBeNull();
  });
});
