import { describe, expect, it } from 'vitest';
import { type LogLine, recordingLogger } from '../../core/testing.js';
import type { IngressFrame } from '../../schemas/types.generated.js';
import type { OutgoingMessage } from '../../streams/index.js';
import { memoryEngine } from '../../streams/testing.js';
import { type FailedIngress, Upstream } from './ingress.js';

function frame(i: number): IngressFrame {
  return { correlationId: `c${i}`, userId: 'ann', origin: { gatewayId: 'gw-1', connectionId: 'conn-1', deviceId: 'phone' }, receivedAt: i, frameType: 'send_msg', payload: '{}' };
}

describe('the gateway upstream while the broker is away', () => {
  it('tells the stretch of failed produces once, not per batch, and when produces work again', async () => {
    const { serde, close } = await memoryEngine();
    const lines: LogLine[] = [];
    const failed: FailedIngress[] = [];
    const produced: OutgoingMessage[] = [];
    let brokerUp = false;
    const producer = {
      send: async (messages: OutgoingMessage[]) => {
        if (!brokerUp) throw new Error('broker not reachable');
        produced.push(...messages);
      },
      close: async () => undefined,
    };
    const upstream = new Upstream({ producer, serde, logger: recordingLogger(lines), lingerMs: 60_000, batchMax: 1_000, onIngressFailed: (f) => failed.push(...f) });
    // Three batches given up on (each after its retries), then the broker is back.
    for (let batch = 0; batch < 3; batch++) {
      for (let i = 0; i < 10; i++) upstream.ingress(frame(batch * 10 + i));
      await upstream.flush();
    }
    brokerUp = true;
    upstream.ingress(frame(99));
    await upstream.flush();
    await close();

    expect(failed).toHaveLength(30);
    expect(produced).toHaveLength(1);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'produce failed, retrying: failing'],
      ['error', 'produce failed; records dropped: failing'],
      ['info', 'produce failed, retrying: recovered'],
      ['info', 'produce failed; records dropped: recovered'],
    ]);
    expect(lines[0]!.fields).toMatchObject({ reason: 'broker not reachable', records: 10 });
    expect(lines[1]!.fields).toMatchObject({ reason: 'broker not reachable', records: 10 });
    // Each batch was tried 4 times: 3 retries; 3 batches of 10 records dropped.
    expect(lines[2]!.fields).toMatchObject({ failures: 9, records: 30 });
    expect(lines[3]!.fields).toMatchObject({ failures: 3, records: 30 });
  });

  it("produces a resend once: a copy with the msg_id of one still waiting from the same connection adds nothing; the answer to the first is the answer to both", async () => {
    const { serde, close } = await memoryEngine();
    const produced: OutgoingMessage[] = [];
    const failed: FailedIngress[] = [];
    // Each send waits for the test to answer it: ok, or the broker refusing it.
    const sends: ((ok: boolean) => void)[] = [];
    let sendCalled: () => void = () => undefined;
    const producer = {
      send: async (messages: OutgoingMessage[]) => {
        const ok = await new Promise<boolean>((answer) => {
          sends.push(answer);
          sendCalled();
        });
        if (!ok) throw new Error('broker not reachable');
        produced.push(...messages);
      },
      close: async () => undefined,
    };
    /** Answers the next send once the upstream made it. */
    const answerNext = async (ok: boolean): Promise<void> => {
      if (sends.length === 0) await new Promise<void>((r) => (sendCalled = r));
      sends.shift()!(ok);
    };
    const upstream = new Upstream({ producer, serde, logger: recordingLogger([]), lingerMs: 60_000, batchMax: 1_000, onIngressFailed: (f) => failed.push(...f) });
    const from = (connectionId: string, i: number): IngressFrame => ({ ...frame(i), origin: { ...frame(i).origin, connectionId } });
    upstream.ingress(from('conn-1', 1), 'ann', 'm1');
    const first = upstream.flush();
    // While it waits on the broker: the client resends m1 twice; its other device sends its own m1, and m2 goes out.
    upstream.ingress(from('conn-1', 2), 'ann', 'm1');
    upstream.ingress(from('conn-1', 3), 'ann', 'm1');
    upstream.ingress(from('conn-2', 4), 'ann', 'm1');
    upstream.ingress(from('conn-1', 5), 'ann', 'm2');
    await answerNext(true);
    await first;
    const second = upstream.flush();
    await answerNext(true);
    await second;
    expect(produced.map((m) => m.timestamp)).toEqual([1, 4, 5]);
    // Produced: a later copy is the client's to send, and goes out; this one is refused for all its retries.
    upstream.ingress(from('conn-1', 6), 'ann', 'm1');
    const third = upstream.flush();
    for (let attempt = 0; attempt < 4; attempt++) await answerNext(false);
    await third;
    // Given up on, its sender told: the next copy goes out too.
    expect(failed.map((f) => f.clientMsgId)).toEqual(['m1']);
    upstream.ingress(from('conn-1', 7), 'ann', 'm1');
    const fourth = upstream.flush();
    await answerNext(true);
    await fourth;
    await close();
    expect(produced.map((m) => m.timestamp)).toEqual([1, 4, 5, 7]);
  });
});
