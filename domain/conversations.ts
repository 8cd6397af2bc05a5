/**
 * Conversations as the edge and the pipeline both speak of them. Ids as clients see them in
 * frames: one per user pair (sorted, so both sides agree) and one per group; the keys of the
 * relationship and membership tables; and who takes part in a conversation.
 */
export const directConversationId = (a: string, b: string): string => (a < b ? `d:${a}:${b}` : `d:${b}:${a}`);
export const groupConversationId = (groupId: string): string => `g:${groupId}`;
/** The group of a group conversation id (`g:<groupId>`). */
export const groupIdOf = (conversationId: string): string => conversationId.slice(2);
/** The conversation a message or typing from `sender` to `recipient` is in: the group's, or the pair's. */
export const conversationTo = (sender: string, recipient: string, recipientType?: 'user' | 'group'): string =>
  recipientType === 'group' ? groupConversationId(recipient) : directConversationId(sender, recipient);
/** Key of a relationship: the sorted pair. */
export const userPairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);
/** Key of a membership: `<groupId>|<userId>`, so a group's members are one key prefix. */
export const memberKey = (groupId: string, userId: string): string => `${groupId}|${userId}`;
/** Key of a user's read position in a conversation: `<conversationId>|<userId>`. */
export const readPositionKey = (conversationId: string, userId: string): string => `${conversationId}|${userId}`;
/** Key of a user's settings of a conversation: `<userId>|<conversationId>`, so a user's settings are one key prefix. */
export const settingsKey = (userId: string, conversationId: string): string => `${userId}|${conversationId}`;

/** A conversation as one of its participants sees it: the peer of a direct one, or the group. */
export type ConversationRef = { kind: 'direct'; peer: string } | { kind: 'group'; groupId: string };

/**
 * Parses a conversation id as seen by `userId`; null when the id is not one, or names a direct
 * conversation the user is not part of. A group's membership is not known from its id alone.
 */
export function conversationOf(conversationId: string, userId: string): ConversationRef | null {
  if (conversationId.startsWith('g:')) return { kind: 'group', groupId: groupIdOf(conversationId) };
  if (!conversationId.startsWith('d:')) return null;
  const body = conversationId.slice(2);
  const candidates: string[] = [];
  if (body.startsWith(`${userId}:`)) candidates.push(body.slice(userId.length + 1));
  if (body.endsWith(`:${userId}`)) candidates.push(body.slice(0, body.length - userId.length - 1));
  const peer = candidates.find((p) => directConversationId(userId, p) === conversationId);
  return peer === undefined ? null : { kind: 'direct', peer };
}

/**
 * The membership table as the participant rules read it: keys from `memberKey`, and
 * `withPrefix(groupId)` yields the entries whose key's part before `|` is the group,
 * `countWithPrefix(groupId)` how many there are without visiting them.
 */
export interface Memberships {
  get(key: string): { userId: string } | undefined;
  withPrefix(groupId: string): Iterable<[string, { userId: string }]>;
  countWithPrefix(groupId: string): number;
}

/** Members of a group. */
export function groupMembers(members: Memberships, groupId: string): string[] {
  return [...members.withPrefix(groupId)].map(([, m]) => m.userId);
}

/** A participant's view of a conversation: how many others there are, and who (listed only when asked). */
export interface Participation {
  readonly othersCount: number;
  others(): string[];
}

/**
 * `userId`'s part in the conversation, or null when it is not a participant (not one of the
 * direct pair, not a member of the group). Receipts and typing ask it before telling anyone
 * anything about a conversation; a group's member list is built only for those told, since a
 * member's DELIVERED in a group of 10,000 tells no one and comes once a second from each.
 */
export function participation(members: Memberships, conversationId: string, userId: string): Participation | null {
  const ref = conversationOf(conversationId, userId);
  if (ref === null) return null;
  if (ref.kind === 'direct') return ref.peer === userId ? { othersCount: 0, others: () => [] } : { othersCount: 1, others: () => [ref.peer] };
  if (!members.get(memberKey(ref.groupId, userId))) return null;
  return { othersCount: members.countWithPrefix(ref.groupId) - 1, others: () => groupMembers(members, ref.groupId).filter((u) => u !== userId) };
}
