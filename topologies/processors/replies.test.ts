import { describe, expect, it } from 'vitest';
import { EXCERPT_CHARS } from '../../domain/message-references.js';
import { startSendPath } from './send-path.testing.js';

/**
 * Replies and forwards on the send path (router → message logic → stamper) on the test driver:
 * the stamper resolves the quote and the original from its store, a refusal costs no seq, and a
 * forward crosses from its original's conversation to its own.
 */
describe('replies on the send path', () => {
  it('a reply carries the quoted sender, excerpt and id; other conversations and unknown targets are refused', async () => {
    const { driver, send, code, frame } = await startSendPath();
    const d = 'd:amy:bo';
    const hi = await send('amy', 'bo', 'hi bo');
    const reply = (userId: string, recipient: string, content: string, replyTo: Record<string, unknown>, group = false) =>
      frame(userId, { type: 'send_msg', recipient, recipient_type: group ? 'group' : 'user', content, timestamp: 1, reply_to: replyTo });
    const answer = await reply('bo', 'amy', 'hi amy', { seq: hi.seq, message_id: hi.id });
    expect(answer).toMatchObject({ type: 'ack', sequence_number: hi.seq + 1 });
    const stamped = () => driver.read('im.msg.stamped').map((r) => r.value);
    expect(stamped().at(-1)).toMatchObject({ sender: 'bo', content: 'hi amy', replyTo: { conversationId: d, seq: hi.seq, messageId: hi.id, sender: 'amy', excerpt: 'hi bo', contentType: 'text', recalled: false } });

    expect((await reply('bo', 'amy', 'x', { seq: 99 })).error_code).toBe('MESSAGE_NOT_FOUND');
    expect((await reply('bo', 'amy', 'x', { seq: hi.seq, message_id: 'not-its-id' })).error_code).toBe('MESSAGE_NOT_FOUND');
    expect((await reply('bo', 'amy', 'x', { seq: hi.seq, conversation_id: 'g:team' })).error_code).toBe('REPLY_OTHER_CONVERSATION');
    expect((await reply('bo', 'amy', 'x', { seq: 'one' })).error_code).toBe('MALFORMED_FRAME');
    expect(await code('bo', { type: 'send_msg', recipient: 'amy', content: 'x', timestamp: 1, reply_to: { seq: hi.seq }, forward_of: { conversation_id: d, seq: hi.seq } })).toBe('MALFORMED_FRAME');
    // Refusals cost no seq.
    expect((await send('amy', 'bo', 'next')).seq).toBe(hi.seq + 2);

    // The quote is the latest edit, media by its kind, long text cut; a recalled message a tombstone.
    expect(await code('amy', { type: 'edit_msg', conversation_id: d, seq: hi.seq, content: 'hello bo' })).toBe('ack');
    await reply('bo', 'amy', 'edited?', { seq: hi.seq });
    expect(stamped().at(-1)!.replyTo).toMatchObject({ excerpt: 'hello bo' });
    const pic = await frame('amy', { type: 'send_msg', recipient: 'bo', content: 'media-123', content_type: 'image/png', timestamp: 1 });
    await reply('bo', 'amy', 'nice', { seq: pic.sequence_number });
    expect(stamped().at(-1)!.replyTo).toMatchObject({ excerpt: '[image]', contentType: 'image/png' });
    const long = await send('amy', 'bo', 'a'.repeat(100));
    await reply('bo', 'amy', 'tl;dr', { seq: long.seq });
    expect([...stamped().at(-1)!.replyTo!.excerpt!]).toHaveLength(EXCERPT_CHARS);
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: hi.seq })).toBe('ack');
    await reply('bo', 'amy', 'what was it?', { seq: hi.seq });
    expect(stamped().at(-1)!.replyTo).toMatchObject({ sender: 'amy', excerpt: '', recalled: true });

    // In a group, any member replies; a non-member is refused by the join first.
    const g = await send('adm', 'team', 'meeting at 3', true);
    expect((await reply('bo', 'team', 'ok', { seq: g.seq, conversation_id: 'g:team' }, true)).type).toBe('ack');
    expect(stamped().at(-1)!.replyTo).toMatchObject({ conversationId: 'g:team', sender: 'adm', excerpt: 'meeting at 3' });
    expect((await reply('zed', 'team', 'ok', { seq: g.seq }, true)).error_code).toBe('NOT_A_MEMBER');
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('a forward keeps its original sender, needs the original visible, unchanged and not recalled, and the usual right to send', async () => {
    const { driver, send, code, frame } = await startSendPath();
    const news = await send('adm', 'team', 'the news', true);
    const forward = (userId: string, recipient: string, content: string, forwardOf: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      frame(userId, { type: 'send_msg', recipient, content, timestamp: 1, forward_of: forwardOf, ...extra });
    const answer = await forward('amy', 'bo', 'the news', { conversation_id: 'g:team', seq: news.seq, message_id: news.id });
    expect(answer).toMatchObject({ type: 'ack', conversation_id: 'd:amy:bo', sequence_number: 1 });
    const stamped = () => driver.read('im.msg.stamped').map((r) => r.value);
    const fwd = stamped().at(-1)!;
    expect(fwd).toMatchObject({ conversationId: 'd:amy:bo', seq: 1, sender: 'amy', content: 'the news', forwardOf: { conversationId: 'g:team', seq: news.seq, messageId: news.id, sender: 'adm', contentType: 'text', recalled: false } });
    expect(fwd.forwardOf!.stampedAt).toBeGreaterThan(0);
    // The same msg_id again is a retry: acked with the same seq, stamped once.
    const retry = await forward('amy', 'bo', 'the news', { conversation_id: 'g:team', seq: news.seq }, { msg_id: answer.msg_id });
    expect(retry).toMatchObject({ type: 'ack', sequence_number: 1, server_msg_id: fwd.messageId });
    expect(stamped().filter((m) => m.forwardOf)).toHaveLength(1);

    // Refusals: not a participant of the original, another text, gone, recalled, no right to send there.
    expect((await forward('zed', 'amy', 'the news', { conversation_id: 'g:team', seq: news.seq })).error_code).toBe('FORWARD_NOT_VISIBLE');
    expect((await forward('bo', 'amy', 'x', { conversation_id: 'd:amy:cy', seq: 1 })).error_code).toBe('FORWARD_NOT_VISIBLE');
    expect((await forward('amy', 'bo', 'fake news', { conversation_id: 'g:team', seq: news.seq })).error_code).toBe('FORWARD_MISMATCH');
    expect((await forward('amy', 'bo', 'the news', { conversation_id: 'g:team', seq: news.seq }, { content_type: 'text/markdown' })).error_code).toBe('FORWARD_MISMATCH');
    expect((await forward('amy', 'bo', 'the news', { conversation_id: 'g:team', seq: 99 })).error_code).toBe('MESSAGE_NOT_FOUND');
    expect((await forward('amy', 'cy', 'the news', { conversation_id: 'g:team', seq: news.seq })).error_code).toBe('BLOCKED');
    expect((await forward('mu', 'team', 'the news', { conversation_id: 'g:team', seq: news.seq }, { recipient_type: 'group' })).error_code).toBe('MUTED');
    expect((await forward('amy', 'bo', 'the news', { seq: news.seq })).error_code).toBe('MALFORMED_FRAME');
    expect(await code('adm', { type: 'recall_msg', conversation_id: 'g:team', seq: news.seq })).toBe('ack');
    expect((await forward('bo', 'amy', 'the news', { conversation_id: 'g:team', seq: news.seq })).error_code).toBe('MESSAGE_RECALLED');

    // A direct message forwarded into the group; one forwarded message stamped in all.
    const mine = await send('bo', 'amy', 'for the team');
    expect((await forward('bo', 'team', 'for the team', { conversation_id: 'd:amy:bo', seq: mine.seq }, { recipient_type: 'group' })).type).toBe('ack');
    expect(stamped().at(-1)).toMatchObject({ conversationId: 'g:team', sender: 'bo', forwardOf: { conversationId: 'd:amy:bo', sender: 'bo' } });
    // Forwarded on from the group, it is still bo's: the first original's attribution.
    const copy = stamped().at(-1)!;
    expect((await forward('amy', 'team', 'for the team', { conversation_id: 'g:team', seq: copy.seq }, { recipient_type: 'group' })).type).toBe('ack');
    expect(stamped().at(-1)!.forwardOf).toEqual(copy.forwardOf);
    expect(stamped().filter((m) => m.forwardOf)).toHaveLength(3);
    expect(driver.read('im.dlq')).toEqual([]);
  });
});
