import { counter } from '../../core/metrics.js';
import type { AckOutFrame } from '../../protocol/frames.js';
import type { CheckedMessage, StampedMessage } from '../../schemas/types.generated.js';
import type { Emit, ProcessorBuilder } from '../../streams/index.js';
import { newMessageId } from './message-id.js';
import { deadLetterReply, replyTo } from '../replies.js';
import { changeBody, DEFAULT_CHANGE_LIMITS, indexKey, judgeChange, type ChangeLimits } from '../../domain/message-changes.js';
import { errorFrame } from '../../protocol/server-frames.js';

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
 * content and action carry the target's resulting state; refused, it costs no seq.
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
    p.stream('im.msg.checked').process(['im.msg.stamped', 'im.push.online'], async (r, ctx) => {
      const m = r.value;
      const seqs = ctx.store(sequences);
      const seen = ctx.store(dedup);
      const dedupKey = `${m.sender}|${m.clientMsgId}`;
      const position = `${ctx.source.topic}/${ctx.source.partition}/${ctx.source.offset}`;
      const prior = seen.get(dedupKey);

      if (prior && prior.source === position) {
        stamped.inc({ outcome: 'redelivered' });
        const change = prior.changeAction ? { content: prior.changeContent ?? '', action: prior.changeAction } : {};
        return emitWithAck({ ...m, ...change, messageId: prior.messageId, seq: prior.seq, stampedAt: prior.stampedAt }, p.clock.now());
      }
      if (prior) {
        stamped.inc({ outcome: 'duplicate' });
        return ackOf(m, prior, p.clock.now());
      }

      const stampedAt = p.clock.now();
      const messages = ctx.store(index);
      let record: CheckedMessage = m;
      if (m.action) {
        const a = m.action;
        const key = indexKey(a.targetConversationId, a.targetSeq);
        const verdict = judgeChange(m.sender, a, messages.get(key), m.receivedAt, limits);
        if (!verdict.ok) {
          stamped.inc({ outcome: verdict.code });
          return m.origin ? [replyTo(m.origin, m.sender, errorFrame(verdict.code, stampedAt, m.clientMsgId), m.correlationId, stampedAt)] : [];
        }
        if (verdict.target) messages.put(key, verdict.target);
        record = { ...m, content: changeBody(m.sender, verdict.action, m.content, stampedAt), action: verdict.action };
      }
      const seq = (seqs.get(m.conversationId)?.seq ?? 0) + 1;
      const messageId = makeId(stampedAt);
      seqs.put(m.conversationId, { conversationId: m.conversationId, seq, updatedAt: stampedAt });
      const change = record.action ? { changeContent: record.content, changeAction: record.action } : {};
      seen.put(dedupKey, { messageId, conversationId: m.conversationId, seq, stampedAt, source: position, ...change });
      // Users' messages are what a change can target; the server's notices are not.
      if (m.origin && !m.action) messages.put(indexKey(m.conversationId, seq), { conversationId: m.conversationId, seq, messageId, sender: m.sender, stampedAt, contentType: m.contentType, recalled: false, version: 0, reactions: [] });
      stamped.inc({ outcome: 'stamped' });
      return emitWithAck({ ...record, messageId, seq, stampedAt }, stampedAt);
    }, 'stamp');
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
