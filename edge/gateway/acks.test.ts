import { describe, expect, it } from 'vitest';
import { AckTracker } from './acks.js';

const frame = (msgId: string, conversationId: string, seq: number): string =>
  JSON.stringify({ type: 'message', msg_id: msgId, conversation_id: conversationId, sequence_number: seq, sender: 'carol', content: `text ${seq}` });

describe('AckTracker', () => {
  it('settles a conversation up to a seq for one user, leaving later messages and other users owed', () => {
    const acks = new AckTracker(5_000);
    for (const seq of [1, 2, 3]) acks.expectAll(['alice', 'bob'], `m${seq}`, `c${seq}`, frame(`m${seq}`, 'g:team', seq), 1_000);
    acks.expect('alice', 'd1', 'cd', frame('d1', 'd:alice:carol', 7), 1_000);
    expect(acks.ackUpTo('alice', 'g:team', 2)).toBe(2);
    expect(acks.ackUpTo('alice', 'g:team', 2)).toBeNull(); // nothing left to settle there
    expect(acks.ack('bob', 'm1')).toEqual({ conversationId: 'g:team', seq: 1 });
    expect(acks.ackUpTo('bob', 'g:other', 9)).toBeNull();
    expect(acks.size).toBe(4); // alice m3 and d1; bob m2 and m3
    const owed = acks.expire(6_000).map((t) => [t.userId, t.messageId, t.seq, t.preview]);
    expect(owed.sort()).toEqual([
      ['alice', 'd1', 7, 'text 7'],
      ['alice', 'm3', 3, 'text 3'],
      ['bob', 'm2', 2, 'text 2'],
      ['bob', 'm3', 3, 'text 3'],
    ]);
    expect(acks.ackUpTo('bob', 'g:team', 3)).toBeNull(); // expired entries are gone from the conversation's index too
  });

  it('gives deadlines the time back after the loop was held, so acks still unread are not taken as undelivered', () => {
    const acks = new AckTracker(5_000);
    acks.expect('alice', 'm1', 'c1', frame('m1', 'g:team', 1), 1_000);
    acks.extend(6_000);
    expect(acks.expire(7_000)).toEqual([]);
    expect(acks.ackUpTo('alice', 'g:team', 1)).toBe(1);
    acks.expect('bob', 'm2', 'c2', frame('m2', 'g:team', 2), 1_000);
    acks.extend(1_000);
    expect(acks.expire(7_000).map((t) => t.userId)).toEqual(['bob']);
  });
});
