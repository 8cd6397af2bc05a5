import { SYSTEM_MSG_ID_PREFIX } from '../protocol/frame-validation.js';
import type { CheckedMessage } from '../schemas/types.generated.js';
import type { Emit } from '../streams/index.js';
import { directConversationId, groupConversationId } from './conversations.js';

/**
 * System notifications (friend request, member joined, command rejected...) are ordinary
 * messages with a `system/*` content type and no origin: they are stamped, delivered, stored
 * and synced like any other, so a client that was offline still learns about them.
 *
 * Their client msg_id is derived from the command's correlation id, so re-processing the
 * same command yields the same id and the stamper's dedup delivers it once, under the
 * prefix the protocol keeps for the server (`SYSTEM_MSG_ID_PREFIX`).
 */
export { SYSTEM_MSG_ID_PREFIX };

export interface NoticeOrigin {
  correlationId: string;
  actor: string;
  at: number;
}

/** Where a notice goes: a direct conversation, a group, or a user's own inbox (notes to self). */
export type NoticeTarget = { kind: 'direct'; peer: string } | { kind: 'group'; groupId: string } | { kind: 'inbox'; userId: string };

/** The JSON body of a notice; snake_case like every wire format. */
export type NoticeBody = Record<string, string | number | boolean | null | string[]>;

export function notice(cmd: NoticeOrigin, target: NoticeTarget, event: string, body: NoticeBody, n = 0): Emit<'im.msg.checked'> {
  const base = { correlationId: cmd.correlationId, origin: null, clientMsgId: `${SYSTEM_MSG_ID_PREFIX}${cmd.correlationId}:${n}`, contentType: `system/${event}`, mentions: [], clientTimestamp: cmd.at, receivedAt: cmd.at };
  const content = JSON.stringify({ event, actor: cmd.actor, command_id: cmd.correlationId, ...body });
  let value: CheckedMessage;
  switch (target.kind) {
    case 'direct':
      value = { ...base, sender: cmd.actor, conversationId: directConversationId(cmd.actor, target.peer), recipientKind: 'USER', recipientId: target.peer, content };
      break;
    case 'group':
      value = { ...base, sender: cmd.actor, conversationId: groupConversationId(target.groupId), recipientKind: 'GROUP', recipientId: target.groupId, content };
      break;
    case 'inbox':
      // The user's notes-to-self conversation doubles as their private system inbox.
      value = { ...base, sender: target.userId, conversationId: directConversationId(target.userId, target.userId), recipientKind: 'USER', recipientId: target.userId, content };
      break;
  }
  return { topic: 'im.msg.checked', key: value.conversationId, value };
}

/** Notices of one command, numbered so each keeps a stable, distinct msg_id. */
export function notices(cmd: NoticeOrigin, list: { target: NoticeTarget; event: string; body: NoticeBody }[]): Emit<'im.msg.checked'>[] {
  return list.map((x, i) => notice(cmd, x.target, x.event, x.body, i));
}

/** A refused HTTP command, told privately to its actor (there is no connection to answer). */
export function rejection(cmd: NoticeOrigin, action: string, code: string, message: string): Emit<'im.msg.checked'> {
  return notice(cmd, { kind: 'inbox', userId: cmd.actor }, 'command_rejected', { action, error_code: code, error_message: message }, 99);
}
