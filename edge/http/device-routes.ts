import type { DeviceTokenStore } from '../../connectors/offline-push/device-tokens.js';
import { DEVICE_PLATFORMS, type DevicePlatform } from '../../connectors/offline-push/push-provider.js';
import { HttpError, type HttpRequest, type HttpRoute } from './routes.js';

const MAX_TOKEN_CHARS = 4096;

/**
 * Device registration for offline push.
 * POST /v1/devices {platform: "apns"|"fcm", token}: 204; registering a token again moves it
 *   to the caller (one phone, another account).
 * DELETE /v1/devices/:token: 204, or 404 when the caller has no such token (logout).
 */
export function deviceRoutes(tokens: DeviceTokenStore): HttpRoute[] {
  return [
    {
      method: 'POST',
      path: '/v1/devices',
      auth: true,
      handler: async (req) => {
        const body = req.body as { platform?: unknown; token?: unknown } | null;
        const platform = body?.platform;
        const token = body?.token;
        if (typeof platform !== 'string' || !DEVICE_PLATFORMS.includes(platform as DevicePlatform))
          throw new HttpError(400, 'BAD_REQUEST', `platform must be one of ${DEVICE_PLATFORMS.join(', ')}`);
        if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS || /\s/.test(token))
          throw new HttpError(400, 'BAD_REQUEST', 'token must be a non-empty string without spaces');
        await tokens.register({ userId: userOf(req), platform: platform as DevicePlatform, token });
        return { status: 204, body: null };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/devices/:token',
      auth: true,
      handler: async (req) => {
        const token = req.params.token;
        if (!token) throw new HttpError(400, 'BAD_REQUEST', 'token missing');
        if (!(await tokens.unregister(userOf(req), token))) throw new HttpError(404, 'NOT_FOUND', 'no such device token');
        return { status: 204, body: null };
      },
    },
  ];
}

function userOf(req: HttpRequest): string {
  if (!req.userId) throw new HttpError(401, 'UNAUTHORIZED', 'missing credentials');
  return req.userId;
}
