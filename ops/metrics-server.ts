import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorMessage } from '../core/errors.js';
import { registry } from '../core/metrics.js';
import { listenError } from '../core/ports.js';
import { HttpError, type HttpRequest, type HttpRoute } from '../edge/http/routes.js';

export interface MetricsServerOptions {
  /** The setting that chose the port, named when it is taken; default IM_METRICS_PORT. */
  setting?: string;
  /** GET routes served beside the probes (the state view, ops/state-view.ts); they check their own credentials. */
  routes?: readonly HttpRoute[];
}

const NOT_FOUND = '{"error_code":"NOT_FOUND","error_message":"No such resource"}';

/** The route whose `:name` pattern matches `path`, with its parameters percent-decoded. */
function match(routes: readonly HttpRoute[], path: string): { route: HttpRoute; params: Record<string, string> } | null {
  const segments = path.split('/');
  for (const route of routes) {
    const pattern = route.path.split('/');
    if (route.method !== 'GET' || pattern.length !== segments.length) continue;
    if (!pattern.every((p, i) => (p.startsWith(':') ? segments[i] !== '' : p === segments[i]))) continue;
    const params: Record<string, string> = {};
    try {
      pattern.forEach((p, i) => {
        if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(segments[i]!);
      });
    } catch {
      throw new HttpError(400, 'BAD_REQUEST', 'a path segment is not valid percent-encoded UTF-8');
    }
    return { route, params };
  }
  return null;
}

async function serveRoute(routes: readonly HttpRoute[], req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  try {
    const found = match(routes, url.pathname);
    if (!found) return false;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const request: HttpRequest = { method: 'GET', path: url.pathname, params: found.params, query: Object.fromEntries(url.searchParams), headers, body: null, remoteAddress: req.socket.remoteAddress ?? '', userId: null };
    const out = await found.route.handler(request);
    send(out.status, out.body);
  } catch (err) {
    if (err instanceof HttpError) send(err.status, { error_code: err.code, error_message: err.message });
    else send(500, { error_code: 'INTERNAL_ERROR', error_message: errorMessage(err) });
  }
  return true;
}

/**
 * /metrics, /healthz and /readyz for processes without the gateway's HTTP server (the
 * pipeline processes), and the GET routes given. `ready()` decides readiness (e.g. tables
 * restored, groups joined). Node listens exclusively; a port already held is a PortInUseError
 * naming `setting`.
 */
export async function startMetricsServer(port: number, readiness: () => { ready: boolean; failing?: string[] }, options: MetricsServerOptions = {}): Promise<{ port: number; close(): Promise<void> }> {
  const setting = options.setting ?? 'IM_METRICS_PORT';
  const routes = options.routes ?? [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const r = readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: r.ready ? 'ready' : 'not ready', failing: r.failing ?? [] }));
    } else if (req.method === 'GET' && routes.length > 0) {
      void serveRoute(routes, req, res, url).then((served) => {
        if (!served) res.writeHead(404, { 'content-type': 'application/json' }).end(NOT_FOUND);
      });
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(NOT_FOUND);
    }
  });
  const host = '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(setting, host, port, err)));
    server.listen({ host, port, exclusive: true }, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
