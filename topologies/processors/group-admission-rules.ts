import type { ErrorCode } from '../../protocol/codes.js';
import type { AdmissionKind, GroupAdmission, GroupCommand, GroupState, MemberState } from '../../schemas/types.generated.js';
import { memberKey } from '../../domain/conversations.js';
import { admissionKey, linkCode } from '../../domain/group-admissions.js';
import type { NoticeTarget } from '../../domain/notices.js';
import type { GroupDecision, GroupNotice, GroupRulesConfig, GroupView } from './group-decision.js';

/** The actions of the ways into a group; decided here, the rest in group-rules.ts. */
export const ADMISSION_ACTIONS = new Set<GroupCommand['action']>(['INVITE', 'ACCEPT_INVITE', 'DECLINE_INVITE', 'CREATE_LINK', 'REVOKE_LINK', 'JOIN_BY_LINK', 'REQUEST_JOIN', 'APPROVE_REQUEST', 'REJECT_REQUEST']);

type Writes = { members: [string, MemberState | null][]; admissions: [string, GroupAdmission | null][] };

/**
 * Invites (the invitee accepts or declines), invite links (expiry by the processor's clock, a
 * use limit, revocable) and join requests (an admin approves or rejects). Nobody becomes a
 * member until then; a join is told in the group as `members_added` with `via`, so routing,
 * webhooks and clients treat it as any other add. A redelivered command (the group's write
 * marker is its `at`) finds its own writes and sends the same notices again.
 */
export function decideAdmission(view: GroupView, g: GroupState, cmd: GroupCommand, cfg: GroupRulesConfig): GroupDecision {
  const reject = (code: ErrorCode, message: string): GroupDecision => ({ kind: 'reject', code, message });
  const replay = g.updatedAt === cmd.at;
  const here: NoticeTarget = { kind: 'group', groupId: g.groupId };
  const inbox = (userId: string): NoticeTarget => ({ kind: 'inbox', userId });
  const apply = (w: Partial<Writes>, notices: GroupNotice[]): GroupDecision => ({ kind: 'apply', group: { ...g, updatedAt: cmd.at }, members: w.members ?? [], admissions: w.admissions ?? [], notices });
  const me = view.member(cmd.actor);
  const isAdmin = me?.role === 'OWNER' || me?.role === 'ADMIN';
  const key = (kind: AdmissionKind, subject: string) => admissionKey(g.groupId, kind, subject);
  const full = () => view.memberCount + 1 > cfg.maxGroupMembers;
  /** A join: the membership, and any invite or request of that user settled with it. */
  const join = (u: string, via: string, tell: GroupNotice[] = []): GroupDecision => {
    if (full()) return reject('GROUP_FULL', `a group has at most ${cfg.maxGroupMembers} members`);
    const settled = (['INVITE', 'REQUEST'] as const).filter((k) => view.admission(key(k, u))).map((k): [string, null] => [key(k, u), null]);
    return apply(
      { members: [[memberKey(g.groupId, u), { groupId: g.groupId, userId: u, role: 'MEMBER', mutedUntil: 0, joinedAt: cmd.at }]], admissions: settled },
      [{ target: here, event: 'members_added', body: { members: [u], via, name: g.name } }, ...tell],
    );
  };
  /** This very command already made `u` a member: a redelivery, told again. */
  const joinedByThis = (u: string) => replay && view.member(u)?.joinedAt === cmd.at;
  const [target] = cmd.targets;

  switch (cmd.action) {
    case 'INVITE': {
      if (!me) return reject('NOT_A_MEMBER', 'only members can invite');
      if (!isAdmin && !cfg.membersCanInvite) return reject('FORBIDDEN', 'only admins can invite');
      const targets = [...new Set(cmd.targets)].filter((t) => t !== '');
      if (targets.length === 0) return reject('BAD_REQUEST', 'name the users to invite');
      const inside = targets.filter((t) => view.member(t));
      if (inside.length > 0) return reject('ALREADY_MEMBER', `${inside.join(', ')} already in the group`);
      // Inviting again while an invite waits changes nothing and tells nobody twice.
      const fresh = targets.filter((t) => { const a = view.admission(key('INVITE', t)); return !a || (replay && a.createdAt === cmd.at); });
      if (fresh.length === 0) return apply({}, []);
      return apply(
        { admissions: fresh.map((u) => [key('INVITE', u), { groupId: g.groupId, kind: 'INVITE', subject: u, by: cmd.actor, createdAt: cmd.at, expiresAt: 0, maxUses: 0, uses: 0, revoked: false }]) },
        [{ target: here, event: 'members_invited', body: { members: fresh } }, ...fresh.map((u): GroupNotice => ({ target: inbox(u), event: 'group_invite', body: { group_id: g.groupId, name: g.name } }))],
      );
    }
    case 'ACCEPT_INVITE':
    case 'DECLINE_INVITE': {
      const accept = cmd.action === 'ACCEPT_INVITE';
      const told: GroupNotice = { target: inbox(cmd.actor), event: accept ? 'group_invite_accepted' : 'group_invite_declined', body: { group_id: g.groupId, name: g.name } };
      if (accept && joinedByThis(cmd.actor)) return apply({}, [{ target: here, event: 'members_added', body: { members: [cmd.actor], via: 'invite', name: g.name } }, told]);
      if (me) return reject('ALREADY_MEMBER', 'you are already in the group');
      const invite = view.admission(key('INVITE', cmd.actor));
      if (!invite) return replay && !accept ? apply({}, [told]) : reject('INVITE_NOT_FOUND', 'no invite to this group is waiting for you');
      if (!accept) return apply({ admissions: [[key('INVITE', cmd.actor), null]] }, [told]);
      return join(cmd.actor, 'invite', [told]);
    }
    case 'CREATE_LINK': {
      if (!isAdmin) return reject(me ? 'FORBIDDEN' : 'NOT_A_MEMBER', 'only admins can create invite links');
      const token = cmd.code ?? '';
      if (!token) return reject('BAD_REQUEST', 'a link needs a code');
      const expiresAt = cmd.expiresAt ?? 0;
      const maxUses = cmd.maxUses ?? 0;
      if (expiresAt !== 0 && expiresAt <= cmd.at) return reject('BAD_REQUEST', 'a link must expire in the future');
      if (maxUses < 0) return reject('BAD_REQUEST', 'max uses must be positive');
      const had = view.admission(key('LINK', token));
      if (had && !(replay && had.createdAt === cmd.at)) return reject('CONFLICT', 'that code is taken');
      return apply(
        { admissions: [[key('LINK', token), { groupId: g.groupId, kind: 'LINK', subject: token, by: cmd.actor, createdAt: cmd.at, expiresAt, maxUses, uses: 0, revoked: false }]] },
        [{ target: inbox(cmd.actor), event: 'invite_link_created', body: { group_id: g.groupId, name: g.name, code: linkCode(g.groupId, token), expires_at: expiresAt || null, max_uses: maxUses || null } }],
      );
    }
    case 'REVOKE_LINK': {
      if (!isAdmin) return reject(me ? 'FORBIDDEN' : 'NOT_A_MEMBER', 'only admins can revoke invite links');
      const link = view.admission(key('LINK', cmd.code ?? ''));
      if (!link) return reject('INVITE_LINK_NOT_FOUND', 'no such invite link');
      const told: GroupNotice = { target: inbox(cmd.actor), event: 'invite_link_revoked', body: { group_id: g.groupId, code: linkCode(g.groupId, link.subject) } };
      if (link.revoked) return apply({}, replay ? [told] : []);
      return apply({ admissions: [[key('LINK', link.subject), { ...link, revoked: true }]] }, [told]);
    }
    case 'JOIN_BY_LINK': {
      if (joinedByThis(cmd.actor)) return apply({}, [{ target: here, event: 'members_added', body: { members: [cmd.actor], via: 'link', name: g.name } }]);
      if (me) return reject('ALREADY_MEMBER', 'you are already in the group');
      const link = view.admission(key('LINK', cmd.code ?? ''));
      if (!link) return reject('INVITE_LINK_NOT_FOUND', 'no such invite link');
      if (link.revoked) return reject('INVITE_LINK_REVOKED', 'the invite link was revoked');
      if (link.expiresAt !== 0 && view.now >= link.expiresAt) return reject('INVITE_LINK_EXPIRED', 'the invite link has expired');
      if (link.maxUses !== 0 && link.uses >= link.maxUses) return reject('INVITE_LINK_USED_UP', 'the invite link has been used up');
      const d = join(cmd.actor, 'link');
      if (d.kind === 'apply') d.admissions.push([key('LINK', link.subject), { ...link, uses: link.uses + 1 }]);
      return d;
    }
    case 'REQUEST_JOIN': {
      if (me) return reject('ALREADY_MEMBER', 'you are already in the group');
      const had = view.admission(key('REQUEST', cmd.actor));
      if (had && !(replay && had.createdAt === cmd.at)) return apply({}, []);
      // Admins are told privately: a request is not the members' business until approved.
      return apply(
        { admissions: [[key('REQUEST', cmd.actor), { groupId: g.groupId, kind: 'REQUEST', subject: cmd.actor, by: cmd.actor, createdAt: cmd.at, expiresAt: 0, maxUses: 0, uses: 0, revoked: false }]] },
        [...view.admins.map((a): GroupNotice => ({ target: inbox(a), event: 'join_requested', body: { group_id: g.groupId, name: g.name, user: cmd.actor } })),
          { target: inbox(cmd.actor), event: 'join_request_sent', body: { group_id: g.groupId, name: g.name } }],
      );
    }
    case 'APPROVE_REQUEST':
    case 'REJECT_REQUEST': {
      if (!isAdmin) return reject(me ? 'FORBIDDEN' : 'NOT_A_MEMBER', 'only admins can answer join requests');
      if (!target || cmd.targets.length !== 1) return reject('BAD_REQUEST', 'name one requester');
      const approve = cmd.action === 'APPROVE_REQUEST';
      const told: GroupNotice = { target: inbox(target), event: approve ? 'join_request_approved' : 'join_request_rejected', body: { group_id: g.groupId, name: g.name } };
      if (approve && joinedByThis(target)) return apply({}, [{ target: here, event: 'members_added', body: { members: [target], via: 'request', name: g.name } }, told]);
      if (view.member(target)) return reject('ALREADY_MEMBER', `${target} is already in the group`);
      if (!view.admission(key('REQUEST', target))) return replay && !approve ? apply({}, [told]) : reject('JOIN_REQUEST_NOT_FOUND', `no join request from ${target} is waiting`);
      if (!approve) return apply({ admissions: [[key('REQUEST', target), null]] }, [told]);
      return join(target, 'request', [told]);
    }
    default:
      return reject('BAD_REQUEST', `${cmd.action} is not an admission`);
  }
}
