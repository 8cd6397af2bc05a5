import type { ErrorCode } from '../../protocol/codes.js';
import { MAX_GROUP_ANNOUNCEMENT_CHARS as MAX_ANNOUNCEMENT, MAX_GROUP_NAME_CHARS as MAX_NAME } from '../../protocol/limits.js';
import type { GroupCommand, GroupRole, GroupState, MemberState } from '../../schemas/types.generated.js';
import { memberKey } from '../../domain/conversations.js';
import type { NoticeTarget } from '../../domain/notices.js';
import { ADMISSION_ACTIONS, decideAdmission } from './group-admission-rules.js';
import { decideReport } from './group-report-rules.js';
import type { GroupDecision, GroupNotice, GroupRulesConfig, GroupView } from './group-decision.js';

export type { GroupDecision, GroupNotice, GroupRulesConfig, GroupView } from './group-decision.js';
type Notice = GroupNotice;

/**
 * The rules of groups, pure: the group, a member lookup and a command in; the writes and the
 * notices out, or a refusal. Roles rank OWNER > ADMIN > MEMBER, and an actor may only act on
 * members ranked below them. Members of a disbanded group are kept so the "disbanded" notice
 * still reaches them; message logic refuses sends to it first.
 */
const RANK: Record<GroupRole, number> = { OWNER: 3, ADMIN: 2, MEMBER: 1 };

export function decideGroup(view: GroupView, cmd: GroupCommand, cfg: GroupRulesConfig): GroupDecision {
  const { group: g, member } = view;
  const reject = (code: ErrorCode, message: string): GroupDecision => ({ kind: 'reject', code, message });
  const here: NoticeTarget = { kind: 'group', groupId: cmd.groupId };
  // A redelivered command finds its own write (updatedAt = its `at`); it must pass again.
  const replay = g?.updatedAt === cmd.at;
  const targets = [...new Set(cmd.targets)].filter((t) => t !== '');

  if (cmd.action === 'CREATE') {
    if (g && !(replay && g.createdAt === cmd.at && g.ownerId === cmd.actor)) return reject('GROUP_EXISTS', 'a group with that id already exists');
    const name = (cmd.text ?? '').trim();
    if (!name || name.length > MAX_NAME) return reject('BAD_REQUEST', `name must be 1 to ${MAX_NAME} characters`);
    const initial = targets.filter((t) => t !== cmd.actor);
    if (initial.length + 1 > cfg.maxGroupMembers) return reject('GROUP_FULL', `a group has at most ${cfg.maxGroupMembers} members`);
    const group: GroupState = { groupId: cmd.groupId, name, ownerId: cmd.actor, status: 'ACTIVE', muteAll: false, announcement: null, createdAt: cmd.at, updatedAt: cmd.at };
    const mk = (userId: string, role: GroupRole): [string, MemberState] => [memberKey(cmd.groupId, userId), { groupId: cmd.groupId, userId, role, mutedUntil: 0, joinedAt: cmd.at }];
    return { kind: 'apply', group, members: [mk(cmd.actor, 'OWNER'), ...initial.map((u) => mk(u, 'MEMBER'))], admissions: [], notices: [{ target: here, event: 'group_created', body: { name, members: [cmd.actor, ...initial] } }] };
  }

  if (cmd.action === 'OTHER') return reject('BAD_REQUEST', 'unknown group action');
  if (!g) return reject('GROUP_NOT_FOUND', 'no such group');
  if (g.status === 'DISBANDED' && !(cmd.action === 'DISBAND' && replay)) return reject('GROUP_DISBANDED', 'the group was disbanded');
  // Invitees, link holders and requesters are not members yet: their own rules.
  if (ADMISSION_ACTIONS.has(cmd.action)) return decideAdmission(view, g, cmd, cfg);
  if (cmd.action === 'REPORT') return decideReport(view, g, cmd);
  const me = member(cmd.actor);
  // Leaving twice is harmless; it is also how a redelivered LEAVE looks.
  if (!me && cmd.action !== 'LEAVE') return reject('NOT_A_MEMBER', 'only members can change a group');
  const rank = me ? RANK[me.role] : 0;
  const isAdmin = rank >= RANK.ADMIN;
  const next: GroupState = { ...g, updatedAt: cmd.at };
  const apply = (members: [string, MemberState | null][], notices: Notice[], group: GroupState = next): GroupDecision => ({ kind: 'apply', group, members, admissions: [], notices });
  const below = (t: string): string | null => {
    const m = member(t);
    if (!m) return `${t} is not a member`;
    return RANK[m.role] < rank ? null : `${t} does not rank below you`;
  };

  switch (cmd.action) {
    case 'DISBAND':
      if (g.ownerId !== cmd.actor) return reject('FORBIDDEN', 'only the owner can disband the group');
      return apply([], [{ target: here, event: 'group_disbanded', body: {} }], { ...next, status: 'DISBANDED' });
    case 'ADD': {
      if (!isAdmin && !cfg.membersCanInvite) return reject('FORBIDDEN', 'only admins can add members');
      const fresh = targets.filter((t) => !member(t));
      const again = replay ? targets.filter((t) => member(t)?.joinedAt === cmd.at) : [];
      if (view.memberCount + fresh.length > cfg.maxGroupMembers) return reject('GROUP_FULL', `a group has at most ${cfg.maxGroupMembers} members`);
      const added = [...fresh, ...again];
      if (added.length === 0) return apply([], []);
      return apply(fresh.map((u) => [memberKey(g.groupId, u), { groupId: g.groupId, userId: u, role: 'MEMBER', mutedUntil: 0, joinedAt: cmd.at }]), [{ target: here, event: 'members_added', body: { members: added } }]);
    }
    case 'REMOVE': {
      if (!isAdmin) return reject('FORBIDDEN', 'only admins can remove members');
      if (targets.includes(cmd.actor)) return reject('BAD_REQUEST', 'use leave to remove yourself');
      const present = targets.filter((t) => member(t));
      for (const t of present) {
        const why = below(t);
        if (why) return reject('FORBIDDEN', why);
      }
      const gone = replay ? targets.filter((t) => !member(t)) : present;
      if (gone.length === 0) return apply([], []);
      return apply(present.map((u) => [memberKey(g.groupId, u), null]), [
        { target: here, event: 'members_removed', body: { members: gone } },
        // The removed no longer get group messages: tell each in their own inbox.
        ...gone.map((u): Notice => ({ target: { kind: 'inbox', userId: u }, event: 'removed_from_group', body: { group_id: g.groupId, name: g.name } })),
      ]);
    }
    case 'LEAVE':
      if (me?.role === 'OWNER') return reject('OWNER_MUST_TRANSFER', 'transfer ownership or disband the group first');
      if (!me && !replay) return apply([], []);
      return apply(me ? [[memberKey(g.groupId, cmd.actor), null]] : [], [{ target: here, event: 'member_left', body: { user: cmd.actor } }]);
    case 'SET_ROLE': {
      const [t] = targets;
      const transferredAlready = replay && cmd.role === 'OWNER' && g.ownerId === t;
      if (g.ownerId !== cmd.actor && !transferredAlready) return reject('FORBIDDEN', 'only the owner can change roles');
      if (!t || targets.length !== 1 || !cmd.role) return reject('BAD_REQUEST', 'one target and a role are needed');
      const m = member(t);
      if (!m) return reject('NOT_A_MEMBER', `${t} is not a member`);
      if (t === cmd.actor) return reject('BAD_REQUEST', 'the owner cannot change their own role');
      const body = { user: t, role: cmd.role };
      if (cmd.role !== 'OWNER') return apply([[memberKey(g.groupId, t), { ...m, role: cmd.role }]], [{ target: here, event: 'role_changed', body }]);
      // Ownership transfer: the previous owner stays on as an admin.
      const writes: [string, MemberState | null][] = [[memberKey(g.groupId, t), { ...m, role: 'OWNER' }]];
      if (me && me.role === 'OWNER') writes.push([memberKey(g.groupId, cmd.actor), { ...me, role: 'ADMIN' }]);
      return apply(writes, [{ target: here, event: 'role_changed', body: { ...body, previous_owner: cmd.actor } }], { ...next, ownerId: t });
    }
    case 'MUTE_MEMBER':
    case 'UNMUTE_MEMBER': {
      if (!isAdmin) return reject('FORBIDDEN', 'only admins can mute members');
      const until = cmd.action === 'MUTE_MEMBER' ? cmd.mutedUntil ?? 0 : 0;
      if (cmd.action === 'MUTE_MEMBER' && until <= cmd.at) return reject('BAD_REQUEST', 'mute until must be in the future');
      if (targets.length === 0) return reject('BAD_REQUEST', 'name the members to mute');
      for (const t of targets) {
        const why = below(t);
        if (why) return reject(member(t) ? 'FORBIDDEN' : 'NOT_A_MEMBER', why);
      }
      const event = until ? 'member_muted' : 'member_unmuted';
      return apply(targets.map((t) => [memberKey(g.groupId, t), { ...member(t)!, mutedUntil: until }]), [{ target: here, event, body: { members: targets, until: until || null } }]);
    }
    case 'MUTE_ALL':
    case 'UNMUTE_ALL': {
      if (!isAdmin) return reject('FORBIDDEN', 'only admins can mute the group');
      const muteAll = cmd.action === 'MUTE_ALL';
      return apply([], [{ target: here, event: muteAll ? 'group_muted' : 'group_unmuted', body: {} }], { ...next, muteAll });
    }
    case 'ANNOUNCE': {
      if (!isAdmin) return reject('FORBIDDEN', 'only admins can post announcements');
      const text = (cmd.text ?? '').trim();
      if (text.length > MAX_ANNOUNCEMENT) return reject('BAD_REQUEST', `an announcement has at most ${MAX_ANNOUNCEMENT} characters`);
      return apply([], [{ target: here, event: 'announcement', body: { text } }], { ...next, announcement: text || null });
    }
    case 'RENAME': {
      if (!isAdmin) return reject('FORBIDDEN', 'only admins can rename the group');
      const name = (cmd.text ?? '').trim();
      if (!name || name.length > MAX_NAME) return reject('BAD_REQUEST', `name must be 1 to ${MAX_NAME} characters`);
      return apply([], [{ target: here, event: 'group_renamed', body: { name } }], { ...next, name });
    }
    default:
      return reject('BAD_REQUEST', 'unknown group action');
  }
}
