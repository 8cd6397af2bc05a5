// Generated from schemas/avro/*.avsc by schemas/codegen.ts. Do not edit: run `npm run schemas`.

export type AdmissionKind = 'INVITE' | 'REQUEST' | 'LINK';

/** A message that passed the permission join and content processing, ready for stamping. */
export interface CheckedMessage {
  correlationId: string;
  sender: string;
  /** Null for system notifications. */
  origin: null | Origin;
  clientMsgId: string;
  conversationId: string;
  recipientKind: RecipientKind;
  recipientId: string;
  content: string;
  contentType: string;
  mentions: string[];
  clientTimestamp: number;
  receivedAt: number;
  /** Set when the record changes an earlier message (recall, edit, reaction, delete for me) instead of being one. */
  action?: null | MessageAction;
  /** A reply: the message it quotes, resolved by the stamper. */
  replyTo?: null | MessageRef;
  /** A forward: the original; unresolved (sender null) while on its way to the original's conversation, resolved once it comes back keyed by its own. */
  forwardOf?: null | MessageRef;
  /** Checked against the stored objects. */
  media?: MediaRef[];
}

export interface ConversationOp {
  kind: ConversationOpKind;
  conversationId: string;
  /** SUBSCRIBE/UNSUBSCRIBE: whose connections. */
  userId: null | string;
  /** PUBLISH: set when every recipient must ack the frame. */
  messageId: null | string;
  /** PUBLISH: the connection the message came from, which gets its ack instead. */
  exceptConnectionId: null | string;
  /** PUBLISH: the server frame's JSON text, once for every subscriber here. */
  frame: null | string;
}

/** SUBSCRIBE/UNSUBSCRIBE: a member's connections here join or leave the topic. PUBLISH: the frame to every subscriber here. CLOSE: every subscriber here leaves (the group is gone). */
export type ConversationOpKind = 'SUBSCRIBE' | 'UNSUBSCRIBE' | 'PUBLISH' | 'CLOSE';

/** One user's settings of one conversation (mute, pin, archive, marked unread), keyed by <userId>|<conversationId>. */
export interface ConversationSettings {
  userId: string;
  conversationId: string;
  muted: MuteLevel;
  pinned: boolean;
  archived: boolean;
  /** Marked unread by the user; a read of the conversation clears it. */
  markedUnread: boolean;
  updatedAt: number;
}

/** A table's count per key, as `groupByKey().count(topic)` keeps it (streams/topology.ts): the value of every count table's compacted topic. */
export interface Count {
  /** The key counted (the record key, repeated so a reader of the value alone knows it). */
  key: string;
  /** Records counted for the key, each once however often it is replayed. */
  count: number;
}

/** A record a processor gave up on, with the reason and where it came from. */
export interface DeadLetter {
  processor: string;
  sourceTopic: string;
  partition: number;
  offset: string;
  key: null | string;
  /** The original bytes, as consumed. */
  value: null | Buffer;
  errorCode: string;
  reason: string;
  attempts: number;
  failedAt: number;
}

/** The stamper's changelog of (sender, client msg_id) already stamped, so a retried send gets the same id and seq. */
export interface DedupState {
  messageId: string;
  conversationId: string;
  seq: number;
  stampedAt: number;
  /** topic/partition/offset of the record that was stamped: the same position again is a redelivery (re-emit), another one a client retry (ack only). */
  source: string;
  /** A change event's content as stamped (it depends on the target's state then), so a redelivery re-emits the same event. */
  changeContent?: null | string;
  /** A change event's action as stamped, for the same reason. */
  changeAction?: null | MessageAction;
  /** A reply's quote as stamped (it depends on the quoted message's state then), so a redelivery re-emits the same reply. */
  replyTo?: null | MessageRef;
}

export interface Delivery {
  userId: string;
  /** Null: every connection of the user on that gateway. */
  connectionId: null | string;
  /** Set when the client must ack the frame. */
  messageId: null | string;
  /** The server frame's JSON text. */
  frame: string;
}

export type FriendStatus = 'NONE' | 'PENDING_A_TO_B' | 'PENDING_B_TO_A' | 'FRIENDS';

/** OTHER: an action this reader does not know (added later); refused. */
export type GroupAction = 'CREATE' | 'DISBAND' | 'ADD' | 'REMOVE' | 'LEAVE' | 'SET_ROLE' | 'MUTE_MEMBER' | 'UNMUTE_MEMBER' | 'MUTE_ALL' | 'UNMUTE_ALL' | 'ANNOUNCE' | 'RENAME' | 'INVITE' | 'ACCEPT_INVITE' | 'DECLINE_INVITE' | 'CREATE_LINK' | 'REVOKE_LINK' | 'JOIN_BY_LINK' | 'REQUEST_JOIN' | 'APPROVE_REQUEST' | 'REJECT_REQUEST' | 'REPORT' | 'OTHER';

/** An open way into a group: an invite to a user awaiting their answer, a user's join request awaiting an admin, or an invite link. Keyed by <groupId>|invite|<userId>, <groupId>|request|<userId> or <groupId>|link|<token>; compacted, a tombstone settles an invite or request. Links stay (revoked or used up) so a late joiner is told why. */
export interface GroupAdmission {
  groupId: string;
  kind: AdmissionKind;
  /** The invited or requesting user; the token of a link. */
  subject: string;
  /** Who invited, who asked, who created the link. */
  by: string;
  createdAt: number;
  /** Links: epoch ms after which joins are refused; 0: never. */
  expiresAt: number;
  /** Links: joins allowed; 0: no limit. */
  maxUses: number;
  uses: number;
  revoked: boolean;
}

/** A change to a group asked by a user, keyed by group. */
export interface GroupCommand {
  correlationId: string;
  actor: string;
  groupId: string;
  action: GroupAction;
  targets: string[];
  role: null | GroupRole;
  mutedUntil: null | number;
  /** Name for CREATE/RENAME, text for ANNOUNCE. */
  text: null | string;
  at: number;
  /** The invite link's token for CREATE_LINK, REVOKE_LINK and JOIN_BY_LINK. */
  code?: null | string;
  /** CREATE_LINK: when the link stops working (epoch ms); null: never. */
  expiresAt?: null | number;
  /** CREATE_LINK: how many joins the link allows; null: no limit. */
  maxUses?: null | number;
  /** REPORT of a message: its seq in the group's conversation (the target is its sender); null reports the user in targets. */
  seq?: null | number;
}

/** A member's report of a message or a user of a group, kept for moderation; keyed by <groupId>|<reportId>, so a group's reports are one key prefix. */
export interface GroupReport {
  groupId: string;
  /** The command id the reporter was answered with. */
  reportId: string;
  reporter: string;
  /** The user reported: named, or the reported message's sender. */
  target: string;
  /** The message reported, by seq in the group's conversation; null: the user. */
  seq: null | number;
  messageId: null | string;
  reason: string;
  at: number;
}

export type GroupRole = 'OWNER' | 'ADMIN' | 'MEMBER';

/** A group's settings; compacted, keyed by group id. */
export interface GroupState {
  groupId: string;
  name: string;
  ownerId: string;
  status: GroupStatus;
  muteAll: boolean;
  announcement: null | string;
  createdAt: number;
  updatedAt: number;
}

export type GroupStatus = 'ACTIVE' | 'DISBANDED';

/** A client frame as the gateway accepted it, untouched: the gateway holds no business logic. */
export interface IngressFrame {
  /** Follows the frame through every stage and log line. */
  correlationId: string;
  /** From the verified access token, never from the frame. */
  userId: string;
  origin: Origin;
  /** Gateway clock, epoch milliseconds. */
  receivedAt: number;
  /** The frame's `type`, as sent; validated by the router. */
  frameType: string;
  /** The frame's JSON text. */
  payload: string;
}

/** One media item a message carries: an object the sender uploaded (docs/protocol.md#media), named by its server-made id. The sender declares kind, mime, size and name; the send path checks them against the stored object before stamping; the media processor adds what it measured (dimensions, duration, a thumbnail). */
export interface MediaRef {
  /** m + 26 characters [0-9A-Za-z], made by POST /v1/media/uploads (domain/media.ts). */
  id: string;
  /** image, file, audio or video. */
  kind: string;
  mime: string;
  /** Bytes, as declared and checked against the stored object. */
  size: number;
  /** The file name shown to recipients and given to downloads. */
  name: string;
  width: null | number;
  height: null | number;
  durationMs: null | number;
  /** A thumbnail exists (GET /v1/media/<id>?variant=thumbnail). */
  thumbnail: boolean;
}

/** One uploaded object once a message carries it, keyed by media id: who owns it, where it is, which message it belongs to and what became of it. The send path writes ATTACHED when it accepts the message; the media processor completes it (seq, message id, dimensions, thumbnail) and drives RECALLED and DELETED. Mirrored to the query side, where it authorizes downloads. */
export interface MediaState {
  mediaId: string;
  /** The uploader, who alone may attach it. */
  owner: string;
  /** The original's key in the object store (domain/media.ts). */
  objectKey: string;
  kind: string;
  mime: string;
  size: number;
  name: string;
  status: MediaStatus;
  conversationId: string;
  /** The sender's msg_id of the message that attached it: a resend of that message may attach it again (idempotent), any other send is MEDIA_IN_USE. */
  clientMsgId: string;
  /** The message's seq; -1 until the media processor saw it stamped. */
  seq: number;
  /** The message's server id; null until stamped. */
  messageId: null | string;
  attachedAt: number;
  /** Epoch ms after which the janitor deletes the objects (recalled: now + grace; retention). */
  deleteAfter: null | number;
  width: null | number;
  height: null | number;
  durationMs: null | number;
  thumbnailKey: null | string;
}

/** OTHER: a status this reader does not know (added later). */
export type MediaStatus = 'ATTACHED' | 'RECALLED' | 'DELETED' | 'OTHER';

/** One membership, keyed by <groupId>|<userId>; compacted, a tombstone removes it. */
export interface MemberState {
  groupId: string;
  userId: string;
  role: GroupRole;
  mutedUntil: number;
  joinedAt: number;
}

/** Example topology output: one record per user @mentioned in a stamped message (see topologies/examples/). */
export interface MentionNotice {
  /** The mentioned user. */
  userId: string;
  messageId: string;
  conversationId: string;
  seq: number;
  sender: string;
  preview: string;
  at: number;
}

/** A change to a message already stamped (recall, edit, reaction, delete for me, media ready), carried by the command and by the event that records it in the conversation's seq. The router fills the target; message logic whether the actor is a group owner or admin; the stamper the target's resulting state, so every reader applies the event without looking anything up. */
export interface MessageAction {
  kind: MessageActionKind;
  /** The target's conversation: the event's own, except for DELETE_FOR_ME, which travels in the actor's own conversation d:<me>:<me>. */
  targetConversationId: string;
  targetSeq: number;
  /** The target's server id when the client named it (checked against the seq); the stamper sets it on the event. */
  targetMessageId: null | string;
  /** REACT/UNREACT. */
  emoji: null | string;
  /** Set by message logic: the actor is the group's owner or an admin (may recall any message at any time). */
  privileged: boolean;
  /** Event: who sent the target. */
  targetSender: null | string;
  /** Event of EDIT: the target's version after it (the original is 0). */
  version: number;
  /** Event of REACT/UNREACT: every reaction of the target after it. */
  reactions: Reaction[];
}

/** MEDIA_READY: the server (the media processor) measured a message's media, for its sender; no client frame asks for it. OTHER: a kind this reader does not know (added later). */
export type MessageActionKind = 'RECALL' | 'EDIT' | 'REACT' | 'UNREACT' | 'DELETE_FOR_ME' | 'MEDIA_READY' | 'OTHER';

/** The stamper's changelog of the user messages it stamped and what was done to them since (recalled, edited, reactions): what a recall, edit or reaction is judged against, in the conversation's order. */
export interface MessageIndexState {
  conversationId: string;
  seq: number;
  messageId: string;
  sender: string;
  stampedAt: number;
  contentType: string;
  recalled: boolean;
  version: number;
  reactions: Reaction[];
  /** The start of the text (of its latest edit), what a reply quotes; null before replies existed. */
  excerpt?: null | string;
  /** SHA-256 (base64url) of the content (of its latest edit): a forward must carry the same content, so its attribution is true without this store keeping every text. */
  contentHash?: null | string;
  /** A forwarded message: its original, so a forward of it keeps the first sender's attribution. */
  forwardOf?: null | MessageRef;
}

/** A message another one points at: the one a reply quotes, or the original a forward copies. The client names it (conversation, seq, optionally its server id); the stamper, which holds every stamped message in im.state.messages, fills in the rest, so readers show the quote or the attribution without looking anything up. */
export interface MessageRef {
  conversationId: string;
  seq: number;
  /** The server id: checked when the client gave it; set once resolved. */
  messageId: null | string;
  /** Who sent the referenced message; null until the stamper resolved it. */
  sender: null | string;
  /** Reply: the start of the quoted text (at most 100 characters), or a placeholder like [image] for media; empty when recalled. */
  excerpt: null | string;
  contentType: null | string;
  /** Reply: the quoted message was recalled when the reply was stamped (a tombstone excerpt). */
  recalled: boolean;
  /** Forward: when the original was stamped. */
  stampedAt: number;
}

/** NONE: notified; MENTIONS: only messages that mention the user notify; ALL: nothing notifies. */
export type MuteLevel = 'NONE' | 'MENTIONS' | 'ALL';

/** A notification for a user with no live connection (or who did not ack in time). */
export interface OfflinePushTask {
  correlationId: string;
  userId: string;
  messageId: string;
  conversationId: string;
  seq: number;
  sender: string;
  preview: string;
  reason: OfflineReason;
  createdAt: number;
  /** The message mentions the user (or @all): it notifies even in a conversation muted for all but mentions. */
  mentioned?: boolean;
}

export type OfflineReason = 'OFFLINE' | 'ACK_TIMEOUT' | 'BACKPRESSURE';

/** Frames for one gateway to write to its local connections, batched per gateway. */
export interface OnlinePush {
  gatewayId: string;
  correlationId: string;
  createdAt: number;
  deliveries: Delivery[];
  /** Group delivery through the gateway's conversation topics (one per conversation, its members' connections subscribed), applied in order after the deliveries. */
  conversationOps?: ConversationOp[];
}

/** The edge connection a frame came from; replies go back to it. */
export interface Origin {
  gatewayId: string;
  connectionId: string;
  deviceId: string;
}

/** One emoji on a message and who put it there. */
export interface Reaction {
  emoji: string;
  users: string[];
}

/** A user's read and delivered positions in a conversation, keyed by <conversationId>|<userId>. */
export interface ReadState {
  conversationId: string;
  userId: string;
  readSeq: number;
  updatedAt: number;
  /** Highest seq delivered to one of the user's devices (the gateway's batched acks; reading implies it). */
  deliveredSeq?: number;
}

/** A delivered or read receipt from a client, keyed by conversation. */
export interface ReceiptCommand {
  correlationId: string;
  userId: string;
  origin: Origin;
  kind: ReceiptKind;
  conversationId: string;
  seq: number;
  /** The msg_id the client frame carried, if any: an error about the frame echoes it. */
  clientMsgId?: null | string;
  at: number;
}

export type ReceiptKind = 'DELIVERED' | 'READ';

export type RecipientKind = 'USER' | 'GROUP';

export type RelationAction = 'REQUEST' | 'ACCEPT' | 'REJECT' | 'UNFRIEND' | 'BLOCK' | 'UNBLOCK';

/** A change a user asks for in a relationship, keyed by the sorted user pair. */
export interface RelationCommand {
  correlationId: string;
  actor: string;
  target: string;
  action: RelationAction;
  note: null | string;
  at: number;
}

/** The relationship of a user pair (userA < userB); compacted, the sole truth for 'may A and B talk'. */
export interface RelationState {
  userA: string;
  userB: string;
  status: FriendStatus;
  blockedByA: boolean;
  blockedByB: boolean;
  updatedAt: number;
}

/** A validated send_msg, keyed by conversation. */
export interface SendCommand {
  correlationId: string;
  sender: string;
  origin: Origin;
  /** The client's msg_id; idempotency key together with sender. */
  clientMsgId: string;
  /** d:<userA>:<userB> (sorted) or g:<groupId>. */
  conversationId: string;
  recipientKind: RecipientKind;
  recipientId: string;
  content: string;
  contentType: string;
  clientTimestamp: number;
  receivedAt: number;
  /** Set when the record changes an earlier message (recall, edit, reaction, delete for me) instead of being one. */
  action?: null | MessageAction;
  /** A reply: the message it quotes as the client named it (conversation, seq, message id), resolved by the stamper. */
  replyTo?: null | MessageRef;
  /** A forward: the original as the client named it; the command goes first to the original's conversation, where the stamper checks it and sends it on resolved. */
  forwardOf?: null | MessageRef;
  /** As the client declared them; message logic checks each against the stored object before the send goes on (topologies/processors/media-check.ts). */
  media?: MediaRef[];
}

/** The stamper's changelog: the last sequence number of a conversation. */
export interface SequenceState {
  conversationId: string;
  seq: number;
  updatedAt: number;
}

/** A user's change to their settings of one conversation, keyed by conversation; an absent field keeps its value. */
export interface SettingsCommand {
  correlationId: string;
  userId: string;
  origin: Origin;
  conversationId: string;
  clientMsgId?: null | string;
  muted?: null | MuteLevel;
  pinned?: null | boolean;
  archived?: null | boolean;
  markedUnread?: null | boolean;
  at: number;
}

/** A message with its server id and per-conversation sequence number; the durable fact. */
export interface StampedMessage {
  correlationId: string;
  /** Time-ordered server id. */
  messageId: string;
  /** Strictly increasing, gap-free within the conversation. */
  seq: number;
  sender: string;
  origin: null | Origin;
  clientMsgId: string;
  conversationId: string;
  recipientKind: RecipientKind;
  recipientId: string;
  content: string;
  contentType: string;
  mentions: string[];
  clientTimestamp: number;
  receivedAt: number;
  stampedAt: number;
  /** Set when the record changes an earlier message (recall, edit, reaction, delete for me) instead of being one. */
  action?: null | MessageAction;
  /** A reply: the quoted message, resolved (sender, excerpt, seq; a tombstone when recalled). */
  replyTo?: null | MessageRef;
  /** A forward: the original's conversation, seq, id, sender and time: the attribution. */
  forwardOf?: null | MessageRef;
  /** The media the message carries (docs/protocol.md#media); empty for text. */
  media?: MediaRef[];
}

/** A client's request for missed messages (after reconnect), answered with a sync_result frame. */
export interface SyncCommand {
  correlationId: string;
  userId: string;
  origin: Origin;
  /** Null: every conversation of the user with unread messages. */
  conversationId: null | string;
  afterSeq: number;
  limit: number;
  /** The msg_id the client frame carried, if any: an error about the frame echoes it. */
  clientMsgId?: null | string;
  at: number;
}

/** An ephemeral typing indicator; never stored. */
export interface TypingCommand {
  correlationId: string;
  userId: string;
  origin: Origin;
  conversationId: string;
  recipientKind: RecipientKind;
  recipientId: string;
  active: boolean;
  at: number;
}

/** One after-event owed to a webhook endpoint: enqueued by webhook-events, POSTed at least once by webhook-deliveries (connectors/webhooks, docs/protocol.md#webhooks). */
export interface WebhookDelivery {
  /** The same on every delivery of one event, so receivers dedupe on it. */
  eventId: string;
  /** after-send, after-friend-change or after-group-change: picks the endpoint when delivered. */
  event: string;
  correlationId: string;
  /** The JSON body POSTed, fixed when the event is enqueued: every retry sends the same bytes. */
  body: string;
  enqueuedAt: number;
}

/** The value type of every topic, by topic name. */
export interface TopicValues {
  'im.ingress': IngressFrame;
  'im.cmd.send': SendCommand;
  'im.cmd.receipt': ReceiptCommand;
  'im.cmd.typing': TypingCommand;
  'im.cmd.settings': SettingsCommand;
  'im.cmd.sync': SyncCommand;
  'im.cmd.relation': RelationCommand;
  'im.cmd.group': GroupCommand;
  'im.msg.checked': CheckedMessage;
  'im.msg.media-ready': CheckedMessage;
  'im.msg.stamped': StampedMessage;
  'im.push.online': OnlinePush;
  'im.push.offline': OfflinePushTask;
  'im.state.relations': RelationState;
  'im.state.groups': GroupState;
  'im.state.members': MemberState;
  'im.state.admissions': GroupAdmission;
  'im.state.reports': GroupReport;
  'im.state.sequences': SequenceState;
  'im.state.dedup': DedupState;
  'im.state.messages': MessageIndexState;
  'im.state.reads': ReadState;
  'im.state.media': MediaState;
  'im.state.media-messages': MediaState;
  'im.state.conversation-settings': ConversationSettings;
  'im.webhook.deliveries': WebhookDelivery;
  'im.example.mentions': MentionNotice;
  'im.example.conversation-counts': Count;
  'im.example.latest-message': StampedMessage;
  'im.dlq': DeadLetter;
}

export type TopicName = keyof TopicValues;
