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
}

/** Delivery ack of a pushed `message` (by its server `msg_id`). */
export interface AckInFrame {
  type: 'ack';
  msg_id: string;
}

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

/** Renew the connection's access token in-band, before it expires. */
export interface TokenRefreshFrame {
  type: 'token_refresh';
  token: string;
}

export type ClientFrame = SendMsgFrame | AckInFrame | HeartbeatFrame | SyncFrame | ReadFrame | TypingInFrame | TokenRefreshFrame;
export const CLIENT_FRAME_TYPES = ['send_msg', 'ack', 'heartbeat', 'sync', 'read', 'typing', 'token_refresh'] as const;
/** Frames the gateway answers itself; all others pass through to the pipeline. */
export const GATEWAY_LOCAL_FRAMES = ['ack', 'heartbeat', 'token_refresh'] as const;

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

export type ServerFrame = TokenRefreshedFrame | MessageFrame | AckOutFrame | ErrorFrame | ReceiptFrame | TypingOutFrame | SyncResultFrame | ReconnectFrame | HeartbeatOutFrame;
