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
  /** Parsed JSON body (null when empty, and always null on a `raw` route). */
  body: unknown;
  /** The body's bytes as sent, on a `raw` route only. */
  rawBody?: Buffer;
  remoteAddress: string;
  /** Set from the verified access token when the route has `auth: true`. */
  userId: string | null;
}

export interface HttpResponse {
  status: number;
  /** Sent as JSON; a Buffer is sent as it is, typed by its `content-type` header (else application/octet-stream). */
  body: unknown;
  headers?: Record<string, string>;
}

export interface HttpRoute {
  method: HttpRequest['method'];
  /** With `:name` parameters, e.g. `/v1/groups/:groupId/members`. */
  path: string;
  auth: boolean;
  /**
   * The body is bytes, not JSON (media uploads): handed over as `rawBody`, up to this route's own
   * `maxBodyBytes` instead of the gateway's JSON limit.
   */
  raw?: { maxBodyBytes: number };
  handler: (req: HttpRequest) => Promise<HttpResponse>;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
