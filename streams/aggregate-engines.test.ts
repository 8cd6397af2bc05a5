import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { StampedMessage, TopicName } from '../schemas/types.generated.js';
import { APPLIED_HEADER } from './table.js';
import { subTopologyGroup } from './plan.js';
import { StreamsApp } from './streams-app.js';
import { collect, engines, eventually, suiteHarnesses, type EngineHarness } from './testing.js';
import { Topology } from './topology.js';

/**
 * A table made by groupByKey on both engines: restored with what each key applied from its
 * compacted changelog, so a second run reading the whole input again (a new consumer group, as
 * after offsets lost) counts nothing twice, and the changelog keeps the records' headers.
 */
const runtime = { maxRetries: 2, retryInitialMs: 5, retryMaxMs: 20, partitionsConcurrency: 4 };
const TOPICS: TopicName[] = ['im.msg.stamped', 'im.example.conversation-counts', 'im.dlq'];

function stamped(conversationId: string, seq: number): StampedMessage {
  return {
    correlationId: `c-${conversationId}-${seq}`, messageId: `id-${conversationId}-${seq}`, seq, sender: 'ann', origin: null, clientMsgId: `k${seq}`,
    conversationId, recipientKind: 'GROUP', recipientId: conversationId, content: 'hi', contentType: 'text', mentions: [], clientTimestamp: seq, receivedAt: seq, stampedAt: seq,
  };
}

const counter = (): Topology =>
  new Topology('aggregate-engines').processor('counter', (p) => {
    p.stream('im.msg.stamped').groupByKey().count('im.example.conversation-counts');
  });

for (const engine of engines) {
  describe(`groupByKey tables on the ${engine.name} engine`, () => {
    const { harness, cleanups } = suiteHarnesses(engine, TOPICS, afterEach);

    /** Runs the counter under a new app id until its group has committed the whole input. */
    async function runOnce(h: EngineHarness): Promise<void> {
      const appId = `agg-${randomUUID().slice(0, 8)}`;
      const app = new StreamsApp(counter(), { log: h.log, serde: h.serde, appId, runtime });
      try {
        await app.start();
        const group = subTopologyGroup(appId, app.plan.subTopologies[0]!);
        const ends = await h.log.endOffsets('im.msg.stamped');
        await eventually(async () => {
          const committed = await h.log.committedOffsets(group, 'im.msg.stamped');
          return [...ends].every(([p, end]) => end === '0' || committed.get(p) === end);
        }, `${group} to commit the whole input`);
      } finally {
        await app.stop();
      }
    }

    it('counts each record once across a second run over the whole input, restored from the changelog', async () => {
      const h = await harness();
      const producer = await h.log.producer();
      const input = ['g:a', 'g:b', 'g:a', 'g:c', 'g:a', 'g:b'].map((c, i) => stamped(c, i + 1));
      await producer.send(await Promise.all(input.map(async (v) => ({ topic: 'im.msg.stamped', key: v.conversationId, value: await h.serde.encode('im.msg.stamped', v), headers: { 'im-correlation-id': v.correlationId }, timestamp: Date.now() }))));
      await producer.close();

      await runOnce(h);
      const table = await collect(h, 'im.example.conversation-counts');
      cleanups.push(() => table.stop());
      await eventually(() => table.records.length === input.length, 'one changelog record per input record');

      await runOnce(h);
      const latest = async (): Promise<Record<string, number>> => {
        const again = await collect(h, 'im.example.conversation-counts');
        const ends = await h.log.endOffsets('im.example.conversation-counts');
        const total = [...ends.values()].reduce((n, o) => n + Number(o), 0);
        await eventually(() => again.records.length === total, 'the whole changelog read');
        await again.stop();
        return Object.fromEntries(again.records.map((r) => [r.key!, r.value.count]));
      };
      // The second run wrote nothing: every record it read again had been applied.
      expect(await latest()).toEqual({ 'g:a': 3, 'g:b': 2, 'g:c': 1 });
      const ends = await h.log.endOffsets('im.example.conversation-counts');
      expect([...ends.values()].reduce((n, o) => n + Number(o), 0)).toBe(input.length);
      expect(table.records.map((r) => r.value.count).sort()).toEqual([1, 1, 1, 2, 2, 3]);
    });

    it('keeps the headers of the record it counted on the changelog, beside what it applied', async () => {
      const h = await harness();
      const producer = await h.log.producer();
      const v = stamped('g:h', 1);
      await producer.send([{ topic: 'im.msg.stamped', key: v.conversationId, value: await h.serde.encode('im.msg.stamped', v), headers: { 'im-correlation-id': 'corr-h' }, timestamp: Date.now() }]);
      await producer.close();
      await runOnce(h);
      const headers: Record<string, string>[] = [];
      const reader = h.log.consumer({
        groupId: `headers-${randomUUID()}`, topics: ['im.example.conversation-counts'], fromBeginning: true, commit: false, partitionsConcurrency: 8,
        eachBatch: async (batch) => void headers.push(...batch.messages.map((m) => m.headers)),
      });
      await reader.start();
      cleanups.push(() => reader.stop());
      await eventually(() => headers.length === 1, 'the changelog record');
      expect(headers[0]!['im-correlation-id']).toBe('corr-h');
      const applied = Object.entries(JSON.parse(headers[0]![APPLIED_HEADER]!) as Record<string, string>);
      expect(applied).toHaveLength(1);
      expect(applied[0]![0]).toMatch(/im\.msg\.stamped#\d$/);
      expect(applied[0]![1]).toBe('0:0');
    });
  });
}
