import { isUserOrGroupId } from '../../protocol/limits.js';
import type { PeoplePresence } from '../presence/people.js';
import { actor } from './command-routes.js';
import { HttpError, type HttpRoute } from './routes.js';

/**
 * Presence of people over HTTP: what the caller may see of up to `pageMax` users at once (a
 * client's friend list on load; changes then arrive as `presence` frames). Never cached: it is
 * the state now.
 */
export function presenceRoutes(people: Pick<PeoplePresence, 'view'>, options: { pageMax: number }): HttpRoute[] {
  return [
    {
      method: 'GET', path: '/v1/presence', auth: true,
      handler: async (req) => {
        const me = actor(req);
        const ids = [...new Set((req.query.ids ?? '').split(',').filter(Boolean))];
        if (ids.length === 0 || ids.length > options.pageMax || !ids.every(isUserOrGroupId)) throw new HttpError(400, 'BAD_REQUEST', `ids must be 1-${options.pageMax} comma-separated user ids`);
        return { status: 200, body: { presence: await people.view(me, ids) }, headers: { 'cache-control': 'no-store' } };
      },
    },
  ];
}
