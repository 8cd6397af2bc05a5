import type { ErrorCode } from '../../protocol/codes.js';
import type { FriendStatus, RelationCommand, RelationState } from '../../schemas/types.generated.js';
import type { NoticeBody, NoticeTarget } from '../../domain/notices.js';

/**
 * The rules of relationships, pure: the current state of a pair and a command in, the next
 * state and the notices out (or a refusal). The pair is stored sorted (userA < userB), so
 * "pending from the actor" is PENDING_A_TO_B when the actor is userA.
 */
export type RelationDecision =
  | { kind: 'apply'; next: RelationState; notices: { target: NoticeTarget; event: string; body: NoticeBody }[] }
  | { kind: 'noop' }
  | { kind: 'reject'; code: ErrorCode; message: string };

export function emptyRelation(a: string, b: string): RelationState {
  const [userA, userB] = a < b ? [a, b] : [b, a];
  return { userA, userB, status: 'NONE', blockedByA: false, blockedByB: false, updatedAt: 0 };
}

export function decideRelation(current: RelationState | undefined, cmd: RelationCommand): RelationDecision {
  const { actor, target } = cmd;
  if (actor === target) return { kind: 'reject', code: 'BAD_REQUEST', message: 'a relationship needs two different users' };
  const s = current ?? emptyRelation(actor, target);
  const actorIsA = s.userA === actor;
  const fromActor: FriendStatus = actorIsA ? 'PENDING_A_TO_B' : 'PENDING_B_TO_A';
  const fromTarget: FriendStatus = actorIsA ? 'PENDING_B_TO_A' : 'PENDING_A_TO_B';
  const actorBlocked = actorIsA ? s.blockedByA : s.blockedByB;
  const targetBlocked = actorIsA ? s.blockedByB : s.blockedByA;
  const pending = s.status === 'PENDING_A_TO_B' || s.status === 'PENDING_B_TO_A';
  const set = (change: Partial<RelationState>, notices: { target: NoticeTarget; event: string; body: NoticeBody }[] = []): RelationDecision => ({
    kind: 'apply',
    next: { ...s, ...change, updatedAt: cmd.at },
    notices,
  });
  const direct = (event: string, body: NoticeBody = {}) => ({ target: { kind: 'direct', peer: target } as NoticeTarget, event, body: { target, ...body } });
  const inbox = (event: string) => ({ target: { kind: 'inbox', userId: actor } as NoticeTarget, event, body: { target } });

  switch (cmd.action) {
    case 'REQUEST':
      // A blocked pair cannot befriend; who blocked whom is not revealed to the blocked side.
      if (actorBlocked || targetBlocked) return { kind: 'reject', code: 'BLOCKED', message: 'a block between the users prevents friend requests' };
      if (s.status === 'FRIENDS' || s.status === fromActor) return { kind: 'noop' };
      // Both asked: that is an acceptance.
      if (s.status === fromTarget) return set({ status: 'FRIENDS' }, [direct('friend_accepted')]);
      return set({ status: fromActor }, [direct('friend_request', { note: cmd.note })]);
    case 'ACCEPT':
      if (s.status === 'FRIENDS') return { kind: 'noop' };
      if (s.status !== fromTarget) return { kind: 'reject', code: 'NO_PENDING_REQUEST', message: 'no friend request from that user is pending' };
      return set({ status: 'FRIENDS' }, [direct('friend_accepted')]);
    case 'REJECT':
      if (s.status !== fromTarget) return s.status === 'NONE' ? { kind: 'noop' } : { kind: 'reject', code: 'NO_PENDING_REQUEST', message: 'no friend request from that user is pending' };
      // The requester is not told: a rejection is private, like a block.
      return set({ status: 'NONE' }, [inbox('friend_rejected')]);
    case 'UNFRIEND':
      // Also withdraws the actor's own pending request.
      if (s.status === 'NONE' || s.status === fromTarget) return { kind: 'noop' };
      return set({ status: 'NONE' }, [direct(s.status === 'FRIENDS' ? 'friend_removed' : 'friend_request_cancelled')]);
    case 'BLOCK':
      if (actorBlocked) return { kind: 'noop' };
      // A block overrides pending requests in both directions; a friendship stays but is silenced.
      return set({ status: pending ? 'NONE' : s.status, ...(actorIsA ? { blockedByA: true } : { blockedByB: true }) }, [inbox('user_blocked')]);
    case 'UNBLOCK':
      if (!actorBlocked) return { kind: 'noop' };
      return set(actorIsA ? { blockedByA: false } : { blockedByB: false }, [inbox('user_unblocked')]);
  }
}

/**
 * Does the stored state already show this very command's effect? Then this is a redelivery
 * after a crash between the state write and the notices: the notices are sent again (their
 * ids are stable, so the stamper delivers each once). A command's `at` marks its write.
 */
export function replayedNotices(current: RelationState | undefined, cmd: RelationCommand): RelationDecision | null {
  if (!current || current.updatedAt !== cmd.at) return null;
  // Re-decide against the state before the command: reconstruct it from the action.
  const actorIsA = current.userA === cmd.actor;
  const before: Partial<RelationState> | null = (() => {
    switch (cmd.action) {
      case 'REQUEST': return current.status === (actorIsA ? 'PENDING_A_TO_B' : 'PENDING_B_TO_A') ? { status: 'NONE' } : current.status === 'FRIENDS' ? { status: actorIsA ? 'PENDING_B_TO_A' : 'PENDING_A_TO_B' } : null;
      case 'ACCEPT': return current.status === 'FRIENDS' ? { status: actorIsA ? 'PENDING_B_TO_A' : 'PENDING_A_TO_B' } : null;
      case 'REJECT': return current.status === 'NONE' ? { status: actorIsA ? 'PENDING_B_TO_A' : 'PENDING_A_TO_B' } : null;
      case 'UNFRIEND': return current.status === 'NONE' ? { status: 'FRIENDS' } : null;
      case 'BLOCK': return (actorIsA ? current.blockedByA : current.blockedByB) ? (actorIsA ? { blockedByA: false } : { blockedByB: false }) : null;
      case 'UNBLOCK': return !(actorIsA ? current.blockedByA : current.blockedByB) ? (actorIsA ? { blockedByA: true } : { blockedByB: true }) : null;
    }
  })();
  if (!before) return null;
  const d = decideRelation({ ...current, ...before, updatedAt: 0 }, cmd);
  return d.kind === 'apply' ? d : null;
}
