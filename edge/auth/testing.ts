import type { HttpRequest, HttpResponse, HttpRoute } from '../http/routes.js';

/** Test support for the auth suites (not a test itself): a fresh database on the real MongoDB. */
export { openTestMongo as openTestDb } from '../../connectors/mongo/testing.js';

/** Calls a route's handler as the gateway would, without a socket. */
export function callRoute(
  routes: HttpRoute[],
  method: HttpRequest['method'],
  path: string,
  body: unknown = null,
  remoteAddress = '192.0.2.1',
): Promise<HttpResponse> {
  const route = routes.find((r) => r.method === method && r.path === path);
  if (!route) throw new Error(`no route ${method} ${path}`);
  return route.handler({ method, path, params: {}, query: {}, headers: {}, body, remoteAddress, userId: null });
}
