import type { ErrorCode } from '../protocol/codes.js';
import type { ServerFrame } from '../protocol/frames.js';
import { errorFrame } from '../protocol/server-frames.js';
import type { Origin } from '../schemas/types.generated.js';
import type { Emit } from '../streams/index.js';

/**
 * Frames back to one connection (acks, errors, sync results) travel the same path as
 * deliveries: an `im.push.online` record keyed by the connection (gateway and connection id).
 * The key is what the pushes are kept in order by: one connection's answers in order, other
 * connections' not waiting behind them. Every processor that answers a client answers through here.
 */
export function replyTo(origin: Origin, userId: string, frame: ServerFrame, correlationId: string, createdAt: number, messageId: string | null = null): Emit<'im.push.online'> {
  return {
    topic: 'im.push.online',
    key: `${origin.gatewayId}|${origin.connectionId}`,
    value: {
      gatewayId: origin.gatewayId,
      correlationId,
      createdAt,
      deliveries: [{ userId, connectionId: origin.connectionId, messageId, frame: JSON.stringify(frame) }],
    },
  };
}

/**
 * The answer to a client whose frame (or the command made of it) was dead-lettered: an error
 * frame with its msg_id, so no frame goes unanswered. A value the records cannot hold
 * (SERIALIZE_FAILED) is the frame's fault; a dependency that stayed away through every retry
 * (a code `*_UNAVAILABLE`, e.g. the object store's) is worth a retry later; anything else the server's.
 */
export function deadLetterReply(origin: Origin | null, userId: string, msgId: string | null | undefined, correlationId: string, errorCode: string, at: number): Emit<'im.push.online'>[] {
  if (!origin) return [];
  const code: ErrorCode = errorCode === 'SERIALIZE_FAILED' ? 'MALFORMED_FRAME' : errorCode.endsWith('_UNAVAILABLE') ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR';
  return [replyTo(origin, userId, errorFrame(code, at, msgId ?? undefined), correlationId, at)];
}
