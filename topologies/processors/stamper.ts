import { counter } from '../../core/metrics.js';
import type { AckOutFrame } from '../../protocol/frames.js';
import type { CheckedMessage, StampedMessage } from '../../schemas/types.generated.js';
import type { Emit, ProcessContext, ProcessorBuilder, Rec } from '../../streams/index.js';
import { newMessageId } from './message-id.js';
import { deadLetterReply, replyTo } from '../replies.js';
import { changeBody, DEFAULT_CHANGE_LIMITS, indexKey, judgeChange, type ChangeLimits } from '../../domain/message-changes.js';
import { errorFrame } from '../../protocol/server-frames.js';
import { forwardPending, indexedContent, resolveForward, resolveReply } from '../../domain/message-references.js';
import type { ErrorCode } from '../../protocol/codes.js';

/**
 * Stamping: a time-ordered server message id and the conversation's next sequence number.
 * Input is keyed by conversation, so one conversation is stamped by one instance, one record
 * at a time: seq is last + 1, strictly increasing and gap-free. The runtime writes both
 * changelogs before the stamped record, so a crash never hands out a seq twice.
 *
 * The sender's ack is emitted here, beside the stamped record (see `emitWithAck`).
 *
 * Idempotent on (sender, client msg_id): the dedup entry remembers where its record was read.
 * - the same position again is a redelivery after a crash: the same stamped record is emitted
 *   again (same id, same seq); consumers de-duplicate by message id;
 * - another position is the client retrying: only an `ack` goes back, nothing is delivered twice.
 *
 * A change to a message (recall, edit, reaction; domain/message-changes.ts) is judged against
 * its target in `im.state.messages` and, accepted, stamped as an event with its own seq whose
 * content and action carry the target's resulting state; refused, it costs no seq. The media
 * processor's MEDIA_READY changes come on a topic of their own (im.msg.media-ready) and are
 * judged and stamped the same way.
 *
 * A reply's quote and a forward's original are resolved against the same store
 * (domain/message-references.ts): a forward reaches this stamper first keyed by its original's
 * conversation and is sent on, checked and attributed, keyed by its own.
 */
export interface StamperDeps {
  newMessageId?: (now: number) => string;
}
/** The windows and bounds of recall, edit and reactions (IM_RECALL_WINDOW_MS and others; domain/message-changes.ts). */
export type StamperConfig = Partial<ChangeLimits>;

const stamped = counter('im_stamper_records_total', 'Checked messages by stamping outcome', ['outcome']);

export function stamperProcessor(deps: StamperDeps = {}, config: StamperConfig = {}): (p: ProcessorBuilder) => void {
  const makeId = deps.newMessageId ?? newMessageId;
  const limits: ChangeLimits = { ...DEFAULT_CHANGE_LIMITS, ...config };

  return (p) => {
    const sequences = p.store('im.state.sequences');
    const dedup = p.store('im.state.dedup');
    // Every user message stamped and what was done to it since: a change is judged here, where
    // the conversation's records pass one at a time in order, so it always sees its target.
    const index = p.store('im.state.messages');
    p.answerDeadLetters('im.msg.checked', ['im.push.online'], (r, code) => deadLetterReply(r.value.origin, r.value.sender, r.value.clientMsgId, r.value.correlationId, code, p.clock.now()));
    const stamp = async (r: Rec<CheckedMessage>, ctx: ProcessContext): Promise<Emit[]> => {
      const m = r.value;
      const seqs = ctx.store(sequences);
      const seen = ctx.store(dedup);
      const dedupKey = `${m.sender}|${m.clientMsgId}`;
      const position = `${ctx.source.topic}/${ctx.source.partition}/${ctx.source.offset}`;
      const prior = seen.get(dedupKey);

      if (prior && prior.source === position) {
        stamped.inc({ outcome: 'redelivered' });
        const change = prior.changeAction ? { content: prior.changeContent ?? '', action: prior.changeAction } : {};
        const reply = prior.replyTo ? { replyTo: prior.replyTo } : {};
        if (!forwardPending(m)) return emitWithAck({ ...m, ...change, ...reply, messageId: prior.messageId, seq: prior.seq, stampedAt: prior.stampedAt }, p.clock.now());
      } else if (prior) {
        stamped.inc({ outcome: 'duplicate' });
        return ackOf(m, prior, p.clock.now());
      }

      const stampedAt = p.clock.now();
      const messages = ctx.store(index);
      const refuse = (code: ErrorCode): Emit[] => {
        stamped.inc({ outcome: code });
        return m.origin ? [replyTo(m.origin, m.sender, errorFrame(code, stampedAt, m.clientMsgId), m.correlationId, stampedAt)] : [];
      };
      if (forwardPending(m)) {
        // Here, in the original's conversation: checked, attributed, and sent on to its own.
        const ref = m.forwardOf!;
        const original = resolveForward(ref, m.content, m.contentType, messages.get(indexKey(ref.conversationId, ref.seq)));
        if (!original.ok) return refuse(original.code);
        stamped.inc({ outcome: 'forwarded' });
        return [{ topic: 'im.msg.checked', key: m.conversationId, value: { ...m, forwardOf: original.ref } }];
      }
      let record: CheckedMessage = m;
      if (m.replyTo) {
        const quoted = resolveReply(m.replyTo, messages.get(indexKey(m.conversationId, m.replyTo.seq)));
        if (!quoted.ok) return refuse(quoted.code);
        record = { ...m, replyTo: quoted.ref };
      }
      if (m.action) {
        const a = m.action;
        const key = indexKey(a.targetConversationId, a.targetSeq);
        const verdict = judgeChange(m.sender, a, messages.get(key), m.receivedAt, limits);
        if (!verdict.ok) return refuse(verdict.code);
        // An edit's text is what later replies quote and forwards copy.
        if (verdict.target) messages.put(key, a.kind === 'EDIT' ? { ...verdict.target, ...indexedContent(m.content, verdict.target.contentType) } : verdict.target);
        record = { ...m, content: changeBody(m.sender, verdict.action, m.content, stampedAt), action: verdict.action };
      }
      const seq = (seqs.get(m.conversationId)?.seq ?? 0) + 1;
      const messageId = makeId(stampedAt);
      seqs.put(m.conversationId, { conversationId: m.conversationId, seq, updatedAt: stampedAt });
      const change = record.action ? { changeContent: record.content, changeAction: record.action } : {};
      const reply = record.replyTo ? { replyTo: record.replyTo } : {};
      seen.put(dedupKey, { messageId, conversationId: m.conversationId, seq, stampedAt, source: position, ...change, ...reply });
      // Users' messages are what a change can target; the server's notices are not.
      if (m.origin && !m.action) messages.put(indexKey(m.conversationId, seq), { conversationId: m.conversationId, seq, messageId, sender: m.sender, stampedAt, contentType: m.contentType, recalled: false, version: 0, reactions: [], ...indexedContent(m.content, m.contentType), ...(m.forwardOf ? { forwardOf: m.forwardOf } : {}) });
      stamped.inc({ outcome: 'stamped' });
      return emitWithAck({ ...record, messageId, seq, stampedAt }, stampedAt);
    };
    p.stream('im.msg.checked').process(['im.msg.stamped', 'im.push.online', 'im.msg.checked'], stamp, 'stamp');
    // The media processor's MEDIA_READY changes, judged and stamped as any change (a topic of their own: see topics.json).
    p.stream('im.msg.media-ready').process(['im.msg.stamped'], stamp, 'stamp-media-ready');
  };
}

/**
 * The stamped record and the sender's ack. The runtime hands the ack to the gateway only once
 * the stamped record is acknowledged by the log (an effect after produce, see the plan), so
 * an ack always means "durable", one hop after the gateway.
 */
function emitWithAck(value: StampedMessage, now: number): Emit[] {
  return [{ topic: 'im.msg.stamped', key: value.conversationId, value }, ...ackOf(value, value, now)];
}

function ackOf(m: CheckedMessage, s: Pick<StampedMessage, 'messageId' | 'conversationId' | 'seq' | 'stampedAt'>, now: number): Emit[] {
  if (!m.origin) return [];
  const ack: AckOutFrame = { type: 'ack', msg_id: m.clientMsgId, server_msg_id: s.messageId, conversation_id: s.conversationId, sequence_number: s.seq, timestamp: s.stampedAt };
  return [replyTo(m.origin, m.sender, ack, m.correlationId, now)];
}
