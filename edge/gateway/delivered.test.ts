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
    const d = new DeliveredReceipts();
    d.note('bob', origin('b1'), 'g:G', 3);
    d.note('bob', origin('b2'), 'g:G', 5);
    d.note('bob', origin('b1'), 'g:G', 4);
    d.note('bob', origin('b1'), 'd:alice:bob', 2);
    d.note('carol', origin('c1'), 'g:G', 5);
    expect(d.size).toBe(3);
    const out = d.flush(1_000);
    expect(out.map((r) => [r.conversationId, r.userId, r.kind, r.seq, r.origin.connectionId, r.at, r.clientMsgId])).toEqual([
      ['g:G', 'bob', 'DELIVERED', 5, 'b2', 1_000, null],
      ['d:alice:bob', 'bob', 'DELIVERED', 2, 'b1', 1_000, null],
      ['g:G', 'carol', 'DELIVERED', 5, 'c1', 1_000, null],
    ]);
    expect(new Set(out.map((r) => r.correlationId)).size).toBe(3);
    expect(d.flush(2_000)).toEqual([]);
  });
});
