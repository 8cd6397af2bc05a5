import type { ErrorCode } from '../protocol/codes.js';
import type { MessageChangeFrame } from '../protocol/frames.js';
import { isLongField } from '../protocol/numbers.js';
import type { MessageAction, MessageActionKind, MessageIndexState, Reaction } from '../schemas/types.generated.js';
import { conversationOf, directConversationId } from './conversations.js';
import { SYSTEM_MSG_ID_PREFIX } from './notices.js';

/**
 * Changes to a message already stamped: recall for everyone, edit, reactions, delete for me.
 * Each travels the send path as a command with an `action` (router → message logic → stamper)
 * and, accepted, becomes an event with its own seq in the conversation, whose content is a
 * JSON body clients apply to the target (so sync replays it and every device converges), and
 * whose `action` carries the target's resulting state for persistence. These are the rules;
 * the processors only call them.
 *
 * Who may do what:
 * - message logic (tables): a group change needs membership; EDIT and REACT also need the
 *   actor not muted and, in a direct conversation, not blocked; it marks group owners and
 *   admins `privileged`;
 * - the stamper (its store of stamped messages, in the conversation's order): the target
 *   exists and is not recalled; RECALL by its sender within the recall window, or by a
 *   privileged actor any time; EDIT by its sender, text only, within the edit window; REACT
 *   within the reaction bounds. DELETE_FOR_ME concerns only the actor's view: no target check.
 *   MEDIA_READY is the server's (the media processor's measures of a message's media, made for
 *   its sender, after message logic as notices are): the target exists, is not recalled, and
 *   is the actor's. No client frame becomes one (`routeChange` knows none).
 */

export const CHANGE_CONTENT_TYPES: Record<Exclude<MessageActionKind, 'OTHER'>, string> = {
  RECALL: 'system/recalled',
  EDIT: 'system/edited',
  REACT: 'system/reaction',
  UNREACT: 'system/reaction',
  DELETE_FOR_ME: 'system/deleted_for_me',
  MEDIA_READY: 'system/media_ready',
};

export interface ChangeLimits {
  recallWindowMs: number;
  editWindowMs: number;
  /** Different emoji on one message. */
  maxReactionEmoji: number;
  /** Reactions on one message, all emoji and users together. */
  maxReactionsPerMessage: number;
  /** Emoji one user may put on one message. */
  maxReactionsPerUser: number;
}

export const DEFAULT_CHANGE_LIMITS: ChangeLimits = { recallWindowMs: 120_000, editWindowMs: 900_000, maxReactionEmoji: 20, maxReactionsPerMessage: 500, maxReactionsPerUser: 3 };

// ---- the client frame (router) ----

/** The command fields a change frame becomes. */
export interface RoutedChange {
  clientMsgId: string;
  /** The conversation the event is stamped in (the actor's own for DELETE_FOR_ME). */
  conversationId: string;
  recipientKind: 'USER' | 'GROUP';
  recipientId: string;
  content: string;
  contentType: string;
  action: MessageAction;
}

export type ChangeCheck = { ok: true; change: RoutedChange } | { ok: false; code: ErrorCode; detail: string };

const MAX_ID = 128;
const MAX_EMOJI_CHARS = 16;
/** Pictographs, flags and keycaps, with their joiners, variation selectors and skin tones. */
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3|[#*0-9])+$/u;
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/** One emoji (a short sequence of emoji code points), never text. */
export function isEmoji(v: string): boolean {
  return v.length > 0 && v.length <= MAX_EMOJI_CHARS && EMOJI.test(v) && PICTOGRAPH.test(v);
}

const malformed = (detail: string): ChangeCheck => ({ ok: false, code: 'MALFORMED_FRAME', detail });

/**
 * A recall_msg, edit_msg, react or delete_for_me frame of `userId`, checked field by field, as
 * the command it becomes. The conversation must be one the user can be in (a direct one of
 * theirs, or a group: membership is message logic's join).
 */
export function routeChange(o: Record<string, unknown>, userId: string, maxContentChars: number): ChangeCheck {
  const clientMsgId = o.msg_id;
  if (typeof clientMsgId !== 'string' || clientMsgId.length === 0 || clientMsgId.length > MAX_ID || /[\s|]/.test(clientMsgId)) return malformed(`msg_id must be a non-empty string of at most ${MAX_ID} characters without spaces or '|'`);
  if (clientMsgId.startsWith(SYSTEM_MSG_ID_PREFIX)) return malformed(`msg_id may not start with '${SYSTEM_MSG_ID_PREFIX}'`);
  const conv = o.conversation_id;
  if (typeof conv !== 'string' || conv.length > 2 * MAX_ID + 3 || /[\s|]/.test(conv)) return malformed('conversation_id must be d:<user>:<user> or g:<group>');
  const ref = conversationOf(conv, userId);
  if (ref === null || (ref.kind === 'group' && (ref.groupId.length === 0 || ref.groupId.includes(':')))) return { ok: false, code: 'FORBIDDEN', detail: 'not a party of that conversation' };
  if (!isLongField(o.seq, 1)) return malformed('seq must be a positive integer below 2^53 - 1');
  const messageId = o.message_id;
  if (messageId !== undefined && (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > MAX_ID)) return malformed('message_id must be a server msg_id');
  const group = ref.kind === 'group';
  const target = { targetConversationId: conv, targetSeq: o.seq, targetMessageId: typeof messageId === 'string' ? messageId : null };
  const action = (kind: MessageActionKind, emoji: string | null = null): MessageAction =>
    ({ kind, ...target, emoji, privileged: false, targetSender: null, version: 0, reactions: [] });
  const inConversation = { clientMsgId, conversationId: conv, recipientKind: group ? 'GROUP' as const : 'USER' as const, recipientId: group ? ref.groupId : ref.peer };
  switch (o.type as MessageChangeFrame['type']) {
    case 'recall_msg':
      return { ok: true, change: { ...inConversation, content: '', contentType: CHANGE_CONTENT_TYPES.RECALL, action: action('RECALL') } };
    case 'edit_msg': {
      if (typeof o.content !== 'string' || o.content.length === 0) return malformed('content must be a non-empty string');
      if (o.content.length > maxContentChars) return malformed(`content longer than ${maxContentChars} characters`);
      return { ok: true, change: { ...inConversation, content: o.content, contentType: CHANGE_CONTENT_TYPES.EDIT, action: action('EDIT') } };
    }
    case 'react': {
      if (typeof o.emoji !== 'string' || !isEmoji(o.emoji)) return { ok: false, code: 'INVALID_EMOJI', detail: `emoji must be one emoji of at most ${MAX_EMOJI_CHARS} UTF-16 units` };
      if (o.remove !== undefined && typeof o.remove !== 'boolean') return malformed('remove must be a boolean');
      const kind = o.remove === true ? 'UNREACT' : 'REACT';
      return { ok: true, change: { ...inConversation, content: o.emoji, contentType: CHANGE_CONTENT_TYPES[kind], action: action(kind, o.emoji) } };
    }
    case 'delete_for_me': {
      // Stamped in the actor's own conversation: it concerns their devices only.
      const self = directConversationId(userId, userId);
      return { ok: true, change: { clientMsgId, conversationId: self, recipientKind: 'USER', recipientId: userId, content: '', contentType: CHANGE_CONTENT_TYPES.DELETE_FOR_ME, action: action('DELETE_FOR_ME') } };
    }
    default:
      return malformed('not a message change');
  }
}

// ---- the target's state (stamper) ----

export const indexKey = (conversationId: string, seq: number): string => `${conversationId}|${seq}`;

export type ChangeVerdict = { ok: true; action: MessageAction; target: MessageIndexState | null } | { ok: false; code: ErrorCode };

/**
 * Judges a change against its target as the stamper's store holds it, at `at` (the gateway's
 * receive time of the change, so a redelivered command is judged the same); accepted, the
 * action as the event carries it and the target's next state (null: nothing to store).
 */
export function judgeChange(actor: string, action: MessageAction, target: MessageIndexState | undefined, at: number, limits: ChangeLimits): ChangeVerdict {
  if (action.kind === 'DELETE_FOR_ME') return { ok: true, action, target: null };
  if (!target || (action.targetMessageId !== null && action.targetMessageId !== target.messageId)) return { ok: false, code: 'MESSAGE_NOT_FOUND' };
  if (target.recalled) return { ok: false, code: 'MESSAGE_RECALLED' };
  const event = { ...action, targetMessageId: target.messageId, targetSender: target.sender };
  const age = at - target.stampedAt;
  switch (action.kind) {
    case 'RECALL': {
      const privileged = action.privileged && target.conversationId.startsWith('g:');
      if (!privileged && target.sender !== actor) return { ok: false, code: 'NOT_MESSAGE_SENDER' };
      if (!privileged && age > limits.recallWindowMs) return { ok: false, code: 'RECALL_WINDOW_PASSED' };
      return { ok: true, action: event, target: { ...target, recalled: true, reactions: [] } };
    }
    case 'EDIT': {
      if (target.sender !== actor) return { ok: false, code: 'NOT_MESSAGE_SENDER' };
      if (target.contentType !== 'text') return { ok: false, code: 'NOT_EDITABLE' };
      if (age > limits.editWindowMs) return { ok: false, code: 'EDIT_WINDOW_PASSED' };
      const version = target.version + 1;
      return { ok: true, action: { ...event, version }, target: { ...target, version } };
    }
    case 'REACT':
    case 'UNREACT': {
      const reactions = applyReaction(target.reactions, actor, action.emoji ?? '', action.kind === 'REACT', limits);
      if (reactions === null) return { ok: false, code: 'REACTION_LIMIT' };
      return { ok: true, action: { ...event, reactions }, target: { ...target, reactions } };
    }
    case 'MEDIA_READY':
      if (target.sender !== actor) return { ok: false, code: 'NOT_MESSAGE_SENDER' };
      // What it changes (the media entries) is nothing a later change is judged on.
      return { ok: true, action: event, target: null };
    default:
      return { ok: false, code: 'MALFORMED_FRAME' };
  }
}

/** The reactions after `user` adds or removes `emoji`; null when adding passes a bound. Adding twice or removing what is not there changes nothing. */
export function applyReaction(current: readonly Reaction[], user: string, emoji: string, add: boolean, limits: ChangeLimits): Reaction[] | null {
  const existing = current.find((r) => r.emoji === emoji);
  if (!add) return current.map((r) => (r.emoji === emoji ? { emoji, users: r.users.filter((u) => u !== user) } : r)).filter((r) => r.users.length > 0);
  if (existing?.users.includes(user)) return [...current];
  const total = current.reduce((n, r) => n + r.users.length, 0);
  const mine = current.filter((r) => r.users.includes(user)).length;
  if (total >= limits.maxReactionsPerMessage || mine >= limits.maxReactionsPerUser) return null;
  if (!existing && current.length >= limits.maxReactionEmoji) return null;
  return existing ? current.map((r) => (r === existing ? { emoji, users: [...r.users, user] } : r)) : [...current, { emoji, users: [user] }];
}

/** What clients read in the event's content: the change, and the target's resulting state. */
export function changeBody(actor: string, action: MessageAction, content: string, at: number): string {
  const base = { actor, conversation_id: action.targetConversationId, target_seq: action.targetSeq, target_msg_id: action.targetMessageId };
  switch (action.kind) {
    case 'RECALL':
      return JSON.stringify({ event: 'recalled', ...base, sender: action.targetSender });
    case 'EDIT':
      return JSON.stringify({ event: 'edited', ...base, content, version: action.version, edited_at: at });
    case 'REACT':
    case 'UNREACT':
      return JSON.stringify({ event: 'reaction', ...base, emoji: action.emoji, added: action.kind === 'REACT', reactions: reactionCounts(action.reactions) });
    case 'MEDIA_READY':
      // The entries themselves travel as the event's `media`, as a message's do.
      return JSON.stringify({ event: 'media_ready', ...base });
    default:
      return JSON.stringify({ event: 'deleted_for_me', ...base });
  }
}

/** Reactions as clients get them. */
export function reactionCounts(reactions: readonly Reaction[]): { emoji: string; count: number; users: string[] }[] {
  return reactions.map((r) => ({ emoji: r.emoji, count: r.users.length, users: r.users }));
}
