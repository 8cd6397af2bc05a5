import { describe, expect, it } from 'vitest';
import { keepBooks, recoveryMs, type ClientRecord, type SeenEntry } from './ledger.js';

const conv = 'd:a:b';
const group = 'g:g1';
const members = new Map<string, string[]>([[conv, ['a', 'b']], [group, ['a', 'b', 'c']]]);

function client(userId: string, acks: [string, number, string][], seen: [string, string, SeenEntry][], unacked = 0): ClientRecord {
  const views = new Map<string, Map<string, SeenEntry>>();
  for (const [conversation, id, e] of seen) views.set(conversation, (views.get(conversation) ?? new Map()).set(id, e));
  return { userId, acks: new Map(acks.map(([m, seq, conversation]) => [m, { seq, conversation, at: 0 }])), unacked, views, violations: [] };
}
const e = (seq: number, sender: string, clientMsgId: string, via: SeenEntry['via'] = 'live'): SeenEntry => ({ seq, sender, clientMsgId, via, at: 0 });

describe('keepBooks', () => {
  it('counts every owed delivery once, by its road, and every stored message', () => {
    const clients = [
      client('a', [['m1', 1, conv], ['m2', 1, group]], [[conv, 's1', e(1, 'a', 'm1', 'own')], [group, 's2', e(1, 'a', 'm2', 'own')]]),
      client('b', [], [[conv, 's1', e(1, 'a', 'm1')], [group, 's2', e(1, 'a', 'm2', 'sync')]]),
      client('c', [], [[group, 's2', e(1, 'a', 'm2')]]),
    ];
    const stored = [{ conversationId: conv, seq: 1, clientMsgId: 'm1', sender: 'a' }, { conversationId: group, seq: 1, clientMsgId: 'm2', sender: 'a' }];
    expect(keepBooks(clients, members, stored)).toMatchObject({
      sent: 2, acked: 2, unanswered: 0, expectedDeliveries: 3, delivered: 3, deliveredLive: 2, deliveredBySync: 1,
      stored: 2, lostDeliveries: 0, lostStored: 0, duplicates: 0, storedTwice: 0, gaps: 0,
    });
  });

  it('finds a lost delivery, a message unstored, a gap, and one message under two seqs', () => {
    const clients = [
      client('a', [['m1', 1, conv], ['m2', 2, conv], ['m3', 3, conv]], [], 1),
      // b missed m2 (seq 2), and holds m3 again under seq 4 (stamped twice).
      client('b', [], [[conv, 's1', e(1, 'a', 'm1')], [conv, 's3', e(3, 'a', 'm3')], [conv, 's4', e(4, 'a', 'm3')]]),
    ];
    const stored = [
      { conversationId: conv, seq: 1, clientMsgId: 'm1', sender: 'a' },
      { conversationId: conv, seq: 3, clientMsgId: 'm3', sender: 'a' },
      { conversationId: conv, seq: 4, clientMsgId: 'm3', sender: 'a' },
    ];
    const books = keepBooks(clients, new Map([[conv, ['a', 'b']]]), stored);
    expect(books).toMatchObject({ sent: 4, acked: 3, unanswered: 1, delivered: 2, lostDeliveries: 1, stored: 2, lostStored: 1, duplicates: 1, storedTwice: 1 });
    // a's own view is empty here: 3 missing seqs; b lacks seq 2.
    expect(books.gaps).toBe(4);
  });
});

describe('recoveryMs', () => {
  it('is the start of the first second after the fault holding half the offered rate', () => {
    const before = [0, 100, 200];
    // A stray ack at 10.1 s, then the flow from 12 s at 10/s.
    const after = [10_100, ...Array.from({ length: 20 }, (_, i) => 12_000 + i * 100)];
    expect(recoveryMs([...before, ...after], 10_000, 10)).toBe(2_000);
  });

  it('is null when the flow never came back, and 0 when it never stopped', () => {
    expect(recoveryMs([10_500], 10_000, 10)).toBeNull();
    expect(recoveryMs(Array.from({ length: 30 }, (_, i) => 9_000 + i * 100), 10_000, 10)).toBe(0);
  });
});
