import { expect, it } from 'vitest';
import type { Frame, TestClient } from '../edge/gateway/testing.js';
import { eventually } from '../streams/testing.js';
import { answer, befriend, newGroup, onEachEngine, sendMsg, type User } from './harness.js';

/**
 * Receipts end to end on both engines (issue 11, item 5): the clients' acks become DELIVERED
 * receipts through the gateway's batch, reads move the read position, both reach the sender
 * live and survive for a client that was away (the conversation list), and "read by" /
 * "delivered to" of a group message come from the HTTP query, paged, for participants only.
 */
const WAIT = 20_000;
const receipt = (kind: string, conversation: string, user: string, seq: number) => (f: Frame) =>
  f.type === 'receipt' && f.kind === kind && f.conversation_id === conversation && f.user === user && Number(f.seq) >= seq;

interface Receipts { sender: string; read?: { count: number; users: string[]; next_after: string | null }; delivered?: { count: number; users: string[]; next_after: string | null } }

onEachEngine('receipts end to end', (platform) => {
  const peerTicks = async (u: User, conversation: string) => {
    const res = await platform().http<{ conversations: { conversation_id: string; peer_read_seq?: number; peer_delivered_seq?: number }[] }>('GET', '/v1/conversations', { token: u.token });
    return res.body.conversations.find((c) => c.conversation_id === conversation);
  };

  it('acks become delivered and reads read, live on every device of the sender and from the conversation list after being away', async () => {
    const p = platform();
    const [alice, bob] = [await p.user('alice'), await p.user('bob')];
    await befriend(p, alice, bob);
    const [a1, a2, b1] = [await alice.connect('phone'), await alice.connect('tablet'), await bob.connect()];
    let last: Frame | undefined;
    for (const text of ['one', 'two', 'three']) {
      const m = sendMsg(bob.id, text);
      last = await answer(a1, m);
      await b1.next((f) => f.type === 'message' && f.client_msg_id === m.msg_id, WAIT); // and acked by the test client
    }
    const conversation = String(last!.conversation_id);
    const top = Number(last!.sequence_number);
    for (const c of [a1, a2]) await c.next(receipt('delivered', conversation, bob.id, top), WAIT);
    await eventually(async () => (await peerTicks(alice, conversation))?.peer_delivered_seq === top, 'delivered stored', WAIT);
    expect((await peerTicks(alice, conversation))?.peer_read_seq).toBe(0);

    // Alice goes away; bob reads; back, her list says read.
    a1.close();
    a2.close();
    await Promise.all([a1.waitClosed(), a2.waitClosed()]);
    b1.send({ type: 'read', conversation_id: conversation, seq: top });
    await eventually(async () => (await peerTicks(alice, conversation))?.peer_read_seq === top, 'read stored', WAIT);
    const a3 = await alice.connect('phone');
    // Live again: a read of a new message reaches her new connection.
    const four = sendMsg(bob.id, 'four');
    const fourAck = await answer(a3, four);
    await b1.next((f) => f.type === 'message' && f.client_msg_id === four.msg_id, WAIT);
    b1.send({ type: 'read', conversation_id: conversation, seq: Number(fourAck.sequence_number) });
    await a3.next(receipt('read', conversation, bob.id, Number(fourAck.sequence_number)), WAIT);
    // A receipt for a conversation one is not in is refused.
    const carol = await p.user('carol');
    const c1 = await carol.connect();
    c1.send({ type: 'read', msg_id: `r-${Date.now()}`, conversation_id: conversation, seq: 1 });
    expect(await c1.next((f) => f.type === 'error', WAIT)).toMatchObject({ error_code: 'FORBIDDEN' });
    for (const c of [a3, b1, c1]) c.close();
  }, 120_000);

  it('a group message: read by and delivered to, counted and paged, the sender left out, for members only', async () => {
    const p = platform();
    const { owner, members: [mia, max], groupId, conversation } = await newGroup(p, 'owner', ['mia', 'max']);
    const outsider = await p.user('outsider');
    const [o1, m1, x1] = [await owner.connect(), await mia.connect(), await max.connect()];
    const m = sendMsg(groupId, 'standup in 5', 'group');
    const ack = await answer(o1, m);
    const seq = Number(ack.sequence_number);
    await Promise.all([m1, x1].map((c: TestClient) => c.next((f) => f.type === 'message' && f.client_msg_id === m.msg_id, WAIT)));
    m1.send({ type: 'read', conversation_id: conversation, seq });
    const url = (q = '') => `/v1/conversations/${encodeURIComponent(conversation)}/messages/${seq}/receipts${q}`;
    await eventually(async () => {
      const r = await p.http<Receipts>('GET', url(), { token: owner.token });
      return r.body.read?.count === 1 && r.body.delivered?.count === 2;
    }, 'read by one, delivered to both', WAIT);
    const both = (await p.http<Receipts>('GET', url(), { token: max.token })).body;
    expect(both).toEqual({ conversation_id: conversation, seq, sender: owner.id, read: { count: 1, users: [mia.id], next_after: null }, delivered: { count: 2, users: [max.id, mia.id].sort(), next_after: null } });
    const first = (await p.http<Receipts>('GET', url('?kind=delivered&limit=1'), { token: owner.token })).body;
    expect(first.read).toBeUndefined();
    expect(first.delivered).toMatchObject({ count: 2, users: [[max.id, mia.id].sort()[0]], next_after: [max.id, mia.id].sort()[0] });
    const second = (await p.http<Receipts>('GET', url(`?kind=delivered&limit=1&after=${first.delivered!.next_after}`), { token: owner.token })).body;
    expect(second.delivered).toEqual({ count: 2, users: [[max.id, mia.id].sort()[1]], next_after: null });

    expect(await p.http('GET', url(), { token: outsider.token })).toMatchObject({ status: 403, body: { error_code: 'NOT_A_MEMBER' } });
    expect(await p.http('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages/${seq + 100}/receipts`, { token: owner.token })).toMatchObject({ status: 404, body: { error_code: 'MESSAGE_NOT_FOUND' } });
    expect(await p.http('GET', url('?kind=seen'), { token: owner.token })).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } });
    for (const c of [o1, m1, x1]) c.close();
  }, 120_000);
}, { IM_DELIVERED_RECEIPT_INTERVAL_MS: '50' });
