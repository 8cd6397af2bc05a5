import { expect, it } from 'vitest';
import type { Frame, TestClient } from '../edge/gateway/testing.js';
import { directConversationId } from '../domain/conversations.js';
import { eventually } from '../streams/testing.js';
import { answer, befriend, newGroup, onEachEngine, sendMsg, type Platform } from './harness.js';

/**
 * Replies and forwards end to end over WebSocket and HTTP, on both engines (issue 11, item 4):
 * the quote and the attribution are the server's, every device gets them, a device that was
 * away syncs them, history keeps them; on Kafka a forward crosses from its original's partition
 * to its own through the log.
 */
const WAIT = 20_000;
const got = (c: TestClient, clientMsgId: string) => c.next((f) => f.type === 'message' && f.client_msg_id === clientMsgId, WAIT);
const history = async (p: Platform, token: string, conversation: string) =>
  (await p.http<{ messages: Frame[] }>('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?after_seq=0`, { token })).body.messages ?? [];

onEachEngine('replies and forwards end to end', (platform) => {
  it('a reply quotes the message as the server has it, on every device, in sync and in history; a recalled one as a tombstone', async () => {
    const p = platform();
    const [alice, bob] = [await p.user('alice'), await p.user('bob')];
    await befriend(p, alice, bob);
    const [a1, a2, b1] = [await alice.connect('phone'), await alice.connect('tablet'), await bob.connect()];
    const question = sendMsg(alice.id, 'lunch at noon?');
    const qAck = await answer(b1, question);
    const conversation = String(qAck.conversation_id);
    const qSeq = Number(qAck.sequence_number);
    await got(a1, question.msg_id);

    const reply = { ...sendMsg(bob.id, 'yes!'), reply_to: { seq: qSeq, message_id: qAck.server_msg_id } };
    expect(await answer(a1, reply)).toMatchObject({ type: 'ack', sequence_number: qSeq + 1 });
    const quote = { conversation_id: conversation, seq: qSeq, msg_id: qAck.server_msg_id, sender: bob.id, excerpt: 'lunch at noon?', content_type: 'text', timestamp: qAck.timestamp };
    for (const c of [a2, b1]) expect((await got(c, reply.msg_id)).reply_to).toEqual(quote);
    // Refusals carry the frame's msg_id and cost no seq.
    expect(await answer(a1, { ...sendMsg(bob.id, 'x'), reply_to: { seq: qSeq, conversation_id: `d:${alice.id}:${alice.id}` } })).toMatchObject({ type: 'error', error_code: 'REPLY_OTHER_CONVERSATION' });
    expect(await answer(a1, { ...sendMsg(bob.id, 'x'), reply_to: { seq: 10_000 } })).toMatchObject({ type: 'error', error_code: 'MESSAGE_NOT_FOUND' });

    // Bob recalls his question, then goes away; alice replies to it meanwhile.
    expect(await answer(b1, { type: 'recall_msg', msg_id: `rc-${Date.now()}`, conversation_id: conversation, seq: qSeq })).toMatchObject({ type: 'ack' });
    b1.close();
    await b1.waitClosed();
    const late = { ...sendMsg(bob.id, 'what did you ask?'), reply_to: { seq: qSeq } };
    const lateAck = await answer(a1, late);
    expect(lateAck).toMatchObject({ type: 'ack' });
    expect((await got(a2, late.msg_id)).reply_to).toMatchObject({ seq: qSeq, sender: bob.id, excerpt: '', recalled: true });

    // Back: sync brings the reply with its quote and the tombstone reply.
    const b4 = await bob.connect();
    let synced: Frame[] = [];
    await eventually(async () => {
      b4.send({ type: 'sync', msg_id: `sync-${Date.now()}`, conversation_id: conversation, after_seq: qSeq });
      const page = await b4.next((f) => f.type === 'sync_result' && f.conversation_id === conversation, WAIT);
      synced = page.messages as Frame[];
      // The recall, stored, turned the earlier reply's quote into a tombstone as well.
      return synced.some((m) => m.client_msg_id === late.msg_id) && (synced.find((m) => m.client_msg_id === reply.msg_id)?.reply_to as Frame | undefined)?.recalled === true;
    }, 'the replies persisted and synced', WAIT);
    const tombstone = { ...quote, excerpt: '', recalled: true };
    expect(synced.find((m) => m.client_msg_id === reply.msg_id)?.reply_to).toEqual(tombstone);
    expect(synced.find((m) => m.client_msg_id === late.msg_id)?.reply_to).toMatchObject({ excerpt: '', recalled: true });
    const stored = (await history(p, alice.token, conversation)).find((m) => m.client_msg_id === reply.msg_id);
    expect(stored?.reply_to).toEqual(tombstone);
    for (const c of [a1, a2, b4]) c.close();
  }, 120_000);

  it('a forward from a group into a direct conversation keeps its original sender; only a participant may forward, only the original text', async () => {
    const p = platform();
    const { members: [mia, max], groupId, conversation: group } = await newGroup(p, 'owner', ['mia', 'max']);
    const zoe = await p.user('zoe');
    await befriend(p, max, zoe);
    const [m1, x1, z1] = [await mia.connect(), await max.connect(), await zoe.connect()];
    const plan = sendMsg(groupId, 'the plan: ship friday', 'group');
    const planAck = await answer(m1, plan);
    const planSeq = Number(planAck.sequence_number);
    await got(x1, plan.msg_id);

    const fwd = { ...sendMsg(zoe.id, 'the plan: ship friday'), forward_of: { conversation_id: group, seq: planSeq } };
    const fwdAck = await answer(x1, fwd);
    expect(fwdAck).toMatchObject({ type: 'ack', conversation_id: directConversationId(max.id, zoe.id) });
    const direct = String(fwdAck.conversation_id);
    const attribution = { conversation_id: group, seq: planSeq, msg_id: planAck.server_msg_id, sender: mia.id, content_type: 'text', timestamp: planAck.timestamp };
    const atZoe = await got(z1, fwd.msg_id);
    expect(atZoe).toMatchObject({ sender: max.id, content: 'the plan: ship friday', conversation_id: direct });
    expect(atZoe.forwarded_from).toEqual(attribution);

    expect(await answer(x1, { ...sendMsg(zoe.id, 'the plan: ship monday'), forward_of: { conversation_id: group, seq: planSeq } })).toMatchObject({ type: 'error', error_code: 'FORWARD_MISMATCH' });
    expect(await answer(z1, { ...sendMsg(max.id, 'the plan: ship friday'), forward_of: { conversation_id: group, seq: planSeq } })).toMatchObject({ type: 'error', error_code: 'FORWARD_NOT_VISIBLE' });
    expect(await answer(x1, { ...sendMsg(mia.id, 'the plan: ship friday'), forward_of: { conversation_id: group, seq: planSeq } })).toMatchObject({ type: 'error', error_code: 'NOT_FRIENDS' });

    // Zoe's other device, away until now, syncs it; history keeps the attribution.
    const z2 = await zoe.connect('tablet');
    await eventually(async () => {
      z2.send({ type: 'sync', msg_id: `sync-${Date.now()}`, conversation_id: direct, after_seq: 0 });
      const page = await z2.next((f) => f.type === 'sync_result' && f.conversation_id === direct, WAIT);
      const m = (page.messages as Frame[]).find((x) => x.client_msg_id === fwd.msg_id);
      return JSON.stringify(m?.forwarded_from) === JSON.stringify(attribution);
    }, 'the forward synced with its attribution', WAIT);
    await eventually(async () => JSON.stringify((await history(p, zoe.token, direct)).find((m) => m.client_msg_id === fwd.msg_id)?.forwarded_from) === JSON.stringify(attribution), 'the forward in history', WAIT);
    for (const c of [m1, x1, z1, z2]) c.close();
  }, 120_000);
});
