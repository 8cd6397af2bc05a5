/**
 * The faults scenario's books: what every client sent, got acknowledged and saw (live or by
 * sync), against what MongoDB stored, after the fault and a final sync. A message counts as
 * delivered to a member when the member's view of the conversation holds it (sender and
 * client msg_id), by whatever road it came. Clients keep one entry per seq (their own dedup);
 * the same message under two seqs is a duplicate the platform made.
 */
export interface SeenEntry {
  seq: number;
  clientMsgId: string;
  sender: string;
  via: 'live' | 'sync' | 'own';
  /** When it was first seen (epoch ms). */
  at: number;
}

export interface AckEntry {
  seq: number;
  conversation: string;
  /** When the ack arrived (epoch ms). */
  at: number;
}

/** One client at the end of a fault run. */
export interface ClientRecord {
  userId: string;
  /** Its acknowledged sends, by client msg_id. */
  acks: ReadonlyMap<string, AckEntry>;
  /** Sends still without an ack. */
  unacked: number;
  /** Per conversation, what it holds, by server message id. */
  views: ReadonlyMap<string, ReadonlyMap<string, SeenEntry>>;
  /** Contradictions the client saw itself (an ack changing its seq, two ids on one seq). */
  violations: readonly string[];
}

export interface StoredDoc {
  conversationId: string;
  seq: number;
  clientMsgId: string;
  sender: string;
}

export interface Books {
  sent: number;
  acked: number;
  unanswered: number;
  /** Deliveries the acknowledged sends owe: one per member other than the sender. */
  expectedDeliveries: number;
  delivered: number;
  deliveredLive: number;
  deliveredBySync: number;
  /** Acknowledged messages in MongoDB (each once at most). */
  stored: number;
  /** Deliveries owed and never seen, even after the final sync. */
  lostDeliveries: number;
  /** Acknowledged messages not in MongoDB. */
  lostStored: number;
  /** The same message under two seqs, in a client's view (after its dedup by seq). */
  duplicates: number;
  /** The same message stored under two seqs. */
  storedTwice: number;
  /** Seqs below the highest acknowledged one that a member's view lacks. */
  gaps: number;
  violations: string[];
}

const key = (sender: string, clientMsgId: string): string => `${sender}\u0000${clientMsgId}`;

export function keepBooks(clients: readonly ClientRecord[], members: ReadonlyMap<string, readonly string[]>, stored: readonly StoredDoc[]): Books {
  const byUser = new Map(clients.map((c) => [c.userId, c]));
  const storedAt = new Map<string, Set<number>>();
  for (const d of stored) {
    const k = `${d.conversationId}\u0000${key(d.sender, d.clientMsgId)}`;
    const seqs = storedAt.get(k) ?? new Set<number>();
    seqs.add(d.seq);
    storedAt.set(k, seqs);
  }
  /** Per member and conversation: the seqs each message holds there. */
  const held = new Map<string, Map<string, SeenEntry[]>>();
  const heldBy = (userId: string, conversation: string): Map<string, SeenEntry[]> => {
    const id = `${userId}\u0000${conversation}`;
    let m = held.get(id);
    if (!m) {
      m = new Map();
      for (const e of byUser.get(userId)?.views.get(conversation)?.values() ?? []) {
        const k = key(e.sender, e.clientMsgId);
        m.set(k, [...(m.get(k) ?? []), e]);
      }
      held.set(id, m);
    }
    return m;
  };
  const books: Books = {
    sent: 0, acked: 0, unanswered: 0, expectedDeliveries: 0, delivered: 0, deliveredLive: 0, deliveredBySync: 0,
    stored: 0, lostDeliveries: 0, lostStored: 0, duplicates: 0, storedTwice: 0, gaps: 0, violations: [],
  };
  const topSeq = new Map<string, number>();
  for (const c of clients) {
    books.acked += c.acks.size;
    books.unanswered += c.unacked;
    books.violations.push(...c.violations);
    for (const [clientMsgId, ack] of c.acks) {
      topSeq.set(ack.conversation, Math.max(topSeq.get(ack.conversation) ?? 0, ack.seq));
      const seqs = storedAt.get(`${ack.conversation}\u0000${key(c.userId, clientMsgId)}`);
      if (seqs?.has(ack.seq)) books.stored++;
      else books.lostStored++;
      for (const m of members.get(ack.conversation) ?? []) {
        if (m === c.userId) continue;
        books.expectedDeliveries++;
        const got = heldBy(m, ack.conversation).get(key(c.userId, clientMsgId));
        if (!got) {
          books.lostDeliveries++;
          continue;
        }
        books.delivered++;
        if (got.some((e) => e.via === 'live')) books.deliveredLive++;
        else books.deliveredBySync++;
      }
    }
  }
  books.sent = books.acked + books.unanswered;
  for (const seqs of storedAt.values()) books.storedTwice += seqs.size - 1;
  for (const [conversation, users] of members) {
    const top = topSeq.get(conversation) ?? 0;
    for (const u of users) {
      for (const entries of heldBy(u, conversation).values()) books.duplicates += new Set(entries.map((e) => e.seq)).size - 1;
      const seqs = new Set([...(byUser.get(u)?.views.get(conversation)?.values() ?? [])].map((e) => e.seq));
      for (let q = 1; q <= top; q++) if (!seqs.has(q)) books.gaps++;
    }
  }
  return books;
}

/**
 * Time from the fault's end until events flow again: the first event at or after `endMs` that
 * opens a one-second window holding at least half the events per second the load offers.
 * Null when that never happened in the times given.
 */
export function recoveryMs(times: readonly number[], endMs: number, perSecond: number): number | null {
  const sorted = times.filter((t) => t >= endMs).sort((a, b) => a - b);
  const need = Math.max(1, Math.ceil(perSecond / 2));
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1000) j++;
    if (j - i >= need) return sorted[i]! - endMs;
  }
  return null;
}
