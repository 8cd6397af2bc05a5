import type { MirrorStore } from '../../connectors/mongo-mirror/mirror-store.js';
import type { RelationAction } from '../../schemas/types.generated.js';
import { userPairKey } from '../../domain/conversations.js';
import type { CommandProducer } from './command-producer.js';
import { accepted, actor, commandIds, idField, idParam, textField, type CommandRouteOptions } from './command-routes.js';
import { HttpError, type HttpRequest, type HttpRoute } from './routes.js';

export interface RelationRoutesDeps extends CommandRouteOptions {
  commands: CommandProducer;
  /** The query mirror of `im.state.relations`, for GET /v1/friends. */
  mirror: Pick<MirrorStore, 'relationsOf'>;
}

/**
 * Friends and blocks over HTTP. Writes become `im.cmd.relation` commands keyed by the user
 * pair and answered 202 with a command id: the relations processor decides, and the outcome
 * (or a refusal) reaches the users as system messages. Reads come from the mirror.
 */
export function relationRoutes(deps: RelationRoutesDeps): HttpRoute[] {
  const { newId, now } = commandIds(deps);
  const command = (action: RelationAction, target: (req: HttpRequest) => string, note?: (req: HttpRequest) => string | null) => async (req: HttpRequest) => {
    const me = actor(req);
    const other = target(req);
    if (other === me) throw new HttpError(400, 'BAD_REQUEST', 'that is you');
    const correlationId = newId();
    await deps.commands.send('im.cmd.relation', userPairKey(me, other), { correlationId, actor: me, target: other, action, note: note?.(req) ?? null, at: now() });
    return accepted(correlationId);
  };
  const param = (req: HttpRequest) => idParam(req, 'userId');
  return [
    { method: 'POST', path: '/v1/friends/requests', auth: true, handler: command('REQUEST', (req) => idField(req, 'user_id'), (req) => textField(req, 'note', { max: 200, optional: true })) },
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
