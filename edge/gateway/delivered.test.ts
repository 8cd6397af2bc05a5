import { describe, expect, it } from 'vitest';
import { AckTracker } from './acks.js';
import { DeliveredReceipts } from './delivered.js';

const origin = (connectionId: string) => ({ gatewayId: 'gw-1', connectionId, deviceId: `dev-${connectionId}` });
const pushed = (conversation: string, seq: number) => JSON.stringify({ type: 'message', msg_id: `m${seq}`, conversation_id: conversation, sequence_number: seq, content: 'x' });

describe('delivered receipts at the gateway', () => {
  it('an ack settles a pending push and says where it is; one not pending says nothing', () => {
    const acks = new AckTracker(5_000);
    acks.expectAll(['bob', 'carol'], 'm7', 'c', pushed('g:G', 7), 0);
    expect(acks.ack('bob', 'm7')).toEqual({ conversationId: 'g:G', seq: 7 });
    expect(acks.ack('bob', 'm7')).toBeNull();
    expect(acks.ack('bob', 'unknown')).toBeNull();
    expect(acks.ack('carol', 'm7')).toEqual({ conversationId: 'g:G', seq: 7 });
    expect(acks.size).toBe(0);
  });

  it('folds acks into one record per user and conversation, the highest seq, and forgets them once flushed', () => {
    const d = new DeliveredReceipts({ intervalMs: 1_000, perConversationPerSec: 100 });
    d.note('bob', origin('b1'), 'g:G', 3, 0);
    d.note('bob', origin('b2'), 'g:G', 5, 10);
    d.note('bob', origin('b1'), 'g:G', 4, 20);
    d.note('bob', origin('b1'), 'd:alice:bob', 2, 30);
    d.note('carol', origin('c1'), 'g:G', 5, 40);
    expect(d.size).toBe(3);
    expect(d.flush(999)).toEqual([]);
    const out = d.flush(1_030);
    expect(out.map((r) => [r.conversationId, r.userId, r.kind, r.seq, r.origin.connectionId, r.at, r.clientMsgId])).toEqual([
      ['g:G', 'bob', 'DELIVERED', 5, 'b2', 1_030, null],
      ['g:G', 'carol', 'DELIVERED', 5, 'c1', 1_030, null],
      ['d:alice:bob', 'bob', 'DELIVERED', 2, 'b1', 1_030, null],
    ]);
    expect(new Set(out.map((r) => r.correlationId)).size).toBe(3);
    expect(d.size).toBe(0);
    expect(d.flush(5_000)).toEqual([]);
  });

  it("holds a conversation's receipts longer the more of its members acked here: at most perConversationPerSec a second", () => {
    const d = new DeliveredReceipts({ intervalMs: 1_000, perConversationPerSec: 100 });
    // 500 members of a big group acked one message; a direct conversation beside it.
    for (let i = 0; i < 500; i++) d.note(`u${i}`, origin(`c${i}`), 'g:big', 7, 0);
    d.note('bob', origin('b1'), 'd:alice:bob', 2, 0);
    // A second: the direct one goes, the group's 500 wait for 5 s (500 at 100 a second).
    expect(d.flush(1_000).map((r) => r.conversationId)).toEqual(['d:alice:bob']);
    for (let i = 0; i < 500; i++) d.note(`u${i}`, origin(`c${i}`), 'g:big', 8, 2_000);
    expect(d.flush(4_999)).toEqual([]);
    const out = d.flush(5_000);
    expect(out).toHaveLength(500);
    expect(new Set(out.map((r) => r.seq))).toEqual(new Set([8]));
  });

  it('sends everything it holds when the gateway stops, due or not', () => {
    const d = new DeliveredReceipts({ intervalMs: 1_000, perConversationPerSec: 100 });
    for (let i = 0; i < 300; i++) d.note(`u${i}`, origin(`c${i}`), 'g:big', 3, 0);
    expect(d.flush(10)).toEqual([]);
    expect(d.flush(10, true)).toHaveLength(300);
    expect(d.size).toBe(0);
  });
});
