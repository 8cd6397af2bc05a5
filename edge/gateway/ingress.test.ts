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
});
