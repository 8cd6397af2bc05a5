import type { PlatformConfig } from '../../core/config.js';
import { counter } from '../../core/metrics.js';
import type { ErrorCode } from '../../protocol/codes.js';
import { GATEWAY_LOCAL_FRAMES, MESSAGE_CHANGE_FRAMES } from '../../protocol/frames.js';
import type { IngressFrame } from '../../schemas/types.generated.js';
import type { Emit, ProcessContext, ProcessorBuilder, Rec } from '../../streams/index.js';
import { CircuitBreaker } from '../../core/circuit-breaker.js';
import { KeyedRateLimiter } from '../../core/token-bucket.js';
import { conversationOf, conversationTo } from '../../domain/conversations.js';
import { routeChange } from '../../domain/message-changes.js';
import { routeReferences, sendKey } from '../../domain/message-references.js';
import { declaredMediaRef, mediaRefusal, type MediaLimits } from '../../domain/media.js';
import * as validate from '../../protocol/frame-validation.js';
import { errorFrame, muteLevel } from '../../protocol/server-frames.js';
import { deadLetterReply, replyTo } from '../replies.js';

/**
 * Router: decodes and validates each ingress frame and routes it by type
 * to its command topic. Client mistakes are answered with an `error` frame to the sending
 * connection, never dead-lettered; only undecodable records reach the DLQ (the runtime does
 * that). A per-user token bucket limits traffic; a circuit breaker sheds load fast when the
 * pipeline is in trouble.
 */
export type RouterConfig = Pick<PlatformConfig['pipeline'], 'maxContentChars' | 'routerRatePerSec' | 'routerBurst' | 'routerStaleMs' | 'breakerFailureThreshold' | 'breakerOpenMs'> & {
  /** What each media kind allows (config `media.limits`); the defaults of domain/media.ts when absent. */
  mediaLimits?: MediaLimits;
};

export interface RouterDeps {
  /** Shared with whoever else observes downstream trouble (e.g. producer errors); one per instance by default. */
  breaker?: CircuitBreaker;
}

const routed = counter('im_router_frames_total', 'Ingress frames by type and outcome', ['type', 'outcome']);
const late = counter('im_router_late_frames_total', 'Frames routed after waiting longer than IM_ROUTER_STALE_MS (served; a backlog)', ['type']);
const breakerState = counter('im_router_breaker_transitions_total', 'Router circuit breaker state changes', ['state']);

export const ROUTER_OUTPUTS = ['im.cmd.send', 'im.cmd.receipt', 'im.cmd.typing', 'im.cmd.sync', 'im.cmd.settings', 'im.push.online'] as const;

export function routerProcessor(deps: RouterDeps, config: RouterConfig): (p: ProcessorBuilder) => void {
  return (p) => {
    // Frame age and the breaker go by the engine's clock; the rate limit by the gateway's receive time.
    // Per user as this process sees them: ingress is keyed by conversation, so a user's frames to
    // conversations on partitions another process holds draw from that process's bucket. The
    // gateway's bucket is the per-user bound for clients; this one holds any producer of
    // im.ingress to a rate.
    const limiter = new KeyedRateLimiter({ ratePerSec: config.routerRatePerSec, burst: config.routerBurst }, () => p.clock.now());
    const breaker = deps.breaker ?? new CircuitBreaker({ failureThreshold: config.breakerFailureThreshold, openMs: config.breakerOpenMs, now: () => p.clock.now(), onChange: (s) => breakerState.inc({ state: s }) });
    p.stream('im.ingress').process(ROUTER_OUTPUTS, async (r, ctx) => {
      const f = r.value;
      // Parsed once, up front: even a frame refused unread gets its msg_id back, so the client
      // knows which send to retry.
      const payload = parsePayload(f.payload);
      const msgId = payload.ok ? clientMsgId(payload.value) : undefined;
      // A frame that waited long (a backlog after a broker outage) is served, not refused: it is
      // durable and idempotent on its msg_id, and a refusal would only send the client's resend
      // into the same backlog. It is counted, so the wait shows.
      if (p.clock.now() - f.receivedAt > config.routerStaleMs) late.inc({ type: knownType(f.frameType) });
      if (!breaker.allow()) return reject(f, 'unavailable', 'SERVICE_UNAVAILABLE', undefined, msgId);
      try {
        const out = route(r, ctx, payload, msgId);
        breaker.success();
        return out;
      } catch (err) {
        breaker.failure();
        throw err;
      }
    }, 'route');

    // A frame the router could not handle is dead-lettered; its sender still hears of it.
    p.answerDeadLetters('im.ingress', ['im.push.online'], (r, code) => {
      const f = r.value;
      const payload = parsePayload(f.payload);
      return deadLetterReply(f.origin, f.userId, payload.ok ? clientMsgId(payload.value) : undefined, f.correlationId, code, p.clock.now());
    });

    function reject(f: IngressFrame, outcome: string, code: ErrorCode, detail?: string, msgId?: string): Emit[] {
      routed.inc({ type: knownType(f.frameType), outcome });
      const at = p.clock.now();
      return [replyTo(f.origin, f.userId, errorFrame(code, at, msgId, detail), f.correlationId, at)];
    }

    function route(r: Rec<IngressFrame>, ctx: ProcessContext, payload: Payload, msgId: string | undefined): Emit[] {
      const f = r.value;
      if (!payload.ok) return reject(f, 'invalid', 'INVALID_JSON');
      if (!isObject(payload.value)) return reject(f, 'invalid', 'MALFORMED_FRAME', 'a frame is a JSON object');
      const o = payload.value;
      if (o.type !== f.frameType) return reject(f, 'invalid', 'MALFORMED_FRAME', 'type does not match the frame', msgId);
      // Rate limit before validation: a flood of bad frames costs as much as good ones.
      if (!limiter.tryTake(f.userId, f.receivedAt)) return reject(f, 'rate_limited', 'RATE_LIMIT_EXCEEDED', undefined, msgId);
      const base = { correlationId: f.correlationId, origin: f.origin };

      switch (f.frameType) {
        case 'send_msg': {
          const v = validate.sendMsg(o, config.maxContentChars);
          if (!v.ok) return reject(f, 'invalid', v.code, v.detail, v.msgId ?? msgId);
          const m = v.frame;
          const refusal = mediaRefusal(m.media ?? [], config.mediaLimits);
          if (refusal) return reject(f, 'invalid', refusal.code, refusal.detail, m.msg_id);
          const group = m.recipient_type === 'group';
          const conversationId = conversationTo(f.userId, m.recipient, m.recipient_type);
          // A reply or a forward names another message; the stamper resolves it (domain/message-references.ts).
          const refs = routeReferences(o, f.userId, conversationId);
          if (!refs.ok) return reject(f, 'invalid', refs.code, refs.detail, m.msg_id);
          // A forward carries the original as it is; media of the forwarder's own would be another message.
          if (refs.forwardOf && m.media) return reject(f, 'invalid', 'MALFORMED_FRAME', 'a forward carries no media of its own', m.msg_id);
          const media = (m.media ?? []).map(declaredMediaRef);
          const references = { ...(refs.replyTo ? { replyTo: refs.replyTo } : {}), ...(refs.forwardOf ? { forwardOf: refs.forwardOf } : {}) };
          routed.inc({ type: 'send_msg', outcome: 'routed' });
          const value = { ...base, sender: f.userId, clientMsgId: m.msg_id, conversationId, recipientKind: group ? 'GROUP' as const : 'USER' as const, recipientId: m.recipient, content: m.content, contentType: m.content_type ?? 'text', clientTimestamp: m.timestamp, receivedAt: f.receivedAt, ...references, media };
          return [{ topic: 'im.cmd.send', key: sendKey(value), value }];
        }
        case 'read': {
          const v = validate.read(o);
          if (!v.ok) return reject(f, 'invalid', v.code, v.detail, v.msgId ?? msgId);
          // A group's membership is the receipts processor's to check; a direct id names its pair.
          if (conversationOf(v.frame.conversation_id, f.userId) === null) return reject(f, 'invalid', 'FORBIDDEN', 'not a party of that conversation', msgId);
          routed.inc({ type: 'read', outcome: 'routed' });
          return [{ topic: 'im.cmd.receipt', key: v.frame.conversation_id, value: { ...base, userId: f.userId, kind: 'READ', conversationId: v.frame.conversation_id, seq: v.frame.seq, at: f.receivedAt, clientMsgId: msgId ?? null } }];
        }
        case 'delivered': {
          // Made from delivery acks by gateways older than their direct write to im.cmd.receipt
          // (edge/gateway/delivered.ts): routed still, for a rolling upgrade.
          const v = validate.read({ ...o, type: 'read' });
          if (!v.ok) return reject(f, 'invalid', v.code, v.detail);
          if (conversationOf(v.frame.conversation_id, f.userId) === null) return reject(f, 'invalid', 'FORBIDDEN', 'not a party of that conversation');
          routed.inc({ type: 'delivered', outcome: 'routed' });
          return [{ topic: 'im.cmd.receipt', key: v.frame.conversation_id, value: { ...base, userId: f.userId, kind: 'DELIVERED', conversationId: v.frame.conversation_id, seq: v.frame.seq, at: f.receivedAt, clientMsgId: null } }];
        }
        case 'typing': {
          const v = validate.typing(o);
          if (!v.ok) return reject(f, 'invalid', v.code, v.detail, v.msgId ?? msgId);
          const t = v.frame;
          const group = t.recipient_type === 'group';
          const conversationId = conversationTo(f.userId, t.recipient, t.recipient_type);
          routed.inc({ type: 'typing', outcome: 'routed' });
          return [{ topic: 'im.cmd.typing', key: conversationId, value: { ...base, userId: f.userId, conversationId, recipientKind: group ? 'GROUP' : 'USER', recipientId: t.recipient, active: t.active, at: f.receivedAt } }];
        }
        case 'sync': {
          const v = validate.sync(o);
          if (!v.ok) return reject(f, 'invalid', v.code, v.detail, v.msgId ?? msgId);
          routed.inc({ type: 'sync', outcome: 'routed' });
          return [{ topic: 'im.cmd.sync', key: f.userId, value: { ...base, userId: f.userId, conversationId: v.frame.conversation_id ?? null, afterSeq: v.frame.after_seq ?? 0, limit: v.frame.limit ?? validate.SYNC_DEFAULT_LIMIT, at: f.receivedAt, clientMsgId: msgId ?? null } }];
        }
        case 'conversation_settings': {
          const v = validate.conversationSettings(o);
          if (!v.ok) return reject(f, 'invalid', v.code, v.detail, v.msgId ?? msgId);
          const s = v.frame;
          // A group's membership is the settings processor's to check; a direct id names its pair.
          if (conversationOf(s.conversation_id, f.userId) === null) return reject(f, 'invalid', 'FORBIDDEN', 'not a party of that conversation', s.msg_id);
          routed.inc({ type: 'conversation_settings', outcome: 'routed' });
          const changes = { muted: s.muted ? muteLevel(s.muted) : null, pinned: s.pinned ?? null, archived: s.archived ?? null, markedUnread: s.marked_unread ?? null };
          return [{ topic: 'im.cmd.settings', key: s.conversation_id, value: { ...base, userId: f.userId, conversationId: s.conversation_id, clientMsgId: s.msg_id, ...changes, at: f.receivedAt } }];
        }
        case 'recall_msg':
        case 'edit_msg':
        case 'react':
        case 'delete_for_me': {
          // Changes to a message travel the send path as commands (domain/message-changes.ts).
          const v = routeChange(o, f.userId, config.maxContentChars);
          if (!v.ok) return reject(f, 'invalid', v.code, v.detail, msgId);
          const c = v.change;
          routed.inc({ type: f.frameType, outcome: 'routed' });
          return [{ topic: 'im.cmd.send', key: c.conversationId, value: { ...base, sender: f.userId, clientMsgId: c.clientMsgId, conversationId: c.conversationId, recipientKind: c.recipientKind, recipientId: c.recipientId, content: c.content, contentType: c.contentType, clientTimestamp: f.receivedAt, receivedAt: f.receivedAt, action: c.action } }];
        }
        default:
          if ((GATEWAY_LOCAL_FRAMES as readonly string[]).includes(f.frameType)) {
            // The gateway answers these itself; one that got here is harmless, so just note it.
            ctx.logger.debug('gateway-local frame reached the router', { type: f.frameType, correlationId: f.correlationId });
            routed.inc({ type: f.frameType, outcome: 'ignored' });
            return [];
          }
          return reject(f, 'unknown', 'UNKNOWN_FRAME_TYPE', `unknown frame type '${f.frameType.slice(0, 32)}'`, msgId);
      }
    }
  };
}

type Payload = { ok: true; value: unknown } | { ok: false };

function parsePayload(text: string): Payload {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The client's msg_id, bounded like every id the pipeline echoes. */
function clientMsgId(value: unknown): string | undefined {
  return isObject(value) && typeof value.msg_id === 'string' && value.msg_id !== '' ? value.msg_id.slice(0, 128) : undefined;
}

/** Metric label: known types by name, everything else folded so labels stay bounded. */
const KNOWN = new Set(['send_msg', 'read', 'delivered', 'typing', 'sync', 'conversation_settings', ...MESSAGE_CHANGE_FRAMES, ...GATEWAY_LOCAL_FRAMES]);
const knownType = (t: string): string => (KNOWN.has(t) ? t : 'other');
