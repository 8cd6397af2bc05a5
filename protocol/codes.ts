/**
 * Every error code a client can see in an `error` frame or an HTTP error body, and every
 * WebSocket close code, in one table. docs/protocol.md shows the same table.
 */
export const ErrorCodes = {
  // frame level (gateway)
  FRAME_TOO_LARGE: 'Frame larger than the maximum frame size',
  INVALID_JSON: 'Frame is not valid UTF-8 JSON',
  UNKNOWN_FRAME_TYPE: 'Frame type is not part of the protocol',
  MALFORMED_FRAME: 'A required field is missing or has the wrong type',
  RATE_LIMIT_EXCEEDED: 'Too many messages',
  TOKEN_INVALID: 'Access token invalid',
  SENDER_MISMATCH: 'The frame names a sender other than the authenticated user',
  TOO_MANY_DEVICES: 'Too many connections for this user; close one first',
  ORIGIN_FORBIDDEN: 'Origin not allowed',
  INTERNAL_ERROR: 'Unexpected server error',
  // pipeline
  NOT_FRIENDS: 'Direct messages need an accepted friendship',
  BLOCKED: 'One of the users blocked the other',
  NOT_A_MEMBER: 'Sender is not a member of the group',
  MUTED: 'Sender is muted in the group',
  GROUP_DISBANDED: 'The group was disbanded',
  GROUP_NOT_FOUND: 'No such group',
  CONTENT_REJECTED: 'Content was rejected by the content filter',
  SERVICE_UNAVAILABLE: 'Temporarily unavailable; retry later',
  FORBIDDEN: 'Not allowed',
  NO_PENDING_REQUEST: 'No friend request from that user is pending',
  OWNER_MUST_TRANSFER: 'The owner must transfer ownership or disband the group before leaving',
  GROUP_FULL: 'The group has reached its member limit',
  GROUP_EXISTS: 'A group with that id already exists',
  // group lifecycle: invites, invite links, join requests
  ALREADY_MEMBER: 'That user is already a member of the group',
  INVITE_NOT_FOUND: 'No invite to that group is waiting for you',
  INVITE_LINK_NOT_FOUND: 'No such invite link',
  INVITE_LINK_EXPIRED: 'The invite link has expired',
  INVITE_LINK_REVOKED: 'The invite link was revoked',
  INVITE_LINK_USED_UP: 'The invite link has reached its use limit',
  JOIN_REQUEST_NOT_FOUND: 'No join request from that user is waiting',
  // people (profiles, finding users)
  USER_NOT_FOUND: 'No user with that id or username',
  // message lifecycle (recall, edit, reactions)
  MESSAGE_NOT_FOUND: 'No such message in that conversation (or too old to change)',
  MESSAGE_RECALLED: 'The message was recalled',
  NOT_MESSAGE_SENDER: 'Only the sender may do that to a message',
  RECALL_WINDOW_PASSED: 'Too late to recall that message',
  EDIT_WINDOW_PASSED: 'Too late to edit that message',
  NOT_EDITABLE: 'Only text messages can be edited',
  REACTION_LIMIT: 'Too many reactions on that message',
  INVALID_EMOJI: 'A reaction is one emoji',
  // replies and forwards
  REPLY_OTHER_CONVERSATION: 'A reply quotes a message of its own conversation',
  FORWARD_NOT_VISIBLE: "Only a participant of the original's conversation may forward it",
  FORWARD_MISMATCH: "A forward carries the original's content and content_type as they are now",
  // media (docs/protocol.md#media)
  MEDIA_NOT_FOUND: 'No such media of yours (never uploaded, expired or deleted), or not yet attached',
  MEDIA_MISMATCH: 'The uploaded object is not what the message declares (size, type or content); it was deleted',
  MEDIA_TYPE_NOT_ALLOWED: 'That media type is not allowed for that kind',
  MEDIA_TOO_LARGE: 'The media is larger than its kind allows',
  MEDIA_EMPTY: 'The media has no bytes',
  MEDIA_BAD_NAME: 'A file name is 1 to 255 characters without path separators, control characters or only dots',
  MEDIA_QUOTA_EXCEEDED: 'Daily upload quota used up; retry tomorrow',
  MEDIA_IN_USE: 'That media is attached to another message already',
  MEDIA_GONE: 'The media was recalled or deleted',
  // webhooks (docs/protocol.md#webhooks)
  WEBHOOK_REFUSED: "Refused by the operator's before-send webhook; error_detail holds its own code",
  // http
  BAD_REQUEST: 'Request body invalid',
  UNAUTHORIZED: 'Missing or invalid credentials',
  NOT_FOUND: 'No such resource',
  CONFLICT: 'Already exists',
  TOO_MANY_REQUESTS: 'Too many requests',
  PAYLOAD_TOO_LARGE: 'Request body larger than allowed',
  // auth
  INVALID_CREDENTIALS: 'Username or password is wrong',
  USERNAME_TAKEN: 'That username is already registered',
  REFRESH_INVALID: 'Refresh token unknown, expired or revoked; log in again',
  REFRESH_REUSED: 'Refresh token was already used; its whole session family is revoked, log in again',
  TOKEN_EXPIRED: 'Access token expired; refresh it',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** WebSocket close codes: 4000-4099 reconnect allowed, 4100-4199 terminal (fix, then reconnect). */
export const CloseCodes = {
  GOING_AWAY: { code: 4000, reconnect: true, reason: 'server shutting down; reconnect elsewhere' },
  HEARTBEAT_TIMEOUT: { code: 4001, reconnect: true, reason: 'no heartbeat within the timeout' },
  SLOW_CONSUMER: { code: 4002, reconnect: true, reason: 'client too slow; buffered bytes over the bound, sync after reconnect' },
  TOKEN_EXPIRED: { code: 4100, reconnect: false, reason: 'access token expired; refresh it, then reconnect' },
  TOKEN_INVALID: { code: 4101, reconnect: false, reason: 'access token invalid' },
  TOO_MANY_DEVICES: { code: 4102, reconnect: false, reason: 'too many devices connected for this user' },
  ORIGIN_FORBIDDEN: { code: 4103, reconnect: false, reason: 'origin not allowed' },
  DEVICE_REPLACED: { code: 4104, reconnect: false, reason: 'replaced by a newer connection of the same device' },
} as const;
