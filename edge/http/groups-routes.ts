import type { MirrorStore } from '../../connectors/mongo-mirror/mirror-store.js';
import type { GroupCommand, GroupRole, GroupState, MemberState } from '../../schemas/types.generated.js';
import { groupConversationId } from '../../domain/conversations.js';
import { isUserOrGroupId, MAX_GROUP_ANNOUNCEMENT_CHARS, MAX_GROUP_NAME_CHARS, MAX_INVITE_LINK_USES, MAX_REPORT_REASON_CHARS } from '../../protocol/limits.js';
import { linkCode, parseLinkCode } from '../../domain/group-admissions.js';
import type { CommandProducer } from './command-producer.js';
import { accepted, actor, commandIds, idField, idList, idParam, numberField, textField, type CommandRouteOptions } from './command-routes.js';
import { HttpError, type HttpRequest, type HttpRoute } from './routes.js';

export interface GroupRoutesDeps extends CommandRouteOptions {
  commands: CommandProducer;
  /** The query mirror of `im.state.groups` and `im.state.members`. */
  mirror: Pick<MirrorStore, 'groupsOf' | 'group' | 'members' | 'member'>;
}

/** Users one invite command names at most. */
const MAX_INVITES = 100;

/** A Map, not an object: a role named `__proto__` or `constructor` must find nothing. */
const ROLES = new Map<string, GroupRole>([['owner', 'OWNER'], ['admin', 'ADMIN'], ['member', 'MEMBER']]);

const groupBody = (g: GroupState) => ({ group_id: g.groupId, conversation_id: groupConversationId(g.groupId), name: g.name, owner_id: g.ownerId, status: g.status.toLowerCase(), mute_all: g.muteAll, announcement: g.announcement, created_at: g.createdAt, updated_at: g.updatedAt });
const memberBody = (m: MemberState) => ({ user_id: m.userId, role: m.role.toLowerCase(), muted_until: m.mutedUntil || null, joined_at: m.joinedAt });

/**
 * Groups over HTTP. Writes become `im.cmd.group` commands keyed by group and answered 202
 * with a command id (and the new group's id for a create): the groups processor decides, and
 * outcomes reach members as system messages in the group conversation, refusals the actor's
 * inbox. Reads come from the mirror; a group's details only for its members.
 */
export function groupRoutes(deps: GroupRoutesDeps): HttpRoute[] {
  const { newId, now } = commandIds(deps);
  type Parts = Partial<Pick<GroupCommand, 'targets' | 'role' | 'mutedUntil' | 'text' | 'code' | 'expiresAt' | 'maxUses' | 'seq'>>;
  const send = async (req: HttpRequest, groupId: string, action: GroupCommand['action'], parts: Parts = {}) => {
    const correlationId = newId();
    await deps.commands.send('im.cmd.group', groupId, { correlationId, actor: actor(req), groupId, action, targets: [], role: null, mutedUntil: null, text: null, at: now(), ...parts });
    return correlationId;
  };
  const on = (action: GroupCommand['action'], parts: (req: HttpRequest) => Parts = () => ({})) => async (req: HttpRequest) =>
    accepted(await send(req, idParam(req, 'groupId'), action, parts(req)));
  const target = (req: HttpRequest) => [idParam(req, 'userId')];
  /** An invite link's shared code, `<groupId>:<token>`, from the body. */
  const code = (req: HttpRequest) => {
    const parsed = parseLinkCode(textField(req, 'code', { max: 200 })!);
    if (!parsed || !isUserOrGroupId(parsed.groupId)) throw new HttpError(400, 'BAD_REQUEST', 'code is not an invite link code');
    return parsed;
  };
  const byCode = (action: GroupCommand['action']) => async (req: HttpRequest) => {
    const { groupId, token } = code(req);
    return accepted(await send(req, groupId, action, { code: token }), { group_id: groupId });
  };

  return [
    {
      method: 'POST', path: '/v1/groups', auth: true,
      handler: async (req) => {
        const name = textField(req, 'name', { max: MAX_GROUP_NAME_CHARS })!;
        const members = idList(req, 'members', { min: 0 });
        const groupId = newId();
        return accepted(await send(req, groupId, 'CREATE', { text: name.trim(), targets: members }), { group_id: groupId });
      },
    },
    { method: 'DELETE', path: '/v1/groups/:groupId', auth: true, handler: on('DISBAND') },
    { method: 'POST', path: '/v1/groups/:groupId/members', auth: true, handler: on('ADD', (req) => ({ targets: idList(req, 'user_ids') })) },
    { method: 'DELETE', path: '/v1/groups/:groupId/members/:userId', auth: true, handler: on('REMOVE', (req) => ({ targets: target(req) })) },
    { method: 'POST', path: '/v1/groups/:groupId/leave', auth: true, handler: on('LEAVE') },
    {
      method: 'PUT', path: '/v1/groups/:groupId/members/:userId/role', auth: true,
      handler: on('SET_ROLE', (req) => {
        const role = ROLES.get(String((req.body as { role?: unknown } | null)?.role ?? '').toLowerCase());
        if (!role) throw new HttpError(400, 'BAD_REQUEST', 'role must be owner, admin or member');
        return { targets: target(req), role };
      }),
    },
    { method: 'POST', path: '/v1/groups/:groupId/members/:userId/mute', auth: true, handler: on('MUTE_MEMBER', (req) => ({ targets: target(req), mutedUntil: numberField(req, 'until') })) },
    { method: 'DELETE', path: '/v1/groups/:groupId/members/:userId/mute', auth: true, handler: on('UNMUTE_MEMBER', (req) => ({ targets: target(req) })) },
    { method: 'POST', path: '/v1/groups/:groupId/mute-all', auth: true, handler: on('MUTE_ALL') },
    { method: 'DELETE', path: '/v1/groups/:groupId/mute-all', auth: true, handler: on('UNMUTE_ALL') },
    { method: 'PUT', path: '/v1/groups/:groupId/announcement', auth: true, handler: on('ANNOUNCE', (req) => ({ text: textField(req, 'text', { max: MAX_GROUP_ANNOUNCEMENT_CHARS }) })) },
    { method: 'PUT', path: '/v1/groups/:groupId/name', auth: true, handler: on('RENAME', (req) => ({ text: textField(req, 'name', { max: MAX_GROUP_NAME_CHARS }) })) },
    // Ways in: invites the invitee answers, invite links, join requests admins answer.
    { method: 'POST', path: '/v1/groups/:groupId/invites', auth: true, handler: on('INVITE', (req) => ({ targets: idList(req, 'user_ids', { max: MAX_INVITES }) })) },
    { method: 'POST', path: '/v1/groups/:groupId/invite/accept', auth: true, handler: on('ACCEPT_INVITE') },
    { method: 'POST', path: '/v1/groups/:groupId/invite/decline', auth: true, handler: on('DECLINE_INVITE') },
    {
      method: 'POST', path: '/v1/groups/:groupId/links', auth: true,
      handler: async (req) => {
        const groupId = idParam(req, 'groupId');
        const b = (req.body ?? {}) as { expires_at?: unknown; max_uses?: unknown };
        const expiresAt = b.expires_at === undefined || b.expires_at === null ? null : numberField(req, 'expires_at');
        const maxUses = b.max_uses === undefined || b.max_uses === null ? null : b.max_uses;
        if (maxUses !== null && !(Number.isInteger(maxUses) && (maxUses as number) >= 1 && (maxUses as number) <= MAX_INVITE_LINK_USES))
          throw new HttpError(400, 'BAD_REQUEST', `max_uses must be an integer from 1 to ${MAX_INVITE_LINK_USES}`);
        // The token is the secret part of the code; the group id in front routes the join.
        const token = newId();
        return accepted(await send(req, groupId, 'CREATE_LINK', { code: token, expiresAt, maxUses: maxUses as number | null }), { code: linkCode(groupId, token) });
      },
    },
    { method: 'POST', path: '/v1/invite-links/revoke', auth: true, handler: byCode('REVOKE_LINK') },
    { method: 'POST', path: '/v1/invite-links/join', auth: true, handler: byCode('JOIN_BY_LINK') },
    { method: 'POST', path: '/v1/groups/:groupId/join-requests', auth: true, handler: on('REQUEST_JOIN') },
    { method: 'POST', path: '/v1/groups/:groupId/join-requests/:userId/approve', auth: true, handler: on('APPROVE_REQUEST', (req) => ({ targets: target(req) })) },
    { method: 'POST', path: '/v1/groups/:groupId/join-requests/:userId/reject', auth: true, handler: on('REJECT_REQUEST', (req) => ({ targets: target(req) })) },
    {
      // A report of a message (seq) or a member (user_id), kept for moderation; the command id is the report's id.
      method: 'POST', path: '/v1/groups/:groupId/reports', auth: true,
      handler: async (req) => {
        const groupId = idParam(req, 'groupId');
        const b = (req.body ?? {}) as { seq?: unknown; user_id?: unknown };
        const reason = textField(req, 'reason', { max: MAX_REPORT_REASON_CHARS })!.trim();
        if ((b.seq === undefined) === (b.user_id === undefined)) throw new HttpError(400, 'BAD_REQUEST', 'report a message (seq) or a user (user_id)');
        if (b.seq !== undefined && !(Number.isSafeInteger(b.seq) && (b.seq as number) > 0)) throw new HttpError(400, 'BAD_REQUEST', 'seq must be a positive integer');
        const parts: Parts = b.seq !== undefined ? { seq: b.seq as number, text: reason } : { targets: [idField(req, 'user_id')], text: reason };
        const id = await send(req, groupId, 'REPORT', parts);
        return accepted(id, { report_id: id });
      },
    },
    {
      method: 'GET', path: '/v1/groups', auth: true,
      handler: async (req) => {
        const mine = (await deps.mirror.groupsOf(actor(req))).filter((g) => g.group.status === 'ACTIVE');
        return { status: 200, body: { groups: mine.map((g) => ({ ...groupBody(g.group), role: g.member.role.toLowerCase() })) } };
      },
    },
    {
      method: 'GET', path: '/v1/groups/:groupId', auth: true,
      handler: async (req) => {
        const groupId = idParam(req, 'groupId');
        const [group, me] = await Promise.all([deps.mirror.group(groupId), deps.mirror.member(groupId, actor(req))]);
        // Non-members learn nothing, not even whether the group exists.
        if (!group || !me) throw new HttpError(404, 'NOT_FOUND', 'no such group');
        return { status: 200, body: { ...groupBody(group), members: (await deps.mirror.members(groupId)).map(memberBody) } };
      },
    },
  ];
}
