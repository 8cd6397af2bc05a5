/**
 * The HTTP surface of the edge, independent of uWebSockets.js: each service (auth,
 * relationships, groups, query) exports routes; the gateway mounts them, reads bodies, checks
 * the bearer token when `auth` is set and writes the reply. Errors are `{ error_code,
 * error_message }` with an HTTP status.
 */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON body (null when empty). */
  body: unknown;
  remoteAddress: string;
  /** Set from the verified access token when the route has `auth: true`. */
  userId: string | null;
}

export interface HttpResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface HttpRoute {
  method: HttpRequest['method'];
  /** With `:name` parameters, e.g. `/v1/groups/:groupId/members`. */
  path: string;
  auth: boolean;
  handler: (req: HttpRequest) => Promise<HttpResponse>;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
