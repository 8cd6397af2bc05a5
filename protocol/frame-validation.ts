import { isMediaId, isMediaKind, MAX_MEDIA_PER_MESSAGE } from './media.js';
import type { ErrorCode } from './codes.js';
import type { ClientFrame, ConversationSettingsInFrame, MediaItem, ReadFrame, SendMsgFrame, SyncFrame, TypingInFrame } from './frames.js';
import { isClientMsgId, isUserOrGroupId, MAX_ID_CHARS } from './limits.js';
import { isIntField, isLongField } from './numbers.js';

/**
 * The rules of the client frames, written once. `FRAME_FIELDS` holds the type and range of
 * each field of each frame: the gateway checks every frame against it before anything leaves
 * for the pipeline. The validators below start from the same table and add what a field must
 * mean (id characters, lengths, reserved prefixes, who may name a conversation); the router
 * runs them on every `im.ingress` record, which any producer may write, not only a gateway.
 * Each returns the typed frame or a refusal naming the first problem, which goes back to the
 * client verbatim.
 */
export type Checked<F> = { ok: true; frame: F } | { ok: false; code: ErrorCode; detail: string; msgId?: string };

/**
 * The msg_ids the server keeps for its own system notices (domain/notices.ts): a client's may
 * not start with it, so a notice never collides with a client's message in the stamper's dedup.
 */
export const SYSTEM_MSG_ID_PREFIX = 'sys:';

type Obj = Record<string, unknown>;
type FieldCheck = (v: unknown) => boolean;
const str: FieldCheck = (v) => typeof v === 'string' && v.length > 0;
const anyStr: FieldCheck = (v) => typeof v === 'string';
const optStr: FieldCheck = (v) => v === undefined || typeof v === 'string';
// Integers the pipeline stores as Avro long/int (schemas/avro): one it cannot encode would be
// dead-lettered downstream and the client never answered, so it is refused up front.
const long: FieldCheck = (v) => isLongField(v);
const optLong: FieldCheck = (v) => v === undefined || isLongField(v);
const optLimit: FieldCheck = (v) => v === undefined || isIntField(v, 1);
const bool: FieldCheck = (v) => typeof v === 'boolean';
const optBool: FieldCheck = (v) => v === undefined || typeof v === 'boolean';
const kind: FieldCheck = (v) => v === undefined || v === 'user' || v === 'group';

/** The fields each client frame type must have (frames.ts); extra fields pass through untouched. */
export const FRAME_FIELDS: Record<ClientFrame['type'], Record<string, FieldCheck>> = {
  send_msg: { msg_id: str, recipient: str, recipient_type: kind, content: anyStr, content_type: optStr, timestamp: long, media: (v) => v === undefined || Array.isArray(v) },
  // One form or the other (frames.ts); `ackForm` tells which, or that neither is whole.
  ack: { msg_id: optStr, conversation_id: optStr, seq: optLong },
  heartbeat: {},
  sync: { conversation_id: optStr, after_seq: optLong, limit: optLimit },
  read: { conversation_id: str, seq: long },
  typing: { recipient: str, recipient_type: kind, active: bool },
  token_refresh: { token: str },
  recall_msg: { msg_id: str, conversation_id: str, seq: long, message_id: optStr },
  edit_msg: { msg_id: str, conversation_id: str, seq: long, message_id: optStr, content: (v) => typeof v === 'string' },
  react: { msg_id: str, conversation_id: str, seq: long, message_id: optStr, emoji: str, remove: (v) => v === undefined || typeof v === 'boolean' },
  delete_for_me: { msg_id: str, conversation_id: str, seq: long, message_id: optStr },
  presence: { status: (v) => v === 'online' || v === 'away' },
  conversation_settings: { msg_id: str, conversation_id: str, muted: (v) => v === undefined || v === 'none' || v === 'mentions' || v === 'all', pinned: optBool, archived: optBool, marked_unread: optBool },
};

/** The first field of `o` that `FRAME_FIELDS` refuses for its type, as a message; null when none. */
export function fieldProblem(type: ClientFrame['type'], o: Obj): string | null {
  for (const [field, check] of Object.entries(FRAME_FIELDS[type])) if (!check(o[field])) return `${type}.${field} is missing, has the wrong type or is out of range`;
  if (type === 'ack' && ackForm(o) === null) return 'ack names a msg_id, or a conversation_id and a seq of 1 or more';
  return null;
}

/** Which ack a frame is: of one message, or cumulative over a conversation; null when neither is whole. */
function ackForm(o: Obj): 'message' | 'conversation' | null {
  if (str(o.msg_id)) return 'message';
  if (str(o.conversation_id) && typeof o.seq === 'number' && o.seq >= 1) return 'conversation';
  return null;
}

const fail = (detail: string, msgId?: string): { ok: false; code: ErrorCode; detail: string; msgId?: string } => ({ ok: false, code: 'MALFORMED_FRAME', detail, ...(msgId ? { msgId } : {}) });

/** `recipient_type` once its field passed: `user` unless it says `group`. */
const recipientType = (o: Obj): 'user' | 'group' => (o.recipient_type === 'group' ? 'group' : 'user');

/** `mediaLimits`: the types and sizes each media kind allows (config `media.limits`). */
export function sendMsg(o: Obj, maxContentChars: number): Checked<SendMsgFrame> {
  const problem = fieldProblem('send_msg', o);
  if (problem) return fail(problem);
  if (!isClientMsgId(o.msg_id)) return fail(`msg_id must be a non-empty string of at most ${MAX_ID_CHARS} characters without spaces or '|'`);
  const msgId = o.msg_id;
  if (msgId.startsWith(SYSTEM_MSG_ID_PREFIX)) return fail(`msg_id may not start with '${SYSTEM_MSG_ID_PREFIX}'`, msgId);
  const recipient = o.recipient;
  if (!isUserOrGroupId(recipient)) return fail('recipient must be a user or group id', msgId);
  const content = o.content as string;
  // A media message's text is a caption, and may be empty.
  if (content.length === 0 && o.media === undefined) return fail('content must be a non-empty string', msgId);
  if (content.length > maxContentChars) return fail(`content longer than ${maxContentChars} characters`, msgId);
  const contentType = (o.content_type as string | undefined) ?? 'text';
  if (!/^[a-z0-9][a-z0-9.+/-]{0,63}$/i.test(contentType)) return fail('content_type must be a short media-type-like string', msgId);
  if (contentType.startsWith('system/')) return fail('content_type system/* is reserved for the server', msgId);
  const media = mediaItems(o.media, contentType);
  if (!media.ok) return { ...media, msgId };
  const frame: SendMsgFrame = { type: 'send_msg', msg_id: msgId, recipient, recipient_type: recipientType(o), content, content_type: contentType, timestamp: o.timestamp as number };
  return { ok: true, frame: media.items.length > 0 ? { ...frame, media: media.items } : frame };
}

const MIME = /^[a-z0-9][a-z0-9.+-]{0,62}\/[a-z0-9][a-z0-9.+-]{0,62}$/i;

/**
 * The `media` of a send_msg, by its shape (MALFORMED_FRAME). What each item may be (type,
 * size, name, each refused with its own code) is the domain's to judge (domain/media.ts
 * `declarationRefusal`, asked by the router); whether the objects are there and are what they
 * claim is the send path's (topologies/processors/media-check.ts).
 */
export function mediaItems(v: unknown, contentType: string): { ok: true; items: MediaItem[] } | { ok: false; code: ErrorCode; detail: string } {
  if (v === undefined) return { ok: true, items: [] };
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MEDIA_PER_MESSAGE) return fail(`media must be an array of 1 to ${MAX_MEDIA_PER_MESSAGE} items`);
  const items: MediaItem[] = [];
  for (const [i, m] of v.entries()) {
    const at = `media[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return fail(`${at} must be an object {id, kind, mime, size, name}`);
    const item = m as Obj;
    if (!isMediaId(item.id)) return fail(`${at}.id must be a media id from POST /v1/media/uploads`);
    if (!isMediaKind(item.kind)) return fail(`${at}.kind must be image, file, audio or video`);
    if (typeof item.mime !== 'string' || !MIME.test(item.mime)) return fail(`${at}.mime must be a MIME type such as image/png`);
    if (typeof item.size !== 'number' || !Number.isSafeInteger(item.size) || item.size < 0) return fail(`${at}.size must be a byte count (a non-negative integer below 2^53)`);
    if (typeof item.name !== 'string') return fail(`${at}.name must be a string`);
    if (items.some((x) => x.id === item.id)) return fail(`${at}.id appears twice`);
    items.push({ id: item.id, kind: item.kind, mime: item.mime.toLowerCase(), size: item.size, name: item.name });
  }
  if (contentType !== items[0]!.kind) return fail(`content_type must be the first media item's kind (${items[0]!.kind})`);
  return { ok: true, items };
}

const CONVERSATION = /^(d:[^:\s|]+:[^:\s|]+|g:[^:\s|]+)$/;

/** Whether the user takes part in the conversation is the domain's to say (domain/conversations.ts); the router asks it. */
export function read(o: Obj): Checked<ReadFrame> {
  const problem = fieldProblem('read', o);
  if (problem) return fail(problem);
  const conv = o.conversation_id as string;
  if (!CONVERSATION.test(conv)) return fail('conversation_id must be d:<user>:<user> or g:<group>');
  return { ok: true, frame: { type: 'read', conversation_id: conv, seq: o.seq as number } };
}

export function typing(o: Obj): Checked<TypingInFrame> {
  const problem = fieldProblem('typing', o);
  if (problem) return fail(problem);
  const recipient = o.recipient;
  if (!isUserOrGroupId(recipient)) return fail('recipient must be a user or group id');
  return { ok: true, frame: { type: 'typing', recipient, recipient_type: recipientType(o), active: o.active as boolean } };
}

export const SYNC_DEFAULT_LIMIT = 100;
export const SYNC_MAX_LIMIT = 500;

export function sync(o: Obj): Checked<SyncFrame> {
  const problem = fieldProblem('sync', o);
  if (problem) return fail(problem);
  const conv = o.conversation_id as string | undefined;
  if (conv !== undefined && !CONVERSATION.test(conv)) return fail('conversation_id must be d:<user>:<user> or g:<group>');
  const after = (o.after_seq as number | undefined) ?? 0;
  const limit = (o.limit as number | undefined) ?? SYNC_DEFAULT_LIMIT;
  return { ok: true, frame: { type: 'sync', ...(conv !== undefined ? { conversation_id: conv } : {}), after_seq: after, limit: Math.min(limit, SYNC_MAX_LIMIT) } };
}

/** A settings change names a conversation and changes at least one setting. */
export function conversationSettings(o: Obj): Checked<ConversationSettingsInFrame> {
  const problem = fieldProblem('conversation_settings', o);
  if (problem) return fail(problem, typeof o.msg_id === 'string' ? o.msg_id : undefined);
  const msgId = o.msg_id as string;
  if (!isClientMsgId(msgId)) return fail(`msg_id must be a non-empty string of at most ${MAX_ID_CHARS} characters without spaces or '|'`);
  const conv = o.conversation_id as string;
  if (!CONVERSATION.test(conv)) return fail('conversation_id must be d:<user>:<user> or g:<group>', msgId);
  const f = o as Partial<ConversationSettingsInFrame>;
  const changes = { ...(f.muted !== undefined ? { muted: f.muted } : {}), ...(f.pinned !== undefined ? { pinned: f.pinned } : {}), ...(f.archived !== undefined ? { archived: f.archived } : {}), ...(f.marked_unread !== undefined ? { marked_unread: f.marked_unread } : {}) };
  if (Object.keys(changes).length === 0) return fail('conversation_settings changes nothing: give muted, pinned, archived or marked_unread', msgId);
  return { ok: true, frame: { type: 'conversation_settings', msg_id: msgId, conversation_id: conv, ...changes } };
}
