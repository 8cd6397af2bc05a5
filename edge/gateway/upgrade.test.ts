import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../../streams/testing.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { CloseCodes } from '../../protocol/codes.js';
import { gatewayMetrics } from './metrics.js';
import { startTestGateway, TestClient, type GatewayHarness } from './testing.js';

/**
 * The upgrade happens in uWS's upgrade handler, the token is verified on the open socket:
 * uWebSockets.js 20.30 closed about one in 400 sockets upgraded asynchronously inside res.cork
 * (1006 ~1 ms after the 101, no close frame, no log, no metric).
 */
let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const unrequested = async (code: string): Promise<number> =>
  (await gatewayMetrics.unrequestedCloses.get()).values.filter((v) => v.labels.code === code).reduce((a, v) => a + v.value, 0);

describe('gateway upgrade', () => {
  it('keeps every one of many concurrent connections open and admitted', async () => {
    h = await startTestGateway({ config: { heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 120_000 } });
    const run = randomUUID().slice(0, 8);
    const n = 600;
    const before = await unrequested('1006');
    const tokens = await Promise.all(Array.from({ length: n }, (_, i) => h!.auth.sign(`burst-${run}-${i}`, 'phone')));
    const clients: TestClient[] = [];
    let next = 0;
    // 64 connects in flight at a time from 8 source addresses, like the bench's generator.
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < n) {
          const i = next++;
          const ws = new WebSocket(h!.url(`token=${tokens[i]}`), { localAddress: `127.0.0.${2 + (i % 8)}`, perMessageDeflate: false });
          const c = new TestClient(ws);
          await new Promise<void>((resolve, reject) => {
            ws.once('open', () => resolve());
            ws.once('error', reject);
          });
          clients.push(c);
        }
      }),
    );
    // Every socket answers a heartbeat (admitted, not closed), and none was closed by uWS.
    for (const c of clients) c.send({ type: 'heartbeat' });
    await Promise.all(clients.map((c) => c.nextOfType('heartbeat', 10_000)));
    expect(clients.filter((c) => c.closed).map((c) => c.closed)).toEqual([]);
    expect(h.gateway.connectionCount).toBe(n);
    expect(await unrequested('1006')).toBe(before);
    for (const c of clients) c.close();
  }, 60_000);

  it('handles frames sent before the token is verified, in order, once it is', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = (v: TokenVerifier): TokenVerifier => ({ verify: async (t) => held.then(() => v.verify(t)) });
    h = await startTestGateway({ verifier: slow });
    const user = `early-${randomUUID().slice(0, 8)}`;
    const c = await TestClient.connect(h.url(`token=${await h.auth.sign(user, 'phone')}`));
    const ids = ['e1', 'e2', 'e3'].map((x) => `${x}-${user}`);
    for (const id of ids) c.send({ type: 'send_msg', msg_id: id, recipient: 'bob', content: 'hi', timestamp: 1 });
    c.send({ type: 'heartbeat' });
    // Nothing is handled before the verdict.
    expect(h.gateway.connectionCount).toBe(0);
    release();
    await c.nextOfType('heartbeat');
    await eventually(() => h!.ingress.records.filter((r) => r.value.userId === user).length === 3, 'early frames in ingress', 5_000);
    expect(h.ingress.records.filter((r) => r.value.userId === user).map((r) => JSON.parse(r.value.payload).msg_id)).toEqual(ids);
    expect(c.closed).toBeNull();
    c.close();
  });

  it('refuses an invalid token after the upgrade with its error frame and close code', async () => {
    h = await startTestGateway();
    const c = await TestClient.connect(h.url('token=not-a-jwt'));
    expect(await c.nextOfType('error')).toMatchObject({ error_code: 'TOKEN_INVALID' });
    expect((await c.waitClosed()).code).toBe(CloseCodes.TOKEN_INVALID.code);
    expect(h.gateway.connectionCount).toBe(0);
  });

  it('counts a close it did not ask for by code (1006 with uWS\'s reason for a frame over the payload limit)', async () => {
    h = await startTestGateway({ config: { maxFrameBytes: 1024 } });
    const before = await unrequested('1006');
    const c = await h.client(`big-${randomUUID().slice(0, 8)}`, 'phone');
    c.send('x'.repeat(1024 * 8 + 1));
    await c.waitClosed();
    await eventually(async () => (await unrequested('1006')) > before, 'the close counted', 5_000);
    const labels = (await gatewayMetrics.unrequestedCloses.get()).values.filter((v) => v.labels.code === '1006').map((v) => v.labels.reason);
    expect(labels.some((r) => r && r !== 'none')).toBe(true);
  });
});
