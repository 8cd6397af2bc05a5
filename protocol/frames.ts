/**
 * The client protocol: JSON text frames over the WebSocket, each with a `type`. The first
 * frames (`send_msg`, `ack`, `heartbeat` in; `message`, `ack`, `error` out) keep the shape clients
 * were built against; the rest extend them. docs/protocol.md documents each with examples; keep the two in step.
 * Field names are snake_case on the wire.
 */

// ---- client -> server ----

export interface SendMsgFrame {
  type: 'send_msg';
  /** Client-generated id; a retry with the same id is stamped once and delivered once. */
  msg_id: string;
  /** A user id, or a group id when `recipient_type` is "group". */
  recipient: string;
  recipient_type?: 'user' | 'group';
  content: string;
  content_type?: string;
  timestamp: number;
  /** Quote a message of this conversation; the server adds its sender and an excerpt. */
  reply_to?: { seq: number; message_id?: string; conversation_id?: string };
  /** Forward a message one can see: its conversation and seq, with its content and content_type as they are now. */
  forward_of?: { conversation_id: string; seq: number; message_id?: string };
  /** Uploaded media (docs/protocol.md#media): 1 to 10 items; `content_type` is then the first item's kind, `content` a caption (may be ''). */
  media?: MediaItem[];
}

/** A media item as the sender declares it: the id of its upload slot and what was uploaded. */
export interface MediaItem {
  id: string;
  kind: 'image' | 'file' | 'audio' | 'video';
  mime: string;
  /** Bytes. */
  size: number;
  name: string;
}

/** A media item as recipients get it; what the media processor measured comes with its MEDIA_READY event and in history. */
export interface MediaItemOut extends MediaItem {
  width?: number;
  height?: number;
  duration_ms?: number;
  /** A thumbnail exists: GET /v1/media/<id>?variant=thumbnail. */
  thumbnail?: boolean;
}

/** A message another one points at, as the server resolved it (docs/protocol.md#replies-and-forwards). */
export interface MessageReference {
  conversation_id: string;
  seq: number;
  msg_id: string | null;
  sender: string | null;
  /** Replies: the start of the quoted text, `[image]` and the like for media, empty when recalled. */
  excerpt?: string;
  content_type: string | null;
  /** Replies: the quoted message was recalled. */
  recalled?: boolean;
  /** Forwards: when the original was sent. */
  timestamp?: number;
}

/**
 * Delivery ack: of one pushed `message` (by its server `msg_id`), or of every message of a
 * conversation pushed to this connection up to `seq` (`conversation_id` and `seq`), so a client
 * coalesces its acks: one frame per conversation for a burst, not one per message.
 */
export type AckInFrame = { type: 'ack'; msg_id: string } | { type: 'ack'; conversation_id: string; seq: number };

export interface HeartbeatFrame {
  type: 'heartbeat';
}

/** Missed messages of a conversation after `after_seq` (reconnect), or of all conversations. */
export interface SyncFrame {
  type: 'sync';
  conversation_id?: string;
  after_seq?: number;
  limit?: number;
}

/** The user has read `conversation_id` up to `seq`. */
export interface ReadFrame {
  type: 'read';
  conversation_id: string;
  seq: number;
}

export interface TypingInFrame {
  type: 'typing';
  recipient: string;
  recipient_type?: 'user' | 'group';
  active: boolean;
}

/** This device is away (idle, hidden) or active again; the user is away when every device is. */
export interface PresenceInFrame {
  type: 'presence';
  status: 'online' | 'away';
}

/** Renew the connection's access token in-band, before it expires. */
export interface TokenRefreshFrame {
  type: 'token_refresh';
  token: string;
}

/**
 * The target of a change to a message: its conversation and seq, and optionally its server
 * `msg_id` (checked when given). `msg_id` is the client's id of the change itself: a retry is
 * applied once, and an `ack` or `error` answers it.
 */
interface MessageChange {
  msg_id: string;
  conversation_id: string;
  seq: number;
  message_id?: string;
}

/** Recall a message for everyone: the sender within IM_RECALL_WINDOW_MS, a group's owner and admins any time. */
export interface RecallMsgFrame extends MessageChange {
  type: 'recall_msg';
}

/** Replace the text of one's own text message, within IM_EDIT_WINDOW_MS. */
export interface EditMsgFrame extends MessageChange {
  type: 'edit_msg';
  content: string;
}

/** Add (or with `remove`, take back) one emoji on a message. */
export interface ReactFrame extends MessageChange {
  type: 'react';
  emoji: string;
  remove?: boolean;
}

/** Hide a message from one's own history, on every device of the user. */
export interface DeleteForMeFrame extends MessageChange {
  type: 'delete_for_me';
}

export type MessageChangeFrame = RecallMsgFrame | EditMsgFrame | ReactFrame | DeleteForMeFrame;
export const MESSAGE_CHANGE_FRAMES = ['recall_msg', 'edit_msg', 'react', 'delete_for_me'] as const;

/** How much of a conversation notifies this user offline: all, only mentions of them, nothing. */
export type MuteSetting = 'none' | 'mentions' | 'all';

/**
 * Change one's own settings of a conversation (docs/protocol.md#conversation-settings); a field
 * left out keeps its value. Answered by a `conversation_settings` frame to every device of the user.
 */
export interface ConversationSettingsInFrame {
  type: 'conversation_settings';
  msg_id: string;
  conversation_id: string;
  muted?: MuteSetting;
  pinned?: boolean;
  archived?: boolean;
  marked_unread?: boolean;
}

export type ClientFrame = SendMsgFrame | AckInFrame | HeartbeatFrame | SyncFrame | ReadFrame | TypingInFrame | TokenRefreshFrame | MessageChangeFrame | PresenceInFrame | ConversationSettingsInFrame;
export const CLIENT_FRAME_TYPES = ['send_msg', 'ack', 'heartbeat', 'sync', 'read', 'typing', 'token_refresh', ...MESSAGE_CHANGE_FRAMES, 'presence', 'conversation_settings'] as const;
/**
 * DELIVERED up to `seq`: made by a gateway from its connections' delivery acks (the highest per
 * user and conversation per interval, edge/gateway/delivered.ts), never sent by a client.
 */
export interface DeliveredFrame {
  type: 'delivered';
  conversation_id: string;
  seq: number;
}

/** Frames the gateway answers itself; all others pass through to the pipeline. */
export const GATEWAY_LOCAL_FRAMES = ['ack', 'heartbeat', 'token_refresh', 'presence'] as const;

// ---- server -> client ----

export interface MessageFrame {
  type: 'message';
  /** Server message id (time-ordered); the client acks with it. */
  msg_id: string;
  client_msg_id: string;
  conversation_id: string;
  sender: string;
  /** The other party (direct) or the group id. */
  recipient: string;
  recipient_type: 'user' | 'group';
  content: string;
  content_type: string;
  mentions: string[];
  timestamp: number;
  sequence_number: number;
  /** History and sync: the message was recalled; its content is gone. */
  recalled?: boolean;
  /** History and sync: the text was edited (content is the latest); version 1 is the first edit. */
  edited_at?: number;
  version?: number;
  /** History and sync: reactions, one entry per emoji. */
  reactions?: { emoji: string; count: number; users: string[] }[];
  /** History and sync: this user deleted the message for themselves; its content is not sent. */
  deleted_for_me?: boolean;
  /** A reply: the quoted message. */
  reply_to?: MessageReference;
  /** A forward: the original, whose sender is the attribution. */
  forwarded_from?: MessageReference;
  /** A media message: its items (docs/protocol.md#media). */
  media?: MediaItemOut[];
}

/** The sender's ack: the message is durably stamped. */
export interface AckOutFrame {
  type: 'ack';
  msg_id: string;
  server_msg_id: string;
  conversation_id: string;
  sequence_number: number;
  timestamp: number;
}

export interface ErrorFrame {
  type: 'error';
  error_code: string;
  error_message: string;
  timestamp: number;
  /** The client msg_id the error is about, when there is one. */
  msg_id?: string;
  /** WEBHOOK_REFUSED: the before-send webhook's own refusal code. */
  error_detail?: string;
}

export interface ReceiptFrame {
  type: 'receipt';
  kind: 'delivered' | 'read';
  conversation_id: string;
  user: string;
  seq: number;
  timestamp: number;
}

export interface TypingOutFrame {
  type: 'typing';
  conversation_id: string;
  user: string;
  active: boolean;
  timestamp: number;
}

export interface SyncResultFrame {
  type: 'sync_result';
  conversation_id: string | null;
  messages: MessageFrame[];
  /** More messages after the last one returned. */
  has_more: boolean;
  timestamp: number;
}

/** The server is going away: reconnect (to any gateway) after `retry_after_ms`. */
export interface ReconnectFrame {
  type: 'reconnect';
  reason: string;
  retry_after_ms: number;
  timestamp: number;
}

/**
 * The connection is admitted and its presence entry written: messages reach it live from here
 * on. The client syncs after this frame, not after the socket opens (what was sent before it
 * may have gone to the store only).
 */
export interface ConnectedFrame {
  type: 'connected';
  connection_id: string;
  user_id: string;
  timestamp: number;
}

export interface HeartbeatOutFrame {
  type: 'heartbeat';
  timestamp: number;
}

/** Answer to `token_refresh`: the connection now lives until `expires_at` (epoch ms). */
export interface TokenRefreshedFrame {
  type: 'token_refreshed';
  expires_at: number;
  timestamp: number;
}

/**
 * A friend's presence changed (or what you may see of it): `hidden` when their setting no longer
 * shows it to you. `last_seen` (epoch ms) is set when offline. Coalesced: at most one a window per user.
 */
export interface PresenceOutFrame {
  type: 'presence';
  user: string;
  state: 'online' | 'away' | 'offline' | 'hidden';
  last_seen: number | null;
  timestamp: number;
}

/**
 * A user's settings of a conversation as they now are, to every device of the user (after a
 * change from any of them, or a read clearing `marked_unread`); `msg_id` answers the frame that made it.
 */
export interface ConversationSettingsOutFrame {
  type: 'conversation_settings';
  conversation_id: string;
  muted: MuteSetting;
  pinned: boolean;
  archived: boolean;
  marked_unread: boolean;
  updated_at: number;
  msg_id?: string;
  timestamp: number;
}

export type ServerFrame = ConversationSettingsOutFrame | ConnectedFrame | PresenceOutFrame | TokenRefreshedFrame | MessageFrame | AckOutFrame | ErrorFrame | ReceiptFrame | TypingOutFrame | SyncResultFrame | ReconnectFrame | HeartbeatOutFrame;
