import { expect, it } from 'vitest';
import type { Frame, TestClient } from '../edge/gateway/testing.js';
import { answer, befriend, onEachEngine, sendMsg, type Platform, type User } from './harness.js';

/**
 * Conversation settings end to end on both engines (issue 11, item 8): a change from one device
 * reaches the user's other device live, a device that was offline finds it in the conversation
 * list, a read clears "marked unread" everywhere, and a non-participant is refused.
 */
const WAIT = 20_000;
let n = 0;

/** Sends a settings change and waits for its answer: the settings frame or the error with its msg_id. */
async function change(c: TestClient, conversation: string, settings: Record<string, unknown>): Promise<Frame> {
  const msgId = `set-${Date.now()}-${n++}`;
  c.send({ type: 'conversation_settings', msg_id: msgId, conversation_id: conversation, ...settings });
  return c.next((f) => (f.type === 'conversation_settings' || f.type === 'error') && f.msg_id === msgId, WAIT);
}

async function listed(p: Platform, u: User, conversation: string): Promise<Record<string, unknown> | undefined> {
  const res = await p.http<{ conversations: { conversation_id: string; settings: Record<string, unknown> }[] }>('GET', '/v1/conversations', { token: u.token });
  return res.body.conversations.find((c) => c.conversation_id === conversation)?.settings;
}

onEachEngine('conversation settings end to end', (platform) => {
  it('muted, pinned and archived on one device: live on the second, in the list for one that was offline; a stranger refused', async () => {
    // A direct conversation: group commands are covered by the groups suites, and the
    // membership refusal (NOT_A_MEMBER) on the test driver (conversation-settings.test.ts).
    const p = platform();
    const [mia, max, eve] = [await p.user('mia'), await p.user('max'), await p.user('eve')];
    await befriend(p, mia, max);
    const [m1, phone, tablet] = [await max.connect(), await mia.connect('phone'), await mia.connect('tablet')];
    const hello = sendMsg(mia.id, 'hello mia');
    const ack = await answer(m1, hello);
    const conversation = String(ack.conversation_id);
    await phone.next((f) => f.type === 'message' && f.client_msg_id === hello.msg_id, WAIT);
    expect(await listed(p, mia, conversation)).toEqual({ muted: 'none', pinned: false, archived: false, marked_unread: false, updated_at: 0 });

    const done = await change(phone, conversation, { muted: 'mentions', pinned: true, archived: true });
    expect(done).toMatchObject({ type: 'conversation_settings', conversation_id: conversation, muted: 'mentions', pinned: true, archived: true, marked_unread: false });
    const live = await tablet.next((f) => f.type === 'conversation_settings' && f.conversation_id === conversation, WAIT);
    expect(live).toMatchObject({ muted: 'mentions', pinned: true, archived: true });
    expect(live.msg_id).toBeUndefined();

    // The tablet goes offline; the phone changes mute again; back, the list has it.
    tablet.close();
    await tablet.waitClosed();
    expect(await change(phone, conversation, { muted: 'all', archived: false })).toMatchObject({ muted: 'all', pinned: true, archived: false });
    const back = await mia.connect('tablet');
    expect(await listed(p, mia, conversation)).toMatchObject({ muted: 'all', pinned: true, archived: false, marked_unread: false });
    // The other participant's own settings are untouched.
    expect(await listed(p, max, conversation)).toMatchObject({ muted: 'none', pinned: false });

    const e1 = await eve.connect();
    expect(await change(e1, conversation, { pinned: true })).toMatchObject({ type: 'error', error_code: 'FORBIDDEN' });
    expect(await change(e1, conversation, { muted: 'loud' })).toMatchObject({ type: 'error', error_code: 'MALFORMED_FRAME' });
    for (const c of [m1, phone, back, e1]) c.close();
  }, 120_000);

  it('marked unread on one device shows on the other; reading the conversation clears it on both and in the list', async () => {
    const p = platform();
    const [ann, ben] = [await p.user('ann'), await p.user('ben')];
    await befriend(p, ann, ben);
    const [phone, laptop, b1] = [await ann.connect('phone'), await ann.connect('laptop'), await ben.connect()];
    const hi = sendMsg(ann.id, 'hi ann');
    const ack = await answer(b1, hi);
    const conversation = String(ack.conversation_id);
    await phone.next((f) => f.type === 'message' && f.client_msg_id === hi.msg_id, WAIT);

    expect(await change(phone, conversation, { marked_unread: true })).toMatchObject({ marked_unread: true });
    await laptop.next((f) => f.type === 'conversation_settings' && f.marked_unread === true, WAIT);
    expect(await listed(p, ann, conversation)).toMatchObject({ marked_unread: true });

    laptop.send({ type: 'read', conversation_id: conversation, seq: Number(ack.sequence_number) });
    for (const c of [phone, laptop]) await c.next((f) => f.type === 'conversation_settings' && f.conversation_id === conversation && f.marked_unread === false, WAIT);
    expect(await listed(p, ann, conversation)).toMatchObject({ marked_unread: false });
    for (const c of [phone, laptop, b1]) c.close();
  }, 120_000);
});
