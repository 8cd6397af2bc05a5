import { createHash } from 'node:crypto';
import type { ErrorCode } from '../protocol/codes.js';
import { isLongField } from '../protocol/numbers.js';
import type { MessageIndexState, MessageRef } from '../schemas/types.generated.js';
import { conversationOf } from './conversations.js';

/**
 * Replies and forwards: a send that points at another message (`reply_to`, `forward_of` on
 * send_msg). The client names the message by conversation and seq; the stamper, which holds
 * every stamped message in `im.state.messages`, resolves it, so a quote or an attribution is
 * what the server saw, never what a client claims.
 *
 * - A reply quotes a message of its own conversation: the stamper of that conversation adds the
 *   quoted message's sender, an excerpt and its id (a tombstone excerpt when recalled); a target
 *   it does not hold is MESSAGE_NOT_FOUND, another conversation REPLY_OTHER_CONVERSATION.
 * - A forward copies an original the forwarder can see (a direct conversation of theirs: the
 *   router; a group they are a member of: message logic) into a conversation they can send to
 *   (message logic's usual send rules). The command is keyed by the original's conversation, so
 *   the stamper that holds the original checks it (there, not recalled, same content: the store
 *   keeps a hash, not every text) and sends it on, keyed by its own conversation, resolved.
 */

/** Characters of text a reply quotes. */
export const EXCERPT_CHARS = 100;

export type ReferenceCheck = { ok: true; replyTo: MessageRef | null; forwardOf: MessageRef | null } | { ok: false; code: ErrorCode; detail: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_ID = 128;

/** A reference as the client named it; the rest is the stamper's to fill. */
const named = (conversationId: string, seq: number, messageId: string | null): MessageRef =>
  ({ conversationId, seq, messageId, sender: null, excerpt: null, contentType: null, recalled: false, stampedAt: 0 });

/** The `reply_to` and `forward_of` of a send_msg by `userId` into `conversationId`, checked field by field. */
export function routeReferences(o: Record<string, unknown>, userId: string, conversationId: string): ReferenceCheck {
  if (o.reply_to === undefined && o.forward_of === undefined) return { ok: true, replyTo: null, forwardOf: null };
  if (o.reply_to !== undefined && o.forward_of !== undefined) return malformed('a message is a reply or a forward, not both');
  const field = o.reply_to !== undefined ? 'reply_to' : 'forward_of';
  const r = o[field];
  if (!isObject(r)) return malformed(`${field} must be an object {conversation_id, seq, message_id?}`);
  if (!isLongField(r.seq, 1)) return malformed(`${field}.seq must be a positive integer below 2^53 - 1`);
  if (r.message_id !== undefined && (typeof r.message_id !== 'string' || r.message_id.length === 0 || r.message_id.length > MAX_ID)) return malformed(`${field}.message_id must be a server msg_id`);
  const messageId = typeof r.message_id === 'string' ? r.message_id : null;
  if (r.conversation_id !== undefined && (typeof r.conversation_id !== 'string' || r.conversation_id.length === 0 || r.conversation_id.length > 2 * MAX_ID + 3)) return malformed(`${field}.conversation_id must be d:<user>:<user> or g:<group>`);
  if (field === 'reply_to') {
    if (r.conversation_id !== undefined && r.conversation_id !== conversationId) return { ok: false, code: 'REPLY_OTHER_CONVERSATION', detail: 'a reply quotes a message of its own conversation' };
    return { ok: true, replyTo: named(conversationId, r.seq, messageId), forwardOf: null };
  }
  if (typeof r.conversation_id !== 'string') return malformed('forward_of.conversation_id is required');
  const source = conversationOf(r.conversation_id, userId);
  if (source === null || (source.kind === 'group' && (source.groupId.length === 0 || source.groupId.includes(':')))) return { ok: false, code: 'FORWARD_NOT_VISIBLE', detail: 'not a participant of the original\'s conversation' };
  return { ok: true, replyTo: null, forwardOf: named(r.conversation_id, r.seq, messageId) };
}

function malformed(detail: string): ReferenceCheck {
  return { ok: false, code: 'MALFORMED_FRAME', detail };
}

/** What the stamper's store keeps of a message's content: an excerpt to quote and a hash to check forwards against. */
export function indexedContent(content: string, contentType: string): Pick<MessageIndexState, 'excerpt' | 'contentHash'> {
  return { excerpt: excerptOf(content, contentType), contentHash: contentHash(content, contentType) };
}

/** The start of a text, or a placeholder naming the media (`[image]`), never a media id. */
export function excerptOf(content: string, contentType: string): string {
  if (contentType !== 'text') return `[${contentType.split('/')[0]}]`;
  const chars = [...content];
  return chars.length <= EXCERPT_CHARS ? content : `${chars.slice(0, EXCERPT_CHARS - 1).join('')}…`;
}

export function contentHash(content: string, contentType: string): string {
  return createHash('sha256').update(contentType).update('\n').update(content).digest('base64url');
}

export type Resolved = { ok: true; ref: MessageRef } | { ok: false; code: ErrorCode };

function found(ref: MessageRef, target: MessageIndexState | undefined): target is MessageIndexState {
  return target !== undefined && (ref.messageId === null || ref.messageId === target.messageId);
}

/** The quoted message as a reply carries it; a recalled one as a tombstone (no excerpt). */
export function resolveReply(ref: MessageRef, target: MessageIndexState | undefined): Resolved {
  if (!found(ref, target)) return { ok: false, code: 'MESSAGE_NOT_FOUND' };
  const excerpt = target.recalled ? '' : (target.excerpt ?? '');
  return { ok: true, ref: { ...ref, messageId: target.messageId, sender: target.sender, excerpt, contentType: target.contentType, recalled: target.recalled, stampedAt: target.stampedAt } };
}

/**
 * The original of a forward carrying `content`: there, not recalled, the same content (its latest
 * edit). A forward of a forward is attributed to the first original, which the copy carries.
 */
export function resolveForward(ref: MessageRef, content: string, contentType: string, target: MessageIndexState | undefined): Resolved {
  if (!found(ref, target)) return { ok: false, code: 'MESSAGE_NOT_FOUND' };
  if (target.recalled) return { ok: false, code: 'MESSAGE_RECALLED' };
  if (!target.contentHash || target.contentHash !== contentHash(content, contentType)) return { ok: false, code: 'FORWARD_MISMATCH' };
  if (target.forwardOf) return { ok: true, ref: target.forwardOf };
  return { ok: true, ref: { ...ref, messageId: target.messageId, sender: target.sender, excerpt: null, contentType: target.contentType, recalled: false, stampedAt: target.stampedAt } };
}

/** A forward still on its way to its original's stamper. */
export const forwardPending = (m: { forwardOf?: MessageRef | null }): boolean => m.forwardOf != null && m.forwardOf.sender === null;

/** The key a send travels under: an unresolved forward's original's conversation, else its own. */
export const sendKey = (m: { conversationId: string; forwardOf?: MessageRef | null }): string => (forwardPending(m) ? m.forwardOf!.conversationId : m.conversationId);
