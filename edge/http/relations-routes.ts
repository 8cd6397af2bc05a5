import type { MirrorStore } from '../../connectors/mongo-mirror/mirror-store.js';
import type { RelationAction } from '../../schemas/types.generated.js';
import { userPairKey } from '../../domain/conversations.js';
import type { CommandProducer } from './command-producer.js';
import { accepted, actor, commandIds, idField, idParam, textField, type CommandRouteOptions } from './command-routes.js';
import { HttpError, type HttpRequest, type HttpRoute } from './routes.js';
import type { Profiles } from '../auth/profiles.js';

export interface RelationRoutesDeps extends CommandRouteOptions {
  commands: CommandProducer;
  /** The query mirror of `im.state.relations`, for GET /v1/friends. */
  mirror: Pick<MirrorStore, 'relationsOf'>;
  /**
   * Who can be asked: a friend request names an existing user, by id or by username (404
   * `USER_NOT_FOUND` otherwise). Without it (tests of the command path alone) any well-formed id is taken.
   */
  users?: Pick<Profiles, 'byId' | 'byUsername'>;
}

const USERNAME = /^[a-zA-Z0-9_.-]{3,32}$/;

/**
 * Friends and blocks over HTTP. Writes become `im.cmd.relation` commands keyed by the user
 * pair and answered 202 with a command id: the relations processor decides, and the outcome
 * (or a refusal) reaches the users as system messages. Reads come from the mirror.
 */
export function relationRoutes(deps: RelationRoutesDeps): HttpRoute[] {
  const { newId, now } = commandIds(deps);
  const command = (action: RelationAction, target: (req: HttpRequest) => string | Promise<string>, note?: (req: HttpRequest) => string | null) => async (req: HttpRequest) => {
    const me = actor(req);
    const other = await target(req);
    if (other === me) throw new HttpError(400, 'BAD_REQUEST', 'that is you');
    const correlationId = newId();
    await deps.commands.send('im.cmd.relation', userPairKey(me, other), { correlationId, actor: me, target: other, action, note: note?.(req) ?? null, at: now() });
    return accepted(correlationId);
  };
  const param = (req: HttpRequest) => idParam(req, 'userId');
  /** The request's addressee: `user_id` or `username` (exactly one), and it must exist. */
  const addressee = async (req: HttpRequest): Promise<string> => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.username !== undefined && b.user_id !== undefined) throw new HttpError(400, 'BAD_REQUEST', 'give user_id or username, not both');
    if (b.username !== undefined) {
      // A string of the registration alphabet only: `{"$gt":""}` or any object never reaches the store.
      if (typeof b.username !== 'string' || !USERNAME.test(b.username)) throw new HttpError(400, 'BAD_REQUEST', 'username must be 3-32 characters of letters, digits, _ . -');
      if (!deps.users) throw new HttpError(400, 'BAD_REQUEST', 'username lookup is not available here; give user_id');
      const found = await deps.users.byUsername(b.username);
      if (!found) throw new HttpError(404, 'USER_NOT_FOUND', `no user named ${b.username}`);
      return found.user_id;
    }
    const id = idField(req, 'user_id');
    if (deps.users && id !== actor(req) && !(await deps.users.byId(id))) throw new HttpError(404, 'USER_NOT_FOUND', 'no user with that id');
    return id;
  };
  return [
    { method: 'POST', path: '/v1/friends/requests', auth: true, handler: command('REQUEST', addressee, (req) => textField(req, 'note', { max: 200, optional: true })) },
    { method: 'POST', path: '/v1/friends/requests/:userId/accept', auth: true, handler: command('ACCEPT', param) },
    { method: 'POST', path: '/v1/friends/requests/:userId/reject', auth: true, handler: command('REJECT', param) },
    { method: 'DELETE', path: '/v1/friends/:userId', auth: true, handler: command('UNFRIEND', param) },
    { method: 'POST', path: '/v1/blocks/:userId', auth: true, handler: command('BLOCK', param) },
    { method: 'DELETE', path: '/v1/blocks/:userId', auth: true, handler: command('UNBLOCK', param) },
    {
      method: 'GET', path: '/v1/friends', auth: true,
      handler: async (req) => {
        const me = actor(req);
        const out = { friends: [] as { user_id: string; since: number }[], incoming: [] as string[], outgoing: [] as string[], blocked: [] as string[] };
        for (const r of await deps.mirror.relationsOf(me)) {
          const iAmA = r.userA === me;
          const other = iAmA ? r.userB : r.userA;
          if (r.status === 'FRIENDS') out.friends.push({ user_id: other, since: r.updatedAt });
          else if (r.status === (iAmA ? 'PENDING_B_TO_A' : 'PENDING_A_TO_B')) out.incoming.push(other);
          else if (r.status !== 'NONE') out.outgoing.push(other);
          if (iAmA ? r.blockedByA : r.blockedByB) out.blocked.push(other);
        }
        return { status: 200, body: out };
      },
    },
  ];
}
