import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../streams/testing.js';
import { CloseCodes } from '../../protocol/codes.js';
import { startTestGateway, type GatewayHarness } from './testing.js';

/**
 * A client that never reads its socket while messages pile up for it. The gateway bounds what
 * it buffers per connection (IM_MAX_BACKPRESSURE_BYTES, 256 KB): its own check after each write
 * closes the reader with 4002 SLOW_CONSUMER before uWS's own limit is reached (maxBackpressure,
 * twice the bound, past which uWS drops frames; closeOnBackpressureLimit stays off, since the
 * gateway closes first and with the documented code). Its undelivered messages become offline
 * pushes, and a user on the same gateway goes on receiving in time throughout.
 */
let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const message = (msgId: string, content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'message', msg_id: msgId, client_msg_id: `c-${msgId}`, conversation_id: 'd:alice:bob', sender: 'carol', recipient: 'alice', recipient_type: 'user', content, content_type: 'text', mentions: [], timestamp: 1, sequence_number: 1, ...extra });

describe('a slow reader', () => {
  it('is cut off with SLOW_CONSUMER by back-pressure, its messages go to offline push, and others are not slowed', async () => {
    h = await startTestGateway();
    expect(h.config.maxBackpressureBytes).toBe(256 * 1024);
    const gw = h;
    const slow = await gw.client('alice', 'phone');
    const bystander = await gw.client('bob', 'phone');
    slow.ws.pause(); // never reads again: the kernel buffers fill, then the gateway's
    const latencies: number[] = [];
    bystander.ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as { type: string; sent_at?: number };
      if (f.type === 'message' && typeof f.sent_at === 'number') latencies.push(Date.now() - f.sent_at);
    });
    const big = 'x'.repeat(8 * 1024);
    const slowIsOpen = () => gw.gateway.connectionCount === 2;
    let pushed = 0;
    // Kernel socket buffers absorb megabytes before uWS buffers anything: push until it gives up.
    for (; pushed < 5_000 && slowIsOpen(); pushed++) {
      await gw.pushBus.publish({ gatewayId: gw.config.gatewayId, correlationId: `pile-${pushed}`, createdAt: Date.now(), deliveries: [
        { userId: 'alice', connectionId: null, messageId: `s${pushed}`, frame: message(`s${pushed}`, big) },
        { userId: 'bob', connectionId: null, messageId: null, frame: message(`b${pushed}`, 'hi', { sent_at: Date.now() }) },
      ] });
      if (pushed % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    await eventually(() => !slowIsOpen(), 'the slow reader cut off', 10_000);
    // Once cut off, the rest of its messages are offline pushes at once; the bystander still gets its own.
    for (let i = 0; i < 20; i++) {
      await gw.pushBus.publish({ gatewayId: gw.config.gatewayId, correlationId: `after-${i}`, createdAt: Date.now(), deliveries: [
        { userId: 'alice', connectionId: null, messageId: `late${i}`, frame: message(`late${i}`, big) },
        { userId: 'bob', connectionId: null, messageId: null, frame: message(`after${i}`, 'hi', { sent_at: Date.now() }) },
      ] });
    }
    await eventually(() => latencies.length === pushed + 20, 'every message of the bystander delivered', 10_000);
    expect(bystander.frames.filter((f) => f.type === 'message').map((f) => f.msg_id)).toEqual([...Array.from({ length: pushed }, (_, i) => `b${i}`), ...Array.from({ length: 20 }, (_, i) => `after${i}`)]);
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    expect(bystander.closed).toBeNull();

    await eventually(() => gw.offline.records.some((r) => r.value.messageId === 'late19'), 'offline pushes for the slow reader', 10_000);
    const reasons = new Map(gw.offline.records.filter((r) => r.value.userId === 'alice').map((r) => [r.value.messageId, r.value.reason]));
    expect([...reasons.values()]).toContain('BACKPRESSURE');
    expect(Array.from({ length: 20 }, (_, i) => reasons.get(`late${i}`))).toEqual(Array(20).fill('OFFLINE'));

    // The reader reads again: the frames buffered before the cut, then the documented close.
    slow.ws.resume();
    expect((await slow.waitClosed(10_000)).code).toBe(CloseCodes.SLOW_CONSUMER.code);
  });
});
