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
