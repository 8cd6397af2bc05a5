import { directConversationId } from '../../domain/conversations.js';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../streams/testing.js';
import { CloseCodes } from '../../protocol/codes.js';
import { CORRELATION_HEADER } from './ingress.js';
import { createMemoryPresence } from '../presence/presence-memory.js';
import type { Presence } from '../presence/presence.js';
import { startTestGateway, TestClient, type GatewayHarness } from './testing.js';

/** Connection, passthrough, limits and auth of the gateway, on the memory engine with real WebSockets. */
let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sendMsg = (msgId: string, extra: Record<string, unknown> = {}) => ({ type: 'send_msg', msg_id: msgId, recipient: 'bob', content: 'hi', timestamp: 1, ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway passthrough', () => {
  it('admits a connection whose device count presence never answers, and handles its early frames', async () => {
    const memory = createMemoryPresence({ ttlMs: 60_000 });
    // A presence store that takes every lookup and never answers (a stalled Redis).
    const stalled: Presence = { ...memory, lookup: () => new Promise<never>(() => undefined) };
    h = await startTestGateway({ presence: stalled });
    const alice = await TestClient.connect(h.url(`token=${await h.auth.sign('alice', 'phone')}`));
    alice.send(sendMsg('early'));
    await eventually(() => h!.ingress.records.some((r) => JSON.parse(r.value.payload).msg_id === 'early'), 'the early frame handled once the device count gave up', 5_000);
    alice.close();
  });

  it('wraps an accepted frame as an IngressFrame keyed by its conversation, from the token\'s user', async () => {
    h = await startTestGateway();
    const alice = await h.client('alice', 'phone');
    const frame = sendMsg('m1');
    alice.send(frame);
    await eventually(() => h!.ingress.records.length === 1, 'ingress record', 5_000);
    const rec = h.ingress.records[0]!;
    expect(rec.key).toBe(directConversationId('alice', String(frame.recipient)));
    expect(rec.value).toMatchObject({ userId: 'alice', frameType: 'send_msg', origin: { gatewayId: h.config.gatewayId, deviceId: 'phone' } });
    expect(JSON.parse(rec.value.payload)).toEqual(frame);
    expect(rec.value.origin.connectionId).toMatch(new RegExp(`^${h.config.gatewayId}:`));
    expect(Math.abs(rec.value.receivedAt - Date.now())).toBeLessThan(5_000);
    const raw = (h.engine.log as import('../../streams/index.js').MemoryLog).read('im.ingress', rec.partition)[0]!;
    expect(raw.headers[CORRELATION_HEADER]).toBe(rec.value.correlationId);
  });

  it('accepts the token as a bearer.<token> subprotocol and answers with the other protocol', async () => {
    h = await startTestGateway();
    const token = await h.auth.sign('carol', 'web');
    const c = await TestClient.connect(h.url(), { protocols: ['im.v1', `bearer.${token}`] });
    expect(c.ws.protocol).toBe('im.v1');
    c.send({ type: 'typing', recipient: 'bob', active: true });
    await eventually(() => h!.ingress.records.some((r) => r.value.userId === 'carol' && r.value.frameType === 'typing'), 'typing ingress', 5_000);
    c.close();
  });

  it('refuses a frame that claims another sender and keeps the connection', async () => {
    h = await startTestGateway();
    const alice = await h.client('alice', 'phone');
    alice.send(sendMsg('spoof', { sender: 'mallory' }));
    expect(await alice.nextOfType('error')).toMatchObject({ error_code: 'SENDER_MISMATCH', msg_id: 'spoof' });
    alice.send(sendMsg('own', { sender: 'alice' }));
    await eventually(() => h!.ingress.records.length === 1, 'own frame', 5_000);
    expect(h.ingress.records.map((r) => JSON.parse(r.value.payload).msg_id)).toEqual(['own']);
    expect(h.ingress.records[0]!.value.userId).toBe('alice');
  });
});

describe('gateway limits', () => {
  it('answers every bad frame with its error code and keeps the connection', async () => {
    h = await startTestGateway();
    const c = await h.client('alice', 'phone');
    const cases: [unknown, string][] = [
      [JSON.stringify({ type: 'send_msg', msg_id: 'big', recipient: 'bob', content: 'x'.repeat(11 * 1024), timestamp: 1 }), 'FRAME_TOO_LARGE'],
      ['{not json', 'INVALID_JSON'],
      [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'INVALID_JSON'],
      [{ type: 'launch_rockets' }, 'UNKNOWN_FRAME_TYPE'],
      [{ type: 'send_msg', msg_id: 'm', content: 'no recipient', timestamp: 1 }, 'MALFORMED_FRAME'],
      [[1, 2], 'MALFORMED_FRAME'],
      [{ msg_id: 'x' }, 'MALFORMED_FRAME'],
    ];
    for (const [frame, code] of cases) {
      c.send(frame);
      expect(await c.nextOfType('error')).toMatchObject({ error_code: code });
    }
    c.send({ type: 'heartbeat' });
    expect(await c.nextOfType('heartbeat')).toHaveProperty('timestamp');
    expect(c.closed).toBeNull();
    expect(h.ingress.records).toHaveLength(0);
  });

  it('refuses numbers the Avro records cannot hold with MALFORMED_FRAME and the msg_id, and the connection goes on', async () => {
    h = await startTestGateway();
    const c = await h.client('alice', 'phone');
    const unsafe = 2 ** 53 - 1;
    const cases: [unknown, string | undefined][] = [
      [sendMsg('t-huge', { timestamp: 1e308 }), 't-huge'],
      [sendMsg('t-unsafe', { timestamp: unsafe }), 't-unsafe'],
      // Sent as text so the 30 digits reach the gateway exactly as a client would write them.
      ['{"type":"send_msg","msg_id":"t-30","recipient":"bob","content":"hi","timestamp":123456789012345678901234567890}', 't-30'],
      [sendMsg('t-frac', { timestamp: 1.5 }), 't-frac'],
      [sendMsg('t-neg', { timestamp: -1 }), 't-neg'],
      [{ type: 'sync', after_seq: unsafe }, undefined],
      [{ type: 'sync', msg_id: 's-tagged', after_seq: unsafe }, 's-tagged'],
      [{ type: 'sync', after_seq: -1 }, undefined],
      [{ type: 'sync', limit: 2 ** 31 }, undefined],
      [{ type: 'read', conversation_id: 'd:alice:bob', seq: unsafe }, undefined],
    ];
    for (const [frame, msgId] of cases) {
      c.send(frame);
      const err = await c.nextOfType('error');
      expect(err).toMatchObject({ error_code: 'MALFORMED_FRAME' });
      expect(err.msg_id).toBe(msgId);
    }
    // Still open and usable: the largest values the records hold pass through.
    c.send(sendMsg('t-max', { timestamp: unsafe - 1 }));
    c.send({ type: 'sync', after_seq: unsafe - 1, limit: 2 ** 31 - 1 });
    await eventually(() => h!.ingress.records.length === 2, 'valid frames after the refused ones', 5_000);
    expect(h.ingress.records.map((r) => r.value.frameType)).toEqual(['send_msg', 'sync']);
    c.send({ type: 'heartbeat' });
    expect(await c.nextOfType('heartbeat')).toHaveProperty('timestamp');
    expect(c.closed).toBeNull();
    expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
  });

  it('rate-limits a user across all devices with a shared token bucket', async () => {
    h = await startTestGateway({ config: { userRatePerSec: 5 } });
    const phone = await h.client('alice', 'phone');
    const laptop = await h.client('alice', 'laptop');
    const bob = await h.client('bob', 'phone');
    const started = Date.now();
    for (let i = 0; i < 10; i++) phone.send(sendMsg(`p${i}`));
    for (let i = 0; i < 10; i++) laptop.send(sendMsg(`l${i}`));
    for (let i = 0; i < 3; i++) bob.send(sendMsg(`b${i}`));
    const errors = () => [...phone.frames, ...laptop.frames].filter((f) => f.type === 'error');
    const accepted = () => h!.ingress.records.filter((r) => r.value.userId === 'alice').length;
    await eventually(() => errors().length + accepted() === 20 && h!.ingress.records.length === accepted() + 3, 'every frame answered', 5_000);
    // A burst of 5, plus whatever refilled (5/s) while the 20 frames arrived.
    const refill = Math.ceil(((Date.now() - started) / 1000) * 5);
    expect(accepted()).toBeGreaterThanOrEqual(5);
    expect(accepted()).toBeLessThanOrEqual(5 + refill);
    expect(errors().every((e) => e.error_code === 'RATE_LIMIT_EXCEEDED' && typeof e.msg_id === 'string')).toBe(true);
    // Heartbeats and acks are never limited, and the bucket refills.
    phone.send({ type: 'heartbeat' });
    expect(await phone.nextOfType('heartbeat')).toBeTruthy();
    await sleep(450);
    laptop.send(sendMsg('later'));
    await eventually(() => h!.ingress.records.some((r) => r.value.payload.includes('"later"')), 'refilled bucket', 5_000);
    expect(phone.closed ?? laptop.closed).toBeNull();
  });

  it('refuses a disallowed Origin with its close code and allows listed ones', async () => {
    h = await startTestGateway({ config: { allowedOrigins: ['https://chat.example'] } });
    const bad = await h.client('alice', 'phone', { origin: 'https://evil.example' });
    expect(await bad.nextOfType('error')).toMatchObject({ error_code: 'ORIGIN_FORBIDDEN' });
    expect((await bad.waitClosed()).code).toBe(CloseCodes.ORIGIN_FORBIDDEN.code);
    const good = await h.client('alice', 'phone', { origin: 'https://chat.example' });
    good.send({ type: 'heartbeat' });
    expect(await good.nextOfType('heartbeat')).toBeTruthy();
  });

  it('limits devices per user: same device replaces its old connection, an extra device is refused', async () => {
    h = await startTestGateway({ config: { maxDevicesPerUser: 2 } });
    const phone = await h.client('alice', 'phone');
    const laptop = await h.client('alice', 'laptop');
    const tablet = await h.client('alice', 'tablet');
    expect(await tablet.nextOfType('error')).toMatchObject({ error_code: 'TOO_MANY_DEVICES' });
    expect((await tablet.waitClosed()).code).toBe(CloseCodes.TOO_MANY_DEVICES.code);
    const phone2 = await h.client('alice', 'phone');
    expect((await phone.waitClosed()).code).toBe(CloseCodes.DEVICE_REPLACED.code);
    expect(laptop.closed).toBeNull();
    phone2.send({ type: 'heartbeat' });
    expect(await phone2.nextOfType('heartbeat')).toBeTruthy();
    expect(h.gateway.connectionCount).toBe(2);
  });
});

describe('gateway auth', () => {
  it('closes connections without a valid token with the documented codes', async () => {
    h = await startTestGateway();
    const none = await TestClient.connect(h.url());
    expect(await none.nextOfType('error')).toMatchObject({ error_code: 'TOKEN_INVALID' });
    expect((await none.waitClosed()).code).toBe(CloseCodes.TOKEN_INVALID.code);
    const forged = await TestClient.connect(h.url('token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.'));
    expect((await forged.waitClosed()).code).toBe(CloseCodes.TOKEN_INVALID.code);
    const expired = await TestClient.connect(h.url(`token=${await h.auth.sign('alice', 'phone', -10)}`));
    expect((await expired.waitClosed()).code).toBe(CloseCodes.TOKEN_EXPIRED.code);
    expect(h.gateway.connectionCount).toBe(0);
  });

  it('closes with TOKEN_EXPIRED when the token runs out, unless renewed in-band', async () => {
    h = await startTestGateway({ config: { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 10_000 } });
    const short = () => h!.auth.sign('alice', 'phone', 2);
    const stays = await TestClient.connect(h.url(`token=${await short()}`));
    const goes = await TestClient.connect(h.url(`token=${await h.auth.sign('bob', 'phone', 2)}`));
    stays.send({ type: 'token_refresh', token: await h.auth.sign('alice', 'phone', 60) });
    expect(await stays.nextOfType('token_refreshed')).toHaveProperty('expires_at');
    stays.send({ type: 'token_refresh', token: await h.auth.sign('mallory', 'phone', 60) });
    expect(await stays.nextOfType('error')).toMatchObject({ error_code: 'TOKEN_INVALID' });
    stays.send({ type: 'token_refresh', token: 'garbage' });
    expect(await stays.nextOfType('error')).toMatchObject({ error_code: 'TOKEN_INVALID' });
    expect((await goes.waitClosed(6_000)).code).toBe(CloseCodes.TOKEN_EXPIRED.code);
    expect(stays.closed).toBeNull();
    stays.close();
  });
});

describe('gateway heartbeats', () => {
  it('closes a silent connection after the timeout and keeps the ones that answer', async () => {
    h = await startTestGateway({ config: { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 600 } });
    const silent = await h.client('alice', 'phone', { autoPong: false });
    const ponging = await h.client('bob', 'phone');
    const beating = await h.client('carol', 'phone', { autoPong: false });
    const timer = setInterval(() => beating.send({ type: 'heartbeat' }), 100);
    try {
      expect((await silent.waitClosed(3_000)).code).toBe(CloseCodes.HEARTBEAT_TIMEOUT.code);
      await sleep(1_000);
      expect(ponging.closed).toBeNull();
      expect(beating.closed).toBeNull();
      expect(beating.frames.filter((f) => f.type === 'heartbeat').length).toBeGreaterThan(3);
    } finally {
      clearInterval(timer);
    }
  });
});
