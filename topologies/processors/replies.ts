import type { ErrorCode } from '../../edge/protocol/codes.js';
import { ErrorCodes } from '../../edge/protocol/codes.js';
import type { ErrorFrame, MessageFrame, ServerFrame } from '../../edge/protocol/frames.js';
import type { Origin, StampedMessage } from '../../schemas/types.generated.js';
import type { Emit } from '../../streams/index.js';

/**
 * Frames back to one connection (acks, errors, sync results) travel the same path as
 * deliveries: an `im.push.online` record keyed by the connection's gateway.
 */
export function replyTo(origin: Origin, userId: string, frame: ServerFrame, correlationId: string, createdAt: number, messageId: string | null = null): Emit<'im.push.online'> {
  return {
    topic: 'im.push.online',
    key: origin.gatewayId,
    value: {
      gatewayId: origin.gatewayId,
      correlationId,
      createdAt,
      deliveries: [{ userId, connectionId: origin.connectionId, messageId, frame: JSON.stringify(frame) }],
    },
  };
}

export function errorFrame(code: ErrorCode, timestamp: number, msgId?: string, detail?: string): ErrorFrame {
  return { type: 'error', error_code: code, error_message: detail ?? ErrorCodes[code], timestamp, ...(msgId ? { msg_id: msgId } : {}) };
}

/**
 * The answer to a client whose frame (or the command made of it) was dead-lettered: an error
 * frame with its msg_id, so no frame goes unanswered. A value the records cannot hold
 * (SERIALIZE_FAILED) is the frame's fault, anything else the server's.
 */
export function deadLetterReply(origin: Origin | null, userId: string, msgId: string | null | undefined, correlationId: string, errorCode: string, at: number): Emit<'im.push.online'>[] {
  if (!origin) return [];
  const code: ErrorCode = errorCode === 'SERIALIZE_FAILED' ? 'MALFORMED_FRAME' : 'INTERNAL_ERROR';
  return [replyTo(origin, userId, errorFrame(code, at, msgId ?? undefined), correlationId, at)];
}

/** The `message` frame a recipient gets for a stamped message. */
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
  };
}

export { directConversationId, groupConversationId, userPairKey } from '../../edge/protocol/conversations.js';
