import type { ConversationSettings, MediaRef, MuteLevel, StampedMessage } from '../schemas/types.generated.js';
import { ErrorCodes, type ErrorCode } from './codes.js';
import type { ConversationSettingsOutFrame, ErrorFrame, MediaItemOut, MessageFrame, MessageReference, MuteSetting } from './frames.js';

/**
 * The `error` frame, built the same way by the gateway and by the processors. `msgId` is the
 * client frame's own, echoed whenever it carried a string one (docs/protocol.md); the message
 * defaults to the code's description.
 */
export function errorFrame(code: ErrorCode, timestamp: number, msgId?: string, detail?: string): ErrorFrame {
  return { type: 'error', error_code: code, error_message: detail ?? ErrorCodes[code], timestamp, ...(msgId !== undefined ? { msg_id: msgId } : {}) };
}

/**
 * Members a membership notice (`members` in a `system/*` body) lists on the wire; past it the
 * list is cut there and `members_count` says how many there were. A 10,000-member group's
 * `group_created` listed every member: a 300 KB frame to each of the 10,000, 3 GB written by
 * the gateways and read by the clients, and the group's setup held them for seconds. The
 * stored notice keeps the whole list (push orchestration subscribes the members from it);
 * the group's member list is the place to read them all.
 */
export const NOTICE_MEMBERS_LISTED = 50;

/** A stamped message's content on the wire: a membership notice's member list cut at NOTICE_MEMBERS_LISTED. */
export function wireContent(m: Pick<StampedMessage, 'content' | 'contentType'>): string {
  // Cheap tests first: only a system notice with a long content can list too many.
  if (!m.contentType.startsWith('system/') || m.content.length < NOTICE_MEMBERS_LISTED * 4) return m.content;
  let body: unknown;
  try {
    body = JSON.parse(m.content);
  } catch {
    return m.content;
  }
  const members = (body as { members?: unknown } | null)?.members;
  if (!Array.isArray(members) || members.length <= NOTICE_MEMBERS_LISTED) return m.content;
  return JSON.stringify({ ...(body as object), members: members.slice(0, NOTICE_MEMBERS_LISTED), members_count: members.length });
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
    content: wireContent(m),
    content_type: m.contentType,
    mentions: m.mentions,
    timestamp: m.stampedAt,
    sequence_number: m.seq,
    ...(m.replyTo ? { reply_to: referenceFrame(m.replyTo) } : {}),
    ...(m.forwardOf ? { forwarded_from: referenceFrame(m.forwardOf) } : {}),
    ...(m.media && m.media.length > 0 ? { media: m.media.map(mediaItemFrame) } : {}),
  };
}

/** A media item on the wire: what was measured only once it was (the MEDIA_READY event adds it). */
export function mediaItemFrame(r: MediaRef): MediaItemOut {
  return {
    id: r.id,
    kind: r.kind as MediaItemOut['kind'],
    mime: r.mime,
    size: r.size,
    name: r.name,
    ...(r.width !== null ? { width: r.width } : {}),
    ...(r.height !== null ? { height: r.height } : {}),
    ...(r.durationMs !== null ? { duration_ms: r.durationMs } : {}),
    ...(r.thumbnail ? { thumbnail: true } : {}),
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

/** The wire's mute setting and the records' (lower case on the wire, an Avro enum in the log). */
export const muteSetting = (m: MuteLevel): MuteSetting => (m === 'ALL' ? 'all' : m === 'MENTIONS' ? 'mentions' : 'none');
export const muteLevel = (m: MuteSetting): MuteLevel => (m === 'all' ? 'ALL' : m === 'mentions' ? 'MENTIONS' : 'NONE');

/** What a conversation's settings are for a user who never changed them. */
export const DEFAULT_SETTINGS = { muted: 'NONE', pinned: false, archived: false, markedUnread: false } as const satisfies Partial<ConversationSettings>;

/** The settings as a client gets them: live in a `conversation_settings` frame, and in the conversation list. */
export function settingsView(s: Pick<ConversationSettings, 'muted' | 'pinned' | 'archived' | 'markedUnread' | 'updatedAt'>): Omit<ConversationSettingsOutFrame, 'type' | 'conversation_id' | 'timestamp' | 'msg_id'> {
  return { muted: muteSetting(s.muted), pinned: s.pinned, archived: s.archived, marked_unread: s.markedUnread, updated_at: s.updatedAt };
}

export function conversationSettingsFrame(s: ConversationSettings, timestamp: number, msgId?: string): ConversationSettingsOutFrame {
  return { type: 'conversation_settings', conversation_id: s.conversationId, ...settingsView(s), timestamp, ...(msgId !== undefined ? { msg_id: msgId } : {}) };
}
