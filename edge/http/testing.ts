import { HttpError, type HttpRequest, type HttpResponse, type HttpRoute } from './routes.js';

/**
 * Test support for route tests (not a test itself): calls the route matching `method path` as
 * the gateway would, with `:params` and the `?query` filled in and an HttpError turned into its response.
 */
export async function callRoute(routes: HttpRoute[], userId: string, method: HttpRequest['method'], url: string, body: unknown = null): Promise<HttpResponse> {
  const [path = '', search = ''] = url.split('?', 2);
  const query = Object.fromEntries(new URLSearchParams(search));
  for (const r of routes) {
    if (r.method !== method) continue;
    const names: string[] = [];
    const re = new RegExp(`^${r.path.replace(/:(\w+)/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    const m = re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    try {
      return await r.handler({ method, path, params, query, headers: {}, body, remoteAddress: '192.0.2.1', userId });
    } catch (err) {
      if (err instanceof HttpError) return { status: err.status, body: { error_code: err.code, error_message: err.message } };
      throw err;
    }
  }
  throw new Error(`no route for ${method} ${path}`);
}
