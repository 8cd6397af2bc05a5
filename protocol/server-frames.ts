import type { StampedMessage } from '../schemas/types.generated.js';
import { ErrorCodes, type ErrorCode } from './codes.js';
import type { ErrorFrame, MessageFrame, MessageReference } from './frames.js';

/**
 * The `error` frame, built the same way by the gateway and by the processors. `msgId` is the
 * client frame's own, echoed whenever it carried a string one (docs/protocol.md); the message
 * defaults to the code's description.
 */
export function errorFrame(code: ErrorCode, timestamp: number, msgId?: string, detail?: string): ErrorFrame {
  return { type: 'error', error_code: code, error_message: detail ?? ErrorCodes[code], timestamp, ...(msgId !== undefined ? { msg_id: msgId } : {}) };
}

/** The `message` frame a recipient gets for a stamped message (pushed, synced or read from history). */
export function messageFrame(m: StampedMessage): MessageFrame {
  const direct = m.recipientKind === 'USER';
  return {
    type: 'message',
    msg_id: m.messageId,
    client_msg_id: m.clientMsgId,
    conversation_id: m.conversationId,
    sender: m.sender,
    recipient: m.recipientId,
    recipient_type: direct ? 'user' : 'group',
    content: m.content,
    content_type: m.contentType,
    mentions: m.mentions,
    timestamp: m.stampedAt,
    sequence_number: m.seq,
    ...(m.replyTo ? { reply_to: referenceFrame(m.replyTo) } : {}),
    ...(m.forwardOf ? { forwarded_from: referenceFrame(m.forwardOf) } : {}),
  };
}

function referenceFrame(ref: NonNullable<StampedMessage['replyTo']>): MessageReference {
  return {
    conversation_id: ref.conversationId,
    seq: ref.seq,
    msg_id: ref.messageId,
    sender: ref.sender,
    content_type: ref.contentType,
    ...(ref.excerpt !== null ? { excerpt: ref.excerpt } : {}),
    ...(ref.recalled ? { recalled: true } : {}),
    ...(ref.stampedAt > 0 ? { timestamp: ref.stampedAt } : {}),
  };
}
