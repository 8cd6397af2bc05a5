import { afterEach, describe, expect, it } from 'vitest';
import type { StampedMessage } from '../../schemas/types.generated.js';
import { StreamsApp, Topology } from '../../streams/index.js';
import { collect, engines, eventually, type EngineHarness } from '../../streams/testing.js';
import { mentionsProcessor } from './mentions.js';

const runtime = { maxRetries: 1, retryInitialMs: 5, retryMaxMs: 10, partitionsConcurrency: 2 };

function stamped(seq: number, mentions: string[]): StampedMessage {
  return {
    correlationId: `c${seq}`, messageId: `m${seq}`, seq, sender: 'ann', origin: null, clientMsgId: `k${seq}`,
    conversationId: 'g:team', recipientKind: 'GROUP', recipientId: 'team', content: `hello ${mentions.map((u) => '@' + u).join(' ')}`,
    contentType: 'text', mentions, clientTimestamp: seq, receivedAt: seq, stampedAt: 1000 + seq,
  };
}

for (const engine of engines) {
  describe(`example: mentions processor on the ${engine.name} engine`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('emits one notice per mentioned user (not the sender), keyed by that user', async () => {
      const h: EngineHarness = await engine.create();
      cleanups.push(() => h.close());
      await h.createTopics(['im.msg.stamped', 'im.example.mentions', 'im.dlq']);
      const app = new StreamsApp(new Topology('example').processor('mentions', mentionsProcessor()), { log: h.log, serde: h.serde, appId: 'ex', runtime });
      await app.start();
      cleanups.push(() => app.stop());
      const producer = await h.log.producer();
      const input = [stamped(1, ['bob']), stamped(2, []), stamped(3, ['bob', 'cid', 'ann', 'bob'])];
      await producer.send(await Promise.all(input.map(async (v) => ({ topic: 'im.msg.stamped', key: v.conversationId, value: await h.serde.encode('im.msg.stamped', v), headers: {}, timestamp: Date.now() }))));
      await producer.close();
      const out = await collect(h, 'im.example.mentions');
      cleanups.push(() => out.stop());
      await eventually(() => out.records.length === 3, 'three notices');
      const got = out.records.map((r) => `${r.key}:${r.value.seq}`).sort();
      expect(got).toEqual(['bob:1', 'bob:3', 'cid:3']);
      expect(out.records.every((r) => r.key === r.value.userId && r.value.preview.startsWith('hello'))).toBe(true);
    });
  });
}
