import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from './log.js';
import { chunkBySize, SendCoalescer } from './produce-batching.js';

const msg = (topic: string, n: number, bytes = 10): OutgoingMessage => ({ topic, key: `k${n}`, value: Buffer.alloc(bytes, n), headers: {}, timestamp: n });

describe('produce batching', () => {
  it('sends at once when idle and coalesces what arrives while a request is in flight, in order', async () => {
    const requests: number[][] = [];
    let release: () => void = () => {};
    const coalescer = new SendCoalescer(async (ms) => {
      requests.push(ms.map((m) => m.timestamp));
      if (requests.length === 1) await new Promise<void>((r) => (release = r));
    });
    const first = coalescer.send([msg('t', 1)]);
    const later = [coalescer.send([msg('t', 2), msg('t', 3)]), coalescer.send([msg('t', 4)])];
    await Promise.resolve();
    release();
    await Promise.all([first, ...later]);
    expect(requests).toEqual([[1], [2, 3, 4]]);
  });

  it('fails every caller of a failed request, and goes on with the next', async () => {
    let fail = true;
    const coalescer = new SendCoalescer(async () => {
      if (fail) {
        fail = false;
        throw new Error('broker down');
      }
    });
    await expect(coalescer.send([msg('t', 1)])).rejects.toThrow('broker down');
    await expect(coalescer.send([msg('t', 2)])).resolves.toBeUndefined();
  });

  it('splits requests under the size limit, keeping every message once and in order', () => {
    const byTopic = new Map([['a', [msg('a', 1, 300), msg('a', 2, 300)]], ['b', [msg('b', 3, 300)]]]);
    const chunks = chunkBySize(byTopic, 800); // about 366 bytes each with overhead: two fit, the third does not
    expect(chunks.length).toBe(2);
    expect(chunks.flatMap((c) => [...c.values()].flat().map((m) => m.timestamp))).toEqual([1, 2, 3]);
  });
});
