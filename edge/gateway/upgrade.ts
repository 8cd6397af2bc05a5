import type { Logger } from '../../core/logger.js';
import type { TokenVerifier, VerifiedToken } from '../auth/token-verifier.js';
import type { CloseName, ConnData } from './connections.js';
import type { UwsRequest, UwsResponse, us_socket_context_t } from './uws.js';

export interface UpgradeOptions {
  verifier: TokenVerifier;
  logger: Logger;
  /** Empty: any origin. Clients that send no Origin (native apps) are always allowed. */
  allowedOrigins: readonly string[];
  newConnectionId: () => string;
  accepting: () => boolean;
}

const BEARER = 'bearer.';

/** The token from `?token=` or from a `bearer.<token>` subprotocol; and the subprotocol to answer with. */
export function tokenFrom(query: string, protocolHeader: string): { token: string | null; protocol: string } {
  const offered = protocolHeader.split(',').map((s) => s.trim()).filter(Boolean);
  const bearer = offered.find((p) => p.startsWith(BEARER));
  // Never echo the token back when another protocol (e.g. im.v1) can be selected.
  const protocol = offered.find((p) => !p.startsWith(BEARER)) ?? bearer ?? '';
  const fromQuery = new URLSearchParams(query).get('token');
  return { token: fromQuery || (bearer ? bearer.slice(BEARER.length) : null), protocol };
}

/**
 * The WebSocket upgrade: origin check and local token verification. A refused client is still
 * upgraded, told why in an `error` frame and closed with the documented close code: a browser
 * sees nothing of an HTTP 401/403 on a WebSocket handshake, but it does see a close code.
 */
export function upgradeHandler(o: UpgradeOptions) {
  return (res: UwsResponse, req: UwsRequest, context: us_socket_context_t): void => {
    // uWS invalidates req after this synchronous part: read everything first.
    const key = req.getHeader('sec-websocket-key');
    const extensions = req.getHeader('sec-websocket-extensions');
    const origin = req.getHeader('origin');
    const { token, protocol } = tokenFrom(req.getQuery() ?? '', req.getHeader('sec-websocket-protocol'));
    let aborted = false;
    res.onAborted(() => (aborted = true));

    const unavailable = (): void => {
      res.cork(() => res.writeStatus('503 Service Unavailable').end('shutting down'));
    };
    if (!o.accepting()) return unavailable();
    const data: ConnData = { id: o.newConnectionId(), userId: '', deviceId: '', expiresAt: 0, lastSeen: Date.now(), connectedAt: Date.now(), refused: null, closed: false };
    const finish = (refused: CloseName | null, t?: VerifiedToken): void => {
      if (aborted) return;
      // The gateway may have begun stopping while the token was being verified.
      if (!o.accepting()) return unavailable();
      data.refused = refused;
      if (t) Object.assign(data, { userId: t.userId, deviceId: t.deviceId, expiresAt: t.expiresAt });
      res.cork(() => res.upgrade(data, key, protocol, extensions, context));
    };

    if (origin && o.allowedOrigins.length > 0 && !o.allowedOrigins.includes(origin)) return finish('ORIGIN_FORBIDDEN');
    if (!token) return finish('TOKEN_INVALID');
    o.verifier.verify(token).then(
      (t) => finish(null, t),
      (err: unknown) => {
        const expired = (err as { code?: unknown }).code === 'TOKEN_EXPIRED';
        o.logger.debug('upgrade refused', { reason: expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID', err });
        finish(expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID');
      },
    );
  };
}
