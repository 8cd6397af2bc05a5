import { describe, expect, it } from 'vitest';
import { type LogLine, recordingLogger } from '../core/testing.js';
import type { CheckedMessage, SendCommand } from '../schemas/types.generated.js';
import { StreamsApp } from './streams-app.js';
import { ManualClock } from './test-driver.js';
import { collect, eventually, memoryEngine } from './testing.js';
import { Topology } from './topology.js';

/**
 * While a dependency is down every record fails and is retried: the runtime says so once, sums
 * up at most every 30 s, and says when it recovered, instead of a line per record and attempt.
 * On the memory engine with a task per partition at once, so every record is in flight when
 * the dependency goes down (the test driver hands over one partition's batch at a time).
 */
function send(i: number): { key: string; value: SendCommand } {
  const conversationId = `d:ann:u${i}`;
  const value: SendCommand = {
    correlationId: `c${i}`, sender: 'ann', origin: { gatewayId: 'gw-1', connectionId: 'conn-ann', deviceId: 'phone' }, clientMsgId: `m${i}`,
    conversationId, recipientKind: 'USER', recipientId: `u${i}`, content: 'hi', contentType: 'text', clientTimestamp: i, receivedAt: i,
  };
  return { key: conversationId, value };
}

describe('the runtime logs a stretch of retried records once', () => {
  it('1,000 records through a 95 s outage: one failing line with the reason, at most one summary per 30 s, one recovery', async () => {
    const lines: LogLine[] = [];
    const start = Date.UTC(2024, 0, 1);
    const upAgainAt = start + 95_000;
    const failedKeys = new Set<string>();
    const clock = new ManualClock(start);
    // Each refused attempt costs 10 ms of the clock (the back-off it waited), so the outage
    // takes 9,500 attempts whatever order the records' retries come in.
    const topology = new Topology('retry-log').processor('check', (p) => {
      p.stream('im.cmd.send').process(['im.msg.checked'], async (r) => {
        if (p.clock.now() < upAgainAt) {
          failedKeys.add(r.key!);
          clock.advance(10);
          throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        }
        const checked: CheckedMessage = { ...r.value, mentions: [] };
        return [{ topic: 'im.msg.checked', key: r.key, value: checked }];
      }, 'check');
    });
    const h = await memoryEngine();
    await h.createTopics(['im.cmd.send', 'im.msg.checked', 'im.dlq']);
    const runtime = { maxRetries: 100_000, retryInitialMs: 1, retryMaxMs: 1, partitionsConcurrency: 6 };
    const app = new StreamsApp(topology, { log: h.log, serde: h.serde, appId: 'retry-log', runtime, logger: recordingLogger(lines), clock });
    await app.start();
    const out = await collect(h, 'im.msg.checked');
    const dlq = await collect(h, 'im.dlq');
    const producer = await h.log.producer();
    const records = Array.from({ length: 1_000 }, (_, i) => send(i));
    await producer.send(await Promise.all(records.map(async (r) => ({ topic: 'im.cmd.send', key: r.key, value: await h.serde.encode('im.cmd.send', r.value), headers: {}, timestamp: start }))));
    await producer.close();
    await eventually(() => out.records.length >= 1_000, 'every record through after the outage');
    await Promise.all([out.stop(), dlq.stop()]);
    await app.stop();
    await h.close();

    expect(out.records).toHaveLength(1_000);
    expect(dlq.records).toHaveLength(0);
    const retryLines = lines.filter((l) => l.msg.startsWith('retrying'));
    const [first, ...rest] = retryLines;
    const recovered = rest.pop();
    expect([first?.level, first?.msg]).toEqual(['warn', 'retrying records: failing']);
    expect(first!.fields).toMatchObject({ processor: 'check', reason: 'connect ECONNREFUSED 127.0.0.1:6379', records: 1 });
    // Every record's first failure comes at once (a task per partition), so the first line is
    // told a little after the outage began: two or three summaries in 95 s, 30 s apart at least.
    expect(rest.length).toBeGreaterThanOrEqual(2);
    expect(rest.length).toBeLessThanOrEqual(3);
    let previous = 0;
    for (const l of rest) {
      expect([l.level, l.msg, l.fields?.reason]).toEqual(['warn', 'retrying records: still failing', 'connect ECONNREFUSED 127.0.0.1:6379']);
      const at = l.fields?.failingForMs as number;
      expect(at - previous).toBeGreaterThanOrEqual(30_000);
      previous = at;
    }
    expect([recovered?.level, recovered?.msg]).toEqual(['info', 'retrying records: recovered']);
    expect(recovered!.fields).toMatchObject({ processor: 'check', failures: 9_500, records: 1_000 });
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toHaveLength(1 + rest.length);
    expect(failedKeys.size).toBe(1_000);
  });
});
