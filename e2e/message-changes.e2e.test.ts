import { expect, it } from 'vitest';
import type { Frame } from '../edge/gateway/testing.js';
import { eventually } from '../streams/testing.js';
import { answer, befriend, newGroup, onEachEngine, sendMsg } from './harness.js';

/**
 * Recall, edit, reactions and delete for me end to end over WebSocket and HTTP, on both
 * engines (issue 11, items 1 to 3): every device of both users gets each change as an event;
 * a device that was away gets them by sync; history returns each message as it is now.
 */
const WAIT = 20_000;
const event = (type: string, conversation: string) => (f: Frame) => f.type === 'message' && f.content_type === type && f.conversation_id === conversation;
const body = (f: Frame) => JSON.parse(String(f.content)) as Record<string, unknown>;
let n = 0;
const change = (type: string, conversationId: string, seq: number, extra: Record<string, unknown> = {}) => ({ type, msg_id: `chg-${Date.now()}-${++n}`, conversation_id: conversationId, seq, ...extra });

onEachEngine('message changes end to end', (platform) => {
  it('edit, reaction and recall reach every device; one away syncs them; history shows each message as it is now', async () => {
    const p = platform();
    const [alice, bob] = [await p.user('alice'), await p.user('bob')];
    await befriend(p, alice, bob);
    const [a1, a2, b1] = [await alice.connect('phone'), await alice.connect('tablet'), await bob.connect()];
    const hello = sendMsg(bob.id, 'helo');
    const helloAck = await answer(a1, hello);
    const conversation = String(helloAck.conversation_id);
    const helloSeq = Number(helloAck.sequence_number);
    await b1.next((f) => f.type === 'message' && f.client_msg_id === hello.msg_id, WAIT);

    // Edit: the sender's other device and the peer get the event; so does the acting device.
    const edit = change('edit_msg', conversation, helloSeq, { content: 'hello', message_id: helloAck.server_msg_id });
    const editAck = await answer(a1, edit);
    expect(editAck).toMatchObject({ type: 'ack', sequence_number: helloSeq + 1 });
    for (const c of [a1, a2, b1]) {
      const e = await c.next(event('system/edited', conversation), WAIT);
      expect(body(e)).toMatchObject({ event: 'edited', actor: alice.id, target_seq: helloSeq, target_msg_id: helloAck.server_msg_id, content: 'hello', version: 1 });
    }
    // Refusals carry the frame's msg_id.
    expect(await answer(b1, change('edit_msg', conversation, helloSeq, { content: 'not yours' }))).toMatchObject({ type: 'error', error_code: 'NOT_MESSAGE_SENDER' });
    expect(await answer(b1, change('react', conversation, helloSeq, { emoji: 'yes' }))).toMatchObject({ type: 'error', error_code: 'INVALID_EMOJI' });
    expect(await answer(b1, change('recall_msg', conversation, 10_000))).toMatchObject({ type: 'error', error_code: 'MESSAGE_NOT_FOUND' });

    // A reaction: counts and who, to both sides.
    expect(await answer(b1, change('react', conversation, helloSeq, { emoji: '👍' }))).toMatchObject({ type: 'ack' });
    for (const c of [a1, a2, b1]) {
      const e = await c.next(event('system/reaction', conversation), WAIT);
      expect(body(e)).toMatchObject({ emoji: '👍', added: true, reactions: [{ emoji: '👍', count: 1, users: [bob.id] }] });
    }

    // Bob goes away; alice recalls a message he already had and edits again.
    const secret = sendMsg(bob.id, 'wrong chat');
    const secretAck = await answer(a1, secret);
    await b1.next((f) => f.type === 'message' && f.client_msg_id === secret.msg_id, WAIT);
    const lastSeen = Number(secretAck.sequence_number);
    b1.close();
    await b1.waitClosed();
    expect(await answer(a2, change('recall_msg', conversation, lastSeen))).toMatchObject({ type: 'ack' });
    expect(await answer(a1, change('edit_msg', conversation, helloSeq, { content: 'hello bob' }))).toMatchObject({ type: 'ack' });
    await a1.next(event('system/edited', conversation), WAIT);

    // Back: sync from the last seq seen brings both events, in order.
    const b2 = await bob.connect();
    const changes: Frame[] = [];
    await eventually(async () => {
      const sync = { type: 'sync', msg_id: `sync-${Date.now()}-${++n}`, conversation_id: conversation, after_seq: lastSeen };
      b2.send(sync);
      const page = await b2.next((f) => f.type === 'sync_result' && f.conversation_id === conversation, WAIT);
      changes.splice(0, changes.length, ...(page.messages as Frame[]));
      return changes.length >= 2;
    }, 'both changes persisted and synced', WAIT);
    expect(changes.map((m) => m.content_type)).toEqual(['system/recalled', 'system/edited']);
    expect(body(changes[0]!)).toMatchObject({ event: 'recalled', target_seq: lastSeen, sender: alice.id });
    expect(body(changes[1]!)).toMatchObject({ content: 'hello bob', version: 2 });

    // History: the tombstone, the latest text with its version, the reaction.
    await eventually(async () => {
      const res = await p.http<{ messages: Frame[] }>('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?after_seq=0`, { token: bob.token });
      const bySeq = new Map(res.body.messages.map((m) => [Number(m.sequence_number), m]));
      const h = bySeq.get(helloSeq);
      const s = bySeq.get(lastSeen);
      return h?.content === 'hello bob' && h.version === 2 && typeof h.edited_at === 'number' && JSON.stringify(h.reactions) === JSON.stringify([{ emoji: '👍', count: 1, users: [bob.id] }])
        && s?.recalled === true && s.content === '';
    }, 'history shows the changes', WAIT);

    // Delete for me: bob's view only, on his devices; alice's history keeps the message.
    const b3 = await bob.connect('second');
    expect(await answer(b2, change('delete_for_me', conversation, helloSeq))).toMatchObject({ type: 'ack' });
    const hidden = await b3.next(event('system/deleted_for_me', `d:${bob.id}:${bob.id}`), WAIT);
    expect(body(hidden)).toMatchObject({ conversation_id: conversation, target_seq: helloSeq });
    await eventually(async () => {
      const res = await p.http<{ messages: Frame[] }>('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?after_seq=0`, { token: bob.token });
      const h = res.body.messages.find((m) => Number(m.sequence_number) === helloSeq);
      return h?.deleted_for_me === true && h.content === '';
    }, 'hidden in bob\'s history', WAIT);
    const alices = await p.http<{ messages: Frame[] }>('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?after_seq=0`, { token: alice.token });
    expect(alices.body.messages.find((m) => Number(m.sequence_number) === helloSeq)).toMatchObject({ content: 'hello bob', version: 2 });
    expect(alices.body.messages.find((m) => Number(m.sequence_number) === helloSeq)).not.toHaveProperty('deleted_for_me');
    for (const c of [a1, a2, b2, b3]) c.close();
  }, 120_000);

  it('in a group, an admin recalls a member\'s message at any time; a plain member may not', async () => {
    const p = platform();
    const { owner, members: [mia, max], groupId, conversation } = await newGroup(p, 'owner', ['mia', 'max']);
    const [o, m1, m2] = [await owner.connect(), await mia.connect(), await max.connect()];
    const said = sendMsg(groupId, 'off topic', 'group');
    const ack = await answer(m1, said);
    const seq = Number(ack.sequence_number);
    await m2.next((f) => f.type === 'message' && f.client_msg_id === said.msg_id, 30_000);
    expect(await answer(m2, change('recall_msg', conversation, seq))).toMatchObject({ type: 'error', error_code: 'NOT_MESSAGE_SENDER' });
    expect(await answer(m2, change('react', conversation, seq, { emoji: '🎉' }))).toMatchObject({ type: 'ack' });
    expect(await answer(o, change('recall_msg', conversation, seq))).toMatchObject({ type: 'ack' });
    for (const c of [o, m1, m2]) {
      const e = await c.next(event('system/recalled', conversation), WAIT);
      expect(body(e)).toMatchObject({ actor: owner.id, sender: mia.id, target_seq: seq });
    }
    await eventually(async () => {
      const res = await p.http<{ messages: Frame[] }>('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?after_seq=0`, { token: max.token });
      const m = res.body.messages.find((x) => Number(x.sequence_number) === seq);
      return m?.recalled === true && m.content === '' && m.reactions === undefined;
    }, 'the tombstone in history, reactions gone', WAIT);
    for (const c of [o, m1, m2]) c.close();
  }, 120_000);
});
