import type { ErrorCode } from './codes.js';
import type { ReadFrame, SendMsgFrame, SyncFrame, TypingInFrame } from './frames.js';
import { isIntField, isLongField } from './numbers.js';

/**
 * Field-by-field validation of the client frames the router routes. Each validator returns the
 * typed frame or a refusal naming the first problem, which goes back to the client verbatim.
 */
export type Checked<F> = { ok: true; frame: F } | { ok: false; code: ErrorCode; detail: string; msgId?: string };

/**
 * The msg_ids the server keeps for its own system notices (domain/notices.ts): a client's may
 * not start with it, so a notice never collides with a client's message in the stamper's dedup.
 */
export const SYSTEM_MSG_ID_PREFIX = 'sys:';

type Obj = Record<string, unknown>;
const MAX_ID = 128;

const fail = (detail: string, msgId?: string): { ok: false; code: ErrorCode; detail: string; msgId?: string } => ({ ok: false, code: 'MALFORMED_FRAME', detail, ...(msgId ? { msgId } : {}) });

function id(o: Obj, field: string): string | null {
  const v = o[field];
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID && !/[\s|]/.test(v) ? v : null;
}

function recipientType(o: Obj): 'user' | 'group' | null {
  const t = o.recipient_type ?? 'user';
  return t === 'user' || t === 'group' ? t : null;
}

export function sendMsg(o: Obj, maxContentChars: number): Checked<SendMsgFrame> {
  const msgId = id(o, 'msg_id');
  if (!msgId) return fail(`msg_id must be a non-empty string of at most ${MAX_ID} characters without spaces or '|'`);
  if (msgId.startsWith(SYSTEM_MSG_ID_PREFIX)) return fail(`msg_id may not start with '${SYSTEM_MSG_ID_PREFIX}'`, msgId);
  const recipient = id(o, 'recipient');
  if (!recipient || recipient.includes(':')) return fail('recipient must be a user or group id', msgId);
  const rtype = recipientType(o);
  if (!rtype) return fail("recipient_type must be 'user' or 'group'", msgId);
  if (typeof o.content !== 'string' || o.content.length === 0) return fail('content must be a non-empty string', msgId);
  if (o.content.length > maxContentChars) return fail(`content longer than ${maxContentChars} characters`, msgId);
  const contentType = o.content_type ?? 'text';
  if (typeof contentType !== 'string' || !/^[a-z0-9][a-z0-9.+/-]{0,63}$/i.test(contentType)) return fail('content_type must be a short media-type-like string', msgId);
  if (contentType.startsWith('system/')) return fail('content_type system/* is reserved for the server', msgId);
  // Integers are checked against their Avro type: one it cannot encode would be dead-lettered.
  if (!isLongField(o.timestamp)) return fail('timestamp must be a non-negative integer (epoch ms) below 2^53 - 1', msgId);
  return { ok: true, frame: { type: 'send_msg', msg_id: msgId, recipient, recipient_type: rtype, content: o.content, content_type: contentType, timestamp: o.timestamp } };
}

const CONVERSATION = /^(d:[^:\s|]+:[^:\s|]+|g:[^:\s|]+)$/;

export function read(o: Obj, userId: string): Checked<ReadFrame> {
  const conv = o.conversation_id;
  if (typeof conv !== 'string' || !CONVERSATION.test(conv)) return fail('conversation_id must be d:<user>:<user> or g:<group>');
  if (conv.startsWith('d:') && !conv.split(':').slice(1).includes(userId)) return { ok: false, code: 'FORBIDDEN', detail: 'not a party of that conversation' };
  if (!isLongField(o.seq)) return fail('seq must be a non-negative integer below 2^53 - 1');
  return { ok: true, frame: { type: 'read', conversation_id: conv, seq: o.seq } };
}

export function typing(o: Obj): Checked<TypingInFrame> {
  const recipient = id(o, 'recipient');
  if (!recipient || recipient.includes(':')) return fail('recipient must be a user or group id');
  const rtype = recipientType(o);
  if (!rtype) return fail("recipient_type must be 'user' or 'group'");
  if (typeof o.active !== 'boolean') return fail('active must be a boolean');
  return { ok: true, frame: { type: 'typing', recipient, recipient_type: rtype, active: o.active } };
}

export const SYNC_DEFAULT_LIMIT = 100;
export const SYNC_MAX_LIMIT = 500;

export function sync(o: Obj): Checked<SyncFrame> {
  const conv = o.conversation_id;
  if (conv !== undefined && conv !== null && (typeof conv !== 'string' || !CONVERSATION.test(conv))) return fail('conversation_id must be d:<user>:<user> or g:<group>');
  const after = o.after_seq ?? 0;
  if (!isLongField(after)) return fail('after_seq must be a non-negative integer below 2^53 - 1');
  const limit = o.limit ?? SYNC_DEFAULT_LIMIT;
  if (!isIntField(limit, 1)) return fail('limit must be a positive integer below 2^31');
  return { ok: true, frame: { type: 'sync', ...(typeof conv === 'string' ? { conversation_id: conv } : {}), after_seq: after, limit: Math.min(limit, SYNC_MAX_LIMIT) } };
}
