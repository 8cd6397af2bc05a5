import { describe, expect, it } from 'vitest';
import { applyReaction, DEFAULT_CHANGE_LIMITS, isEmoji, type ChangeLimits } from '../../domain/message-changes.js';
import type { TestDriverOptions } from '../../streams/testing.js';
import { startSendPath } from './send-path.testing.js';
import { frames, origin } from './testing.js';
import { ingressKey } from '../../edge/gateway/ingress-key.js';
import type { ClientFrame } from '../../protocol/frames.js';
import type { IngressFrame } from '../../schemas/types.generated.js';

/**
 * Recall, edit, reactions and delete for me on the send path (router → message logic →
 * stamper) on the test driver: who may, the windows by the driver's clock, the reaction bounds,
 * and the events each accepted change becomes.
 */
const limits: ChangeLimits = { recallWindowMs: 60_000, editWindowMs: 120_000, maxReactionEmoji: 3, maxReactionsPerMessage: 4, maxReactionsPerUser: 2 };
const start = (stateLimits?: TestDriverOptions['stateLimits']) => startSendPath(limits, stateLimits);

describe('message changes on the send path', () => {
  it('recall: the sender within the window, owners and admins any time; the event has its own seq and names the target', async () => {
    const { driver, send, code, events } = await start();
    const d = 'd:amy:bo';
    const first = await send('amy', 'bo', 'one');
    const second = await send('amy', 'bo', 'two');
    expect(await code('bo', { type: 'recall_msg', conversation_id: d, seq: first.seq })).toBe('NOT_MESSAGE_SENDER');
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: 99 })).toBe('MESSAGE_NOT_FOUND');
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: first.seq, message_id: 'not-its-id' })).toBe('MESSAGE_NOT_FOUND');
    expect(await code('amy', { type: 'recall_msg', conversation_id: 'd:bo:cy', seq: 1 })).toBe('FORBIDDEN');
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: first.seq, message_id: first.id })).toBe('ack');
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: first.seq })).toBe('MESSAGE_RECALLED');
    driver.advanceTime(60_001);
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: second.seq })).toBe('RECALL_WINDOW_PASSED');

    const [recall] = events();
    expect(recall).toMatchObject({ conversationId: d, seq: 3, sender: 'amy', contentType: 'system/recalled', action: { kind: 'RECALL', targetSeq: first.seq, targetMessageId: first.id, targetSender: 'amy' } });
    expect(JSON.parse(recall!.content)).toEqual({ event: 'recalled', actor: 'amy', conversation_id: d, target_seq: first.seq, target_msg_id: first.id, sender: 'amy' });
    // Refused changes cost no seq: the next message follows the recall directly.
    expect((await send('bo', 'amy', 'three')).seq).toBe(4);

    const g = 'g:team';
    const old = await send('bo', 'team', 'in the group', true);
    driver.advanceTime(10 * 60_000);
    expect(await code('amy', { type: 'recall_msg', conversation_id: g, seq: old.seq })).toBe('NOT_MESSAGE_SENDER');
    expect(await code('bo', { type: 'recall_msg', conversation_id: g, seq: old.seq })).toBe('RECALL_WINDOW_PASSED');
    expect(await code('zed', { type: 'recall_msg', conversation_id: g, seq: old.seq })).toBe('NOT_A_MEMBER');
    expect(await code('adm', { type: 'recall_msg', conversation_id: g, seq: old.seq })).toBe('ack');
    expect(events().at(-1)).toMatchObject({ conversationId: g, sender: 'adm', action: { kind: 'RECALL', privileged: true, targetSender: 'bo' } });
    // The owner recalls their own message like anyone else.
    const owners = await send('own', 'team', 'owner speaks', true);
    expect(await code('own', { type: 'recall_msg', conversation_id: g, seq: owners.seq })).toBe('ack');
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('edit: the sender, text only, within the window; each edit a version; the content filter applies', async () => {
    const { driver, send, code, events } = await start();
    const d = 'd:amy:bo';
    const m = await send('amy', 'bo', 'helo');
    expect(await code('bo', { type: 'edit_msg', conversation_id: d, seq: m.seq, content: 'mine now' })).toBe('NOT_MESSAGE_SENDER');
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: m.seq, content: '' })).toBe('MALFORMED_FRAME');
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: m.seq, content: 'darn it' })).toBe('CONTENT_REJECTED');
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: m.seq, content: 'hello' })).toBe('ack');
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: m.seq, content: 'hello!' })).toBe('ack');
    const edits = events();
    expect(edits.map((e) => [e.action!.version, JSON.parse(e.content).content])).toEqual([[1, 'hello'], [2, 'hello!']]);
    expect(JSON.parse(edits[1]!.content)).toMatchObject({ event: 'edited', actor: 'amy', target_seq: m.seq, version: 2, edited_at: edits[1]!.stampedAt });
    driver.advanceTime(120_001);
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: m.seq, content: 'too late' })).toBe('EDIT_WINDOW_PASSED');
    // A recalled message cannot be edited; an event cannot be edited either (not a user message).
    const r = await send('amy', 'bo', 'to recall');
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: r.seq })).toBe('ack');
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: r.seq, content: 'x' })).toBe('MESSAGE_RECALLED');
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: r.seq + 1, content: 'x' })).toBe('MESSAGE_NOT_FOUND');
    // A block stops edits and reactions, not recalls (which then find no such message here).
    const blocked = 'd:amy:cy';
    expect(await code('amy', { type: 'edit_msg', conversation_id: blocked, seq: 1, content: 'x' })).toBe('BLOCKED');
    expect(await code('amy', { type: 'recall_msg', conversation_id: blocked, seq: 1 })).toBe('MESSAGE_NOT_FOUND');
  });

  it('reactions: any participant, bounded per user and per message, counts in the event; unknown emoji refused', async () => {
    const { send, code, events } = await start();
    const g = 'g:team';
    const m = await send('amy', 'team', 'vote', true);
    const react = (u: string, emoji: string, remove = false) => code(u, { type: 'react', conversation_id: g, seq: m.seq, emoji, ...(remove ? { remove } : {}) });
    expect(await react('bo', 'hello')).toBe('INVALID_EMOJI');
    expect(await react('bo', '👍 ')).toBe('INVALID_EMOJI');
    expect(await react('zed', '👍')).toBe('NOT_A_MEMBER');
    expect(await react('mu', '👍')).toBe('MUTED');
    expect(await react('bo', '👍')).toBe('ack');
    expect(await react('bo', '👍')).toBe('ack'); // twice: no change
    expect(await react('amy', '👍')).toBe('ack');
    expect(await react('bo', '🎉')).toBe('ack');
    expect(await react('bo', '❤️')).toBe('REACTION_LIMIT'); // two per user
    expect(await react('adm', '🇫🇷')).toBe('ack');
    expect(await react('own', '😂')).toBe('REACTION_LIMIT'); // four per message
    expect(await react('bo', '🎉', true)).toBe('ack');
    expect(await react('own', '😂')).toBe('ack');
    const last = events().at(-1)!;
    expect(last.action!.reactions).toEqual([{ emoji: '👍', users: ['bo', 'amy'] }, { emoji: '🇫🇷', users: ['adm'] }, { emoji: '😂', users: ['own'] }]);
    expect(JSON.parse(last.content)).toMatchObject({ event: 'reaction', actor: 'own', emoji: '😂', added: true, reactions: [{ emoji: '👍', count: 2, users: ['bo', 'amy'] }, { emoji: '🇫🇷', count: 1 }, { emoji: '😂', count: 1 }] });
    expect(await react('adm', '🎉')).toBe('REACTION_LIMIT'); // four per message again
  });

  it('delete for me is stamped in the user\'s own conversation; a retried change is applied once; a redelivery re-emits the same event', async () => {
    const { driver, send, frame, events } = await start();
    const m = await send('amy', 'bo', 'private');
    const hidden = await frame('bo', { type: 'delete_for_me', conversation_id: 'd:amy:bo', seq: m.seq });
    expect(hidden).toMatchObject({ type: 'ack', sequence_number: 1 });
    expect(events().at(-1)).toMatchObject({ conversationId: 'd:bo:bo', sender: 'bo', contentType: 'system/deleted_for_me', action: { kind: 'DELETE_FOR_ME', targetConversationId: 'd:amy:bo', targetSeq: m.seq } });

    const edit = { correlationId: 'retry', userId: 'amy', origin: origin('conn-amy'), receivedAt: driver.clock.now(), frameType: 'edit_msg', payload: JSON.stringify({ type: 'edit_msg', msg_id: 'edit-once', conversation_id: 'd:amy:bo', seq: m.seq, content: 'v1' }) };
    // Keyed by conversation as the gateway keys it: the whole path is one task, so a redelivery
    // brings the stamper the record at the same position.
    await driver.pipe('im.ingress', [{ key: 'd:amy:bo', value: edit }, { key: 'd:amy:bo', value: edit }]);
    const stamped = events().filter((e) => e.clientMsgId === 'edit-once');
    expect(stamped).toHaveLength(1);
    // Every ingress record again at the same positions, as after a crash before the commit: the
    // edit is re-emitted as it was stamped, not judged again (its target is at version 1 now).
    driver.advanceTime(1_000);
    await driver.redeliver('im.ingress');
    const again = events().filter((e) => e.clientMsgId === 'edit-once');
    expect(again).toHaveLength(2);
    expect(again[1]).toEqual(stamped[0]);
  });

  it('the message index holds its newest entries only: an older target is MESSAGE_NOT_FOUND, a retry past the dedup bound is a new message', async () => {
    const { driver, send, code } = await start({ 'im.state.messages': { maxEntries: 3 }, 'im.state.dedup': { maxEntries: 3 } });
    const d = 'd:amy:bo';
    const sent = [];
    for (const text of ['one', 'two', 'three', 'four']) sent.push(await send('amy', 'bo', text));
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: sent[0]!.seq })).toBe('MESSAGE_NOT_FOUND');
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: sent[3]!.seq })).toBe('ack');
    // msg_id amy-1 was the first send: four sends and a recall later its dedup entry is gone.
    const payload = { type: 'send_msg', msg_id: 'amy-1', recipient: 'bo', recipient_type: 'user', content: 'one', timestamp: 1 };
    const retry: IngressFrame = { correlationId: 'late-retry', userId: 'amy', origin: origin('conn-amy'), receivedAt: driver.clock.now(), frameType: 'send_msg', payload: JSON.stringify(payload) };
    await driver.pipe('im.ingress', [{ key: ingressKey('amy', payload as unknown as ClientFrame), value: retry }]);
    const acks = frames(driver.read('im.push.online')).map((f) => f.frame).filter((f) => f.msg_id === 'amy-1');
    expect(acks).toHaveLength(2);
    expect(acks[1]).toMatchObject({ type: 'ack', sequence_number: 6 });
    expect(acks[1]!.server_msg_id).not.toBe(sent[0]!.id);
  });
});

describe('message change rules', () => {
  it('knows an emoji from text', () => {
    for (const e of ['👍', '❤️', '🇫🇷', '👩🏽‍💻', '1️⃣', '🎉']) expect(isEmoji(e), e).toBe(true);
    for (const t of ['', 'a', ':)', '👍👍👍👍👍👍👍👍👍', '1', 'ok👍', '<script>']) expect(isEmoji(t), t).toBe(false);
  });

  it('reactions: adding twice or removing what is absent changes nothing', () => {
    const one = applyReaction([], 'a', '👍', true, DEFAULT_CHANGE_LIMITS)!;
    expect(applyReaction(one, 'a', '👍', true, DEFAULT_CHANGE_LIMITS)).toEqual(one);
    expect(applyReaction(one, 'b', '👍', false, DEFAULT_CHANGE_LIMITS)).toEqual(one);
    expect(applyReaction(one, 'a', '👍', false, DEFAULT_CHANGE_LIMITS)).toEqual([]);
  });
});
