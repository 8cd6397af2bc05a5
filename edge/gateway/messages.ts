import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { ingressKey } from './ingress-key.js';
import { GATEWAY_LOCAL_FRAMES, type HeartbeatOutFrame, type TokenRefreshedFrame } from '../../protocol/frames.js';
import type { PeopleHooks } from '../presence/people.js';
import type { AckTracker } from './acks.js';
import type { DeliveredReceipts } from './delivered.js';
import { sendError, writeFrame, type Conn, type Connections } from './connections.js';
import type { Upstream } from './ingress.js';
import { gatewayMetrics as m } from './metrics.js';
import { parseClientFrame } from './validate.js';

export interface MessageContext {
  gatewayId: string;
  conns: Connections;
  acks: AckTracker;
  /** Acks folded into DELIVERED receipts, which the gateway sends on as each conversation's come due. */
  delivered: DeliveredReceipts;
  upstream: Upstream;
  verifier: TokenVerifier;
  logger: Logger;
  maxFrameBytes: number;
  bound: number;
  people?: PeopleHooks | undefined;
}

const local = new Set<string>(GATEWAY_LOCAL_FRAMES);

/**
 * One client frame. Every problem is answered with an `error` frame and the connection goes on;
 * only frames the gateway owns (ack, heartbeat, token_refresh) are handled here, everything else
 * passes through to the pipeline, wrapped with who sent it and from where.
 */
export function handleMessage(ctx: MessageContext, ws: Conn, bytes: ArrayBuffer): void {
  const d = ws.getUserData();
  if (d.closed || d.refused) return;
  const now = Date.now();
  d.lastSeen = now;
  if (bytes.byteLength > ctx.maxFrameBytes) {
    m.framesIn.inc({ type: 'invalid' });
    return sendError(ws, 'FRAME_TOO_LARGE', ctx.bound, undefined, `frame of ${bytes.byteLength} bytes; the maximum is ${ctx.maxFrameBytes}`);
  }
  const parsed = parseClientFrame(bytes);
  if (!parsed.ok) {
    m.framesIn.inc({ type: 'invalid' });
    return sendError(ws, parsed.code, ctx.bound, parsed.msgId, parsed.detail);
  }
  const { frame, text } = parsed;
  m.framesIn.inc({ type: frame.type });
  if (frame.type === 'heartbeat') {
    const out: HeartbeatOutFrame = { type: 'heartbeat', timestamp: now };
    writeFrame(ws, JSON.stringify(out), 'heartbeat', ctx.bound);
    return;
  }
  if (frame.type === 'ack') {
    const origin = { gatewayId: ctx.gatewayId, connectionId: d.id, deviceId: d.deviceId };
    if ('msg_id' in frame && frame.msg_id) {
      const at = ctx.acks.ack(d.userId, frame.msg_id);
      if (at) ctx.delivered.note(d.userId, origin, at.conversationId, at.seq, now);
    } else if ('conversation_id' in frame) {
      const seq = ctx.acks.ackUpTo(d.userId, frame.conversation_id, frame.seq);
      if (seq !== null) ctx.delivered.note(d.userId, origin, frame.conversation_id, seq, now);
    }
    return;
  }
  // Any frame may carry a msg_id (unknown fields pass): an error about it echoes one that is a string.
  const msgId = typeof (frame as { msg_id?: unknown }).msg_id === 'string' ? (frame as { msg_id: string }).msg_id : undefined;
  // Acks and heartbeats are free; everything else draws from the user's shared bucket.
  if (!ctx.conns.takeToken(d.userId, now)) return sendError(ws, 'RATE_LIMIT_EXCEEDED', ctx.bound, msgId);
  const claimed = (frame as { sender?: unknown }).sender;
  if (claimed !== undefined && claimed !== d.userId) return sendError(ws, 'SENDER_MISMATCH', ctx.bound, msgId);
  if (frame.type === 'token_refresh') return refreshToken(ctx, ws, frame.token, msgId);
  if (frame.type === 'presence') return ctx.people?.away(d.userId, d.id, frame.status === 'away');
  if (local.has(frame.type)) return;
  ctx.upstream.ingress(
    {
      correlationId: randomUUID(),
      userId: d.userId,
      origin: { gatewayId: ctx.gatewayId, connectionId: d.id, deviceId: d.deviceId },
      receivedAt: now,
      frameType: frame.type,
      payload: text,
    },
    ingressKey(d.userId, frame),
    msgId,
  );
}

function refreshToken(ctx: MessageContext, ws: Conn, token: string, msgId: string | undefined): void {
  const d = ws.getUserData();
  ctx.verifier.verify(token).then(
    (t) => {
      if (d.closed) return;
      // A connection is one user for its whole life; a token of someone else changes nothing.
      if (t.userId !== d.userId) return ws.cork(() => sendError(ws, 'TOKEN_INVALID', ctx.bound, msgId, 'token belongs to another user'));
      d.expiresAt = t.expiresAt;
      const out: TokenRefreshedFrame = { type: 'token_refreshed', expires_at: t.expiresAt, timestamp: Date.now() };
      ws.cork(() => writeFrame(ws, JSON.stringify(out), 'token_refreshed', ctx.bound));
    },
    (err: unknown) => {
      if (d.closed) return;
      ctx.logger.debug('token refresh refused', { err, connectionId: d.id });
      ws.cork(() => sendError(ws, 'TOKEN_INVALID', ctx.bound, msgId, 'refresh token refused; the current one stays valid until it expires'));
    },
  );
}
