import { counter } from '../../core/metrics.js';
import type { SendCommand } from '../../schemas/types.generated.js';
import { WebhookEndpoint, type EndpointConfig, type EndpointOptions } from './endpoint.js';

/**
 * The before-send hook: message logic asks it about each permitted send, before the send is
 * stamped, so a refused message never gets a seq and a rewritten one is stamped with the new
 * content. The call is on the send path: its latency is in `im_webhook_call_seconds{event=
 * "before-send"}` and bounded by its timeout.
 *
 * A failed call (timeout, unreachable, non-2xx, an answer that means nothing, an open circuit)
 * is decided by `onFailure`. The default is fail-open (`allow`): the hook is the operator's
 * policy on top of the platform's own checks, which have already passed, and a chat that stops
 * whenever a third-party endpoint hiccups is the worse failure. `refuse` (fail-closed) answers
 * SERVICE_UNAVAILABLE, which the client resends later with the same msg_id.
 */
export interface BeforeSendSettings {
  url: string;
  scope: 'direct' | 'group' | 'both';
  timeoutMs: number;
  onFailure: 'allow' | 'refuse';
  secrets: EndpointConfig['secrets'];
  breakerFailureThreshold: number;
  breakerOpenMs: number;
  /** A rewrite is held to the client's rule for content. */
  maxContentChars: number;
}

export type BeforeSendVerdict =
  | { action: 'allow' }
  /** `code` is the endpoint's own, passed to the sender beside WEBHOOK_REFUSED. */
  | { action: 'refuse'; code: string; message: string }
  | { action: 'rewrite'; content: string }
  /** The call failed and the policy is fail-closed. */
  | { action: 'unavailable'; reason: string };

export interface BeforeSendHook {
  /** Whether sends of this kind are asked at all (IM_WEBHOOK_BEFORE_SEND_SCOPE). */
  covers(recipientKind: SendCommand['recipientKind']): boolean;
  judge(cmd: SendCommand): Promise<BeforeSendVerdict>;
}

const verdicts = counter('im_webhook_before_send_total', 'Sends the before-send webhook judged, by kind and verdict (allow, refuse, rewrite, failed_open, failed_closed)', ['kind', 'verdict'] as const);

/** An endpoint's own refusal code: short, and plain enough to show in a client. */
const REFUSAL_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_REFUSAL_MESSAGE = 500;
const DEFAULT_REFUSAL_MESSAGE = 'Refused by the before-send webhook';

export function createBeforeSendHook(settings: BeforeSendSettings, options: EndpointOptions): BeforeSendHook {
  const endpoint = new WebhookEndpoint({ ...settings, event: 'before-send' }, options);
  const covered = new Set<SendCommand['recipientKind']>(settings.scope === 'both' ? ['USER', 'GROUP'] : settings.scope === 'direct' ? ['USER'] : ['GROUP']);
  return {
    covers: (kind) => covered.has(kind),
    async judge(cmd) {
      const kind = cmd.recipientKind === 'USER' ? 'direct' : 'group';
      const eventId = `before-send:${cmd.sender}:${cmd.clientMsgId}`;
      try {
        const verdict = await endpoint.post(eventId, beforeSendBody(eventId, cmd), (answer) => readAnswer(answer, settings.maxContentChars));
        verdicts.inc({ kind, verdict: verdict.action });
        return verdict;
      } catch (err) {
        if (settings.onFailure === 'allow') {
          verdicts.inc({ kind, verdict: 'failed_open' });
          return { action: 'allow' };
        }
        verdicts.inc({ kind, verdict: 'failed_closed' });
        return { action: 'unavailable', reason: (err as Error).message };
      }
    },
  };
}

/** The body POSTed for one send (docs/protocol.md#webhooks). */
export function beforeSendBody(eventId: string, cmd: SendCommand): string {
  return JSON.stringify({
    event: 'before-send',
    event_id: eventId,
    occurred_at: cmd.receivedAt,
    message: {
      client_msg_id: cmd.clientMsgId,
      conversation_id: cmd.conversationId,
      sender: cmd.sender,
      recipient: cmd.recipientId,
      recipient_type: cmd.recipientKind === 'USER' ? 'user' : 'group',
      content: cmd.content,
      content_type: cmd.contentType,
      timestamp: cmd.clientTimestamp,
    },
  });
}

/** Reads `{"action": ...}`; anything else throws, and the call counts as failed. */
export function readAnswer(text: string, maxContentChars: number): Exclude<BeforeSendVerdict, { action: 'unavailable' }> {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new Error('not JSON');
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw new Error('not a JSON object');
  const a = answer as Record<string, unknown>;
  switch (a.action) {
    case 'allow':
      return { action: 'allow' };
    case 'refuse': {
      if (typeof a.code !== 'string' || !REFUSAL_CODE.test(a.code)) throw new Error('refuse needs a code of 1-64 letters, digits or _.:-');
      if (a.message !== undefined && (typeof a.message !== 'string' || a.message.length > MAX_REFUSAL_MESSAGE)) throw new Error(`refuse's message must be a string of at most ${MAX_REFUSAL_MESSAGE} characters`);
      return { action: 'refuse', code: a.code, message: typeof a.message === 'string' && a.message.length > 0 ? a.message : DEFAULT_REFUSAL_MESSAGE };
    }
    case 'rewrite':
      // The client's rule for content (protocol/frame-validation.ts): non-empty, bounded.
      if (typeof a.content !== 'string' || a.content.length === 0) throw new Error('rewrite needs a non-empty content string');
      if (a.content.length > maxContentChars) throw new Error(`rewritten content longer than ${maxContentChars} characters`);
      return { action: 'rewrite', content: a.content };
    default:
      throw new Error('action must be allow, refuse or rewrite');
  }
}
