import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError, type HttpRequest, type HttpResponse, type HttpRoute } from '../edge/http/routes.js';
import type { QueryableState } from '../streams/index.js';

/**
 * State you can ask about: a read-only HTTP view of the stores and tables a processors process
 * holds (Kafka Streams' interactive queries), for operators. Counts per store, a key's value, the
 * keys under a prefix (`<group>|...`). Behind the operators' credential, IM_ADMIN_TOKEN as a
 * bearer token; without one set the view is off. Served on the metrics port of each processors
 * process (ops/bin/processors.ts) and by the gateway of `make run`. Documented in ops/README.md.
 */
export interface StateViewOptions {
  /** The operators' bearer secret (IM_ADMIN_TOKEN); null: every request is answered 404. */
  adminToken: string | null;
  /** Most entries a prefix listing returns, whatever `limit` asks. */
  maxEntries?: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Compares digests in constant time, so the answer's timing tells nothing about the secret. */
function authorize(req: HttpRequest, token: string | null): void {
  if (token === null) throw new HttpError(404, 'NOT_FOUND', 'the state view is off (IM_ADMIN_TOKEN is not set)');
  const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!given || !timingSafeEqual(digest(given), digest(token))) throw new HttpError(401, 'UNAUTHORIZED', 'admin credentials required');
}

/** Avro `bytes` as base64, not as Node's `{ type: 'Buffer', data: [...] }`. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? raw.toString('base64') : v;
  })) as unknown;
}

const describe = (s: QueryableState) => ({ name: s.topic, kind: s.kind, processors: s.processors, entries: s.view.size });

export function stateViewRoutes(state: () => QueryableState[], options: StateViewOptions): HttpRoute[] {
  const maxEntries = options.maxEntries ?? 1000;
  const find = (name: string | undefined): QueryableState => {
    const s = state().find((x) => x.topic === name);
    if (!s) throw new HttpError(404, 'NOT_FOUND', `no store or table ${name} in this process`);
    return s;
  };
  const route = (path: string, handler: (req: HttpRequest) => HttpResponse): HttpRoute => ({
    method: 'GET',
    path,
    auth: false,
    handler: async (req) => {
      authorize(req, options.adminToken);
      return handler(req);
    },
  });
  return [
    route('/state', () => ({ status: 200, body: { stores: state().map(describe) } })),
    // ?prefix=G lists the entries whose key is `G|...` (every member of group G), at most `limit`, by key.
    route('/state/:store', (req) => {
      const s = find(req.params.store);
      const prefix = req.query.prefix;
      if (prefix === undefined) return { status: 200, body: describe(s) };
      const limit = Math.min(Number(req.query.limit ?? 100) || 100, maxEntries);
      // The first `limit` by key, so two asks of an unchanged table answer alike.
      const matched = [...s.view.withPrefix(prefix)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const entries = matched.slice(0, limit).map(([key, value]) => ({ key, value: jsonSafe(value) }));
      return { status: 200, body: { ...describe(s), prefix, matched: matched.length, entries } };
    }),
    route('/state/:store/:key', (req) => {
      const s = find(req.params.store);
      const key = req.params.key!;
      const value = s.view.get(key);
      if (value === undefined) throw new HttpError(404, 'NOT_FOUND', `no key ${key} in ${s.topic}`);
      return { status: 200, body: { store: s.topic, key, value: jsonSafe(value) } };
    }),
  ];
}
