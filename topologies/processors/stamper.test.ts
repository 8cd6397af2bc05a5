import { describe, expect, it } from 'vitest';
import type { CheckedMessage } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { messageIdTime, newMessageId } from './message-id.js';
import { stamperProcessor } from './stamper.js';
import { frames, origin } from './testing.js';

const start = () => TopologyTestDriver.start(new Topology('stamper-test').processor('stamper', stamperProcessor()));

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

describe('stamper', () => {
  it('stamps a gap-free sequence per conversation across many concurrent conversations, at the engine\'s time', async () => {
    const driver = await start();
    const convs = Array.from({ length: 24 }, (_, i) => `d:u${i}:v${i}`);
    const input = Array.from({ length: 24 * 25 }, (_, i) => checked(convs[i % convs.length]!, `m${i}`, `u${i % convs.length}`));
    await driver.pipe('im.msg.checked', input);
    const out = driver.read('im.msg.stamped');
    expect(out).toHaveLength(input.length);
    for (const conv of convs) {
      const got = out.filter((r) => r.key === conv).map((r) => r.value);
      expect(got.map((v) => v.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(got.map((v) => v.clientMsgId)).toEqual(input.filter((r) => r.key === conv).map((r) => r.value.clientMsgId));
      expect([...got.map((v) => v.messageId)].sort()).toEqual(got.map((v) => v.messageId));
    }
    expect(new Set(out.map((r) => r.value.messageId)).size).toBe(input.length);
    expect(out.every((r) => r.value.stampedAt === driver.clock.now() && messageIdTime(r.value.messageId) === driver.clock.now())).toBe(true);
    expect(driver.state('im.state.sequences').get(convs[0]!)).toMatchObject({ seq: 25, updatedAt: driver.clock.now() });
  });

  it('acks each stamped send; a retried msg_id gets no second delivery, only an ack with the first id and seq', async () => {
    const driver = await start();
    const first = checked('d:amy:bo', 'hello-1');
    const sys = checked('d:amy:bo', 'sys:x:0', 'amy', true);
    const stampedAt = driver.clock.now();
    await driver.pipe('im.msg.checked', [checked('d:amy:bo', 'before'), first]);
    driver.advanceTime(5_000); // the client's retry comes later; its ack still carries the first stamp
    await driver.pipe('im.msg.checked', [{ ...first, value: { ...first.value, correlationId: 'retry' } }, sys, sys, checked('d:amy:bo', 'after')]);
    const out = driver.read('im.msg.stamped');
    expect(out.map((r) => [r.value.clientMsgId, r.value.seq])).toEqual([['before', 1], ['hello-1', 2], ['sys:x:0', 3], ['after', 4]]);
    const acked = (msgId: string) => frames(driver.read('im.push.online')).filter((a) => a.frame.msg_id === msgId);
    const stamped = out[1]!.value;
    expect(stamped.stampedAt).toBe(stampedAt);
    const ack = { userId: 'amy', connectionId: 'conn-amy', frame: { type: 'ack', msg_id: 'hello-1', server_msg_id: stamped.messageId, conversation_id: 'd:amy:bo', sequence_number: 2, timestamp: stampedAt } };
    // One ack per send with an origin: before, hello-1 twice (stamped, then the retry), after.
    expect(acked('hello-1')).toEqual([ack, ack]);
    expect(acked('sys:x:0')).toEqual([]);
    expect(driver.read('im.push.online')).toHaveLength(4);
  });

  it('a record read again after a crash is stamped again identically', async () => {
    const driver = await start();
    const input = Array.from({ length: 30 }, (_, i) => checked(`d:x:${i % 3}`, `r${i}`));
    await driver.pipe('im.msg.checked', input);
    const once = driver.read('im.msg.stamped').map((r) => r.value);
    expect(once).toHaveLength(30);
    // Every record again, at the same positions, against the same changelogs: exactly what a
    // redelivery after a crash before the commit looks like.
    driver.advanceTime(60_000);
    await driver.redeliver('im.msg.checked');
    const again = new Map(driver.read('im.msg.stamped').slice(30).map((r) => [r.value.clientMsgId, r.value]));
    expect(again.size).toBe(30);
    for (const v of once) expect(again.get(v.clientMsgId)).toEqual(v);
  });
});
