import type { MemberState } from '../../schemas/types.generated.js';
import type { TableView } from '../../streams/index.js';
import { directConversationId } from './replies.js';

/**
 * Who takes part in a conversation, from its id alone (direct: `d:<a>:<b>`, sorted) or from
 * the membership table (group: `g:<groupId>`). Used by receipts, typing and queries to check
 * that a user belongs to a conversation before telling anyone anything about it.
 */
export type ConversationRef = { kind: 'direct'; peer: string } | { kind: 'group'; groupId: string };

/** Parses a conversation id as seen by `userId`; null when the user is not part of it. */
export function conversationOf(conversationId: string, userId: string): ConversationRef | null {
  if (conversationId.startsWith('g:')) return { kind: 'group', groupId: conversationId.slice(2) };
  if (!conversationId.startsWith('d:')) return null;
  const body = conversationId.slice(2);
  const candidates: string[] = [];
  if (body.startsWith(`${userId}:`)) candidates.push(body.slice(userId.length + 1));
  if (body.endsWith(`:${userId}`)) candidates.push(body.slice(0, body.length - userId.length - 1));
  const peer = candidates.find((p) => directConversationId(userId, p) === conversationId);
  return peer === undefined ? null : { kind: 'direct', peer };
}

/** Members of a group from the membership table (keys `<groupId>|<userId>`). */
export function groupMembers(members: TableView<MemberState>, groupId: string): string[] {
  return [...members.withPrefix(groupId)].map(([, m]) => m.userId);
}

/**
 * Everyone in the conversation but `userId`, or null when `userId` is not a participant
 * (not one of the direct pair, not a member of the group).
 */
export function otherParticipants(members: TableView<MemberState>, conversationId: string, userId: string): string[] | null {
  const ref = conversationOf(conversationId, userId);
  if (ref === null) return null;
  if (ref.kind === 'direct') return ref.peer === userId ? [] : [ref.peer];
  if (!members.get(`${ref.groupId}|${userId}`)) return null;
  return groupMembers(members, ref.groupId).filter((u) => u !== userId);
}
