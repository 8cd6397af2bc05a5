import { describe, expect, it } from 'vitest';
import type { CheckedMessage } from '../../schemas/types.generated.js';
import { engines, eventually } from '../../streams/testing.js';
import { messageIdTime, newMessageId } from './message-id.js';
import { stamperProcessor } from './stamper.js';
import { frames, origin, useKit } from './test-kit.js';

const TOPICS = ['im.msg.checked', 'im.msg.stamped', 'im.state.sequences', 'im.state.dedup', 'im.push.online', 'im.dlq'] as const;

let n = 0;
function checked(conversationId: string, clientMsgId: string, sender = 'amy', system = false): { key: string; value: CheckedMessage } {
  return { key: conversationId, value: { correlationId: `k${++n}`, sender, origin: system ? null : origin(`conn-${sender}`), clientMsgId, conversationId, recipientKind: 'USER', recipientId: 'bo', content: `c${n}`, contentType: system ? 'system/test' : 'text', mentions: [], clientTimestamp: n, receivedAt: n } };
}

describe('message ids', () => {
  it('sort by time, and in creation order within a millisecond', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => newMessageId(1_700_000_000_000 + Math.floor(i / 100)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(messageIdTime(ids[0]!)).toBe(1_700_000_000_000);
    expect(ids[0]).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

for (const engine of engines) {
  describe(`stamper on the ${engine.name} engine`, () => {
    const kit = useKit(engine, [...TOPICS]);

    it('stamps a gap-free sequence per conversation across many concurrent conversations', async () => {
      const k = await kit();
      await k.start('stamper', stamperProcessor());
      const convs = Array.from({ length: 24 }, (_, i) => `d:u${i}:v${i}`);
      const input = Array.from({ length: 24 * 25 }, (_, i) => checked(convs[i % convs.length]!, `m${i}`, `u${i % convs.length}`));
      const out = await k.collect('im.msg.stamped');
      await k.produce('im.msg.checked', input);
      await eventually(() => out.records.length === input.length, 'all stamped');
      for (const conv of convs) {
        const got = out.records.filter((r) => r.key === conv).map((r) => r.value);
        expect(got.map((v) => v.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
        expect(got.map((v) => v.clientMsgId)).toEqual(input.filter((r) => r.key === conv).map((r) => r.value.clientMsgId));
        expect([...got.map((v) => v.messageId)].sort()).toEqual(got.map((v) => v.messageId));
      }
      expect(new Set(out.records.map((r) => r.value.messageId)).size).toBe(input.length);
    });

    it('acks each stamped send; a retried msg_id gets no second delivery, only an ack with the first id and seq', async () => {
      const k = await kit();
      await k.start('stamper', stamperProcessor());
      const out = await k.collect('im.msg.stamped');
      const acks = await k.collect('im.push.online');
      const first = checked('d:amy:bo', 'hello-1');
      const sys = checked('d:amy:bo', 'sys:x:0', 'amy', true);
      await k.produce('im.msg.checked', [checked('d:amy:bo', 'before'), first, { ...first, value: { ...first.value, correlationId: 'retry' } }, sys, sys, checked('d:amy:bo', 'after')]);
      const acked = (msgId: string) => frames(acks.records).filter((a) => a.frame.msg_id === msgId);
      // One ack per send with an origin: before, hello-1 twice (stamped, then the retry), after.
      await eventually(() => out.records.length === 4 && acks.records.length === 4, 'four stamped, four acks');
      await new Promise((r) => setTimeout(r, 200));
      expect(out.records.map((r) => [r.value.clientMsgId, r.value.seq])).toEqual([['before', 1], ['hello-1', 2], ['sys:x:0', 3], ['after', 4]]);
      const stamped = out.records[1]!.value;
      const ack = { userId: 'amy', connectionId: 'conn-amy', frame: { type: 'ack', msg_id: 'hello-1', server_msg_id: stamped.messageId, conversation_id: 'd:amy:bo', sequence_number: 2, timestamp: stamped.stampedAt } };
      expect(acked('hello-1')).toEqual([ack, ack]);
      expect(acked('sys:x:0')).toEqual([]);
      expect(acks.records).toHaveLength(4);
    });

    it('a record read again after a crash is stamped again identically', async () => {
      const k = await kit();
      const out = await k.collect('im.msg.stamped');
      const input = Array.from({ length: 30 }, (_, i) => checked(`d:x:${i % 3}`, `r${i}`));
      await k.produce('im.msg.checked', input);
      const first = await k.start('stamper', stamperProcessor(), 'crashy');
      await eventually(() => out.records.length === 30, 'first stamping');
      await first.kill();
      // A new consumer group reads every record again, at the same positions, against the
      // same changelogs: exactly what a redelivery after a crash before the commit looks like.
      await k.start('stamper', stamperProcessor(), 'crashy-again');
      await eventually(() => out.records.length === 60, 'stamped again');
      const once = out.records.slice(0, 30).map((r) => r.value);
      const again = new Map(out.records.slice(30).map((r) => [r.value.clientMsgId, r.value]));
      for (const v of once) expect(again.get(v.clientMsgId)).toEqual(v);
    });
  });
}
