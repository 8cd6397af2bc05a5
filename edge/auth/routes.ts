import { ErrorCodes } from '../../protocol/codes.js';
import type { HttpRequest, HttpResponse, HttpRoute } from '../http/routes.js';
import { AuthError } from './errors.js';
import type { AuthService } from './service.js';
import { loginBody, refreshTokenBody, registerBody } from './validate.js';

/** Token responses must never sit in a shared cache (RFC 6749 section 5.1). */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function errorResponse(err: AuthError): HttpResponse {
  const headers: Record<string, string> = { ...NO_STORE };
  if (err.retryAfterSec !== undefined) headers['retry-after'] = String(err.retryAfterSec);
  // Login failures get the table's fixed wording: never say which of username or password was wrong.
  const message = err.code === 'INVALID_CREDENTIALS' ? ErrorCodes.INVALID_CREDENTIALS : err.message;
  return { status: err.status, body: { error_code: err.code, error_message: message }, headers };
}

/** Known refusals become `{error_code, error_message}` replies; anything else is the gateway's 500. */
function handle(fn: (req: HttpRequest) => Promise<HttpResponse>): (req: HttpRequest) => Promise<HttpResponse> {
  return async (req) => {
    try {
      return await fn(req);
    } catch (err) {
      if (err instanceof AuthError) return errorResponse(err);
      throw err;
    }
  };
}

/** The auth HTTP API; the gateway mounts these next to the WebSocket endpoint (profiles: profile-routes.ts). */
export function authRoutes(service: AuthService): HttpRoute[] {
  return [
    {
      method: 'POST', path: '/v1/auth/register', auth: false,
      handler: handle(async (req) => {
        const { userId } = await service.register(registerBody(req.body));
        return { status: 201, body: { user_id: userId }, headers: NO_STORE };
      }),
    },
    {
      method: 'POST', path: '/v1/auth/login', auth: false,
      handler: handle(async (req) => {
        const body = loginBody(req.body);
        const pair = await service.login({ ...body, remoteAddress: req.remoteAddress });
        return { status: 200, body: pair, headers: NO_STORE };
      }),
    },
    {
      method: 'POST', path: '/v1/auth/refresh', auth: false,
      handler: handle(async (req) => ({ status: 200, body: await service.refresh(refreshTokenBody(req.body)), headers: NO_STORE })),
    },
    {
      method: 'POST', path: '/v1/auth/logout', auth: false,
      handler: handle(async (req) => {
        await service.logout(refreshTokenBody(req.body));
        return { status: 200, body: { logged_out: true }, headers: NO_STORE };
      }),
    },
    {
      method: 'GET', path: '/.well-known/jwks.json', auth: false,
      // Verifiers cache it; five minutes lets a rotation's new key spread quickly.
      handler: async () => ({ status: 200, body: service.jwks(), headers: { 'cache-control': 'public, max-age=300' } }),
    },
  ];
}
