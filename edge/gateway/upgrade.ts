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

/** What the token check decided for a connection upgraded while its token was still being verified. */
export type Verdict = { refused: CloseName; token?: undefined } | { refused: null; token: VerifiedToken };

/**
 * The WebSocket upgrade: origin check, then the upgrade itself, synchronously in uWS's upgrade
 * handler, then the local token verification, whose verdict `onVerdict` applies to the open
 * socket (`ConnData.pending` holds the client's frames until then). A refused client is still
 * upgraded, told why in an `error` frame and closed with the documented close code: a browser
 * sees nothing of an HTTP 401/403 on a WebSocket handshake, but it does see a close code.
 *
 * Never upgrade after an await: uWebSockets.js (20.30) corrupts an asynchronous upgrade inside
 * `res.cork` — when the socket's memory is resized in place, HttpResponse::cork reads the
 * freed HTTP state of what is now a WebSocket and, on stray bits, shuts the socket down and
 * closes it ~1 ms after the 101 (close handler: 1006, no message; client: 1006, no close
 * frame) — and outside `res.cork` it prints a warning per upgrade.
 */
export function upgradeHandler(o: UpgradeOptions & { onVerdict: (connectionId: string, verdict: Verdict) => void }) {
  return (res: UwsResponse, req: UwsRequest, context: us_socket_context_t): void => {
    const key = req.getHeader('sec-websocket-key');
    const extensions = req.getHeader('sec-websocket-extensions');
    const origin = req.getHeader('origin');
    const { token, protocol } = tokenFrom(req.getQuery() ?? '', req.getHeader('sec-websocket-protocol'));
    if (!o.accepting()) {
      // Starting or shutting down: no connection can be admitted here now, another try can.
      res.cork(() => res.writeStatus('503 Service Unavailable').writeHeader('Retry-After', '1').end('not accepting connections (starting or shutting down); retry'));
      return;
    }
    const now = Date.now();
    const data: ConnData = { id: o.newConnectionId(), userId: '', deviceId: '', expiresAt: 0, lastSeen: now, connectedAt: now, refused: null, closed: false, pending: null };
    if (origin && o.allowedOrigins.length > 0 && !o.allowedOrigins.includes(origin)) data.refused = 'ORIGIN_FORBIDDEN';
    else if (!token) data.refused = 'TOKEN_INVALID';
    else {
      data.pending = [];
      // Settles after this handler returned, so after the socket's open handler.
      o.verifier.verify(token).then(
        (t) => o.onVerdict(data.id, { refused: null, token: t }),
        (err: unknown) => {
          const expired = (err as { code?: unknown }).code === 'TOKEN_EXPIRED';
          o.logger.debug('upgrade refused', { reason: expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID', err });
          o.onVerdict(data.id, { refused: expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID' });
        },
      );
    }
    res.upgrade(data, key, protocol, extensions, context);
  };
}
