import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { registry } from '../../core/metrics.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { HttpError, type HttpRequest, type HttpResponse, type HttpRoute } from '../http/routes.js';
import { ErrorCodes } from '../../protocol/codes.js';
import type { TemplatedApp, UwsRequest, UwsResponse } from './uws.js';

export interface HttpMountOptions {
  routes: readonly HttpRoute[];
  verifier: TokenVerifier;
  logger: Logger;
  maxBodyBytes: number;
  staticDir: string | null;
  /** /readyz answers 200 only while `ready` holds, and names the dependencies not answering. */
  readiness: () => { ready: boolean; failing: string[] };
  /** The text /metrics answers with; default this process's registry (a worker: its whole instance). */
  metrics?: () => Promise<string>;
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };
const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

/** A response whose client may have gone away while we awaited: writes only if still there. */
function responder(res: UwsResponse): { aborted: () => boolean; send: (status: number, body: string | Buffer, headers?: Record<string, string>) => void } {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  return {
    aborted: () => aborted,
    send(status, body, headers = { 'content-type': 'application/json' }) {
      if (aborted) return;
      aborted = true;
      res.cork(() => {
        res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`.trim());
        for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
        res.end(body);
      });
    },
  };
}

const errorBody = (code: string, message: string): string => JSON.stringify({ error_code: code, error_message: message });

/** Strict: a body that is not UTF-8 is refused, not read with replacement characters. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The route's `:name` parameters, percent-decoded; null when one is not valid percent-encoded UTF-8 (decodeURIComponent throws). */
function decodeParams(names: readonly string[], raw: (i: number) => string): Record<string, string> | null {
  const params: Record<string, string> = {};
  try {
    names.forEach((name, i) => (params[name] = decodeURIComponent(raw(i))));
  } catch {
    return null;
  }
  return params;
}

/** Reads the whole body up to `limit` bytes; resolves null when it was larger. */
function readBody(res: UwsResponse, limit: number): Promise<Buffer | null> {
  return new Promise((resolveBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    res.onData((chunk, isLast) => {
      if (!over) {
        size += chunk.byteLength;
        if (size > limit) over = true;
        // The chunk is neutered after this callback: copy it.
        else chunks.push(Buffer.from(new Uint8Array(chunk.slice(0))));
      }
      if (isLast) resolveBody(over ? null : Buffer.concat(chunks));
    });
  });
}

/** Mounts the service routes, /healthz, /readyz, /metrics and the static directory on the app. */
export function mountHttp(app: TemplatedApp, o: HttpMountOptions): void {
  app.get('/healthz', (res) => responder(res).send(200, '{"status":"ok"}'));
  app.get('/readyz', (res) => {
    const r = o.readiness();
    responder(res).send(r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? 'ready' : 'not ready', failing: r.failing }));
  });
  app.get('/metrics', (res) => {
    const r = responder(res);
    (o.metrics ?? (() => registry.metrics()))().then((text) => r.send(200, text, { 'content-type': registry.contentType }), (err) => r.send(500, errorMessage(err), { 'content-type': 'text/plain' }));
  });
  for (const route of o.routes) {
    const paramNames = route.path.split('/').filter((s) => s.startsWith(':')).map((s) => s.slice(1));
    const method = ({ GET: 'get', POST: 'post', PUT: 'put', DELETE: 'del' } as const)[route.method];
    app[method](route.path, (res, req) => void handleRoute(route, paramNames, res, req, o));
  }
  if (o.staticDir) {
    const root = resolve(o.staticDir);
    app.get('/*', (res, req) => void serveStatic(root, req.getUrl(), res));
  }
  app.any('/*', (res) => responder(res).send(404, errorBody('NOT_FOUND', ErrorCodes.NOT_FOUND)));
}

async function handleRoute(route: HttpRoute, paramNames: string[], res: UwsResponse, req: UwsRequest, o: HttpMountOptions): Promise<void> {
  // Everything from the request is read before the first await: uWS invalidates it after.
  const r = responder(res);
  const headers: Record<string, string> = {};
  req.forEach((k, v) => (headers[k] = v));
  const params = decodeParams(paramNames, (i) => req.getParameter(i));
  const query = Object.fromEntries(new URLSearchParams(req.getQuery() ?? ''));
  const path = req.getUrl();
  const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
  const raw = route.method === 'GET' ? Buffer.alloc(0) : await readBody(res, route.raw?.maxBodyBytes ?? o.maxBodyBytes);
  try {
    if (raw === null) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', ErrorCodes.PAYLOAD_TOO_LARGE);
    if (params === null) throw new HttpError(400, 'BAD_REQUEST', 'a path segment is not valid percent-encoded UTF-8');
    let body: unknown = null;
    if (raw.length > 0 && !route.raw) {
      try {
        body = JSON.parse(utf8.decode(raw));
      } catch {
        throw new HttpError(400, 'BAD_REQUEST', 'body is not valid UTF-8 JSON');
      }
    }
    let userId: string | null = null;
    if (route.auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
      if (!m?.[1]) throw new HttpError(401, 'UNAUTHORIZED', 'bearer token required');
      try {
        userId = (await o.verifier.verify(m[1])).userId;
      } catch (err) {
        throw new HttpError(401, (err as { code?: string }).code === 'TOKEN_EXPIRED' ? 'TOKEN_EXPIRED' : 'UNAUTHORIZED', errorMessage(err));
      }
    }
    const request: HttpRequest = { method: route.method, path, params, query, headers, body, remoteAddress, userId };
    if (route.raw) request.rawBody = raw;
    const out: HttpResponse = await route.handler(request);
    if (Buffer.isBuffer(out.body)) return r.send(out.status, out.body, { 'content-type': 'application/octet-stream', ...out.headers });
    const text = out.body === undefined || out.status === 204 ? '' : JSON.stringify(out.body);
    r.send(out.status, text, { 'content-type': 'application/json', ...out.headers });
  } catch (err) {
    if (err instanceof HttpError) return r.send(err.status, errorBody(err.code, err.message));
    o.logger.error('http route failed', { err, method: route.method, path: route.path });
    r.send(500, errorBody('INTERNAL_ERROR', ErrorCodes.INTERNAL_ERROR));
  }
}

async function serveStatic(root: string, url: string, res: UwsResponse): Promise<void> {
  const r = responder(res);
  let rel: string;
  try {
    rel = normalize(decodeURIComponent(url === '/' ? '/index.html' : url));
  } catch {
    return r.send(404, errorBody('NOT_FOUND', ErrorCodes.NOT_FOUND));
  }
  const file = join(root, rel);
  // normalize() resolves '..'; anything that still escapes the root is refused.
  if (!file.startsWith(root + sep)) return r.send(404, errorBody('NOT_FOUND', ErrorCodes.NOT_FOUND));
  try {
    const data = await readFile(file);
    r.send(200, data, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
  } catch {
    r.send(404, errorBody('NOT_FOUND', ErrorCodes.NOT_FOUND));
  }
}
