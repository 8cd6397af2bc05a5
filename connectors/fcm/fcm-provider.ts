import type { SecureClientSessionOptions } from 'node:http2';
import { H2Client } from '../offline-push/h2-client.js';
import { PushVendorError, parseRetryAfter, type PushNotification, type PushOutcome, type PushProvider } from '../offline-push/push-provider.js';
import { FcmTokenSource, type ServiceAccount } from './fcm-token.js';

export interface FcmConfig {
  /** https://fcm.googleapis.com */
  endpoint: string;
  serviceAccount: ServiceAccount;
  requestTimeoutMs: number;
}

interface FcmErrorBody {
  error?: { code?: number; status?: string; message?: string; details?: { '@type'?: string; errorCode?: string }[] };
}

/** FCM error codes meaning this token will never work for this project again. */
const DEAD_TOKEN_CODES = new Set(['UNREGISTERED', 'SENDER_ID_MISMATCH']);
const RETRIABLE_CODES = new Set(['QUOTA_EXCEEDED', 'UNAVAILABLE', 'INTERNAL']);

/**
 * FCM HTTP v1 (`POST /v1/projects/<project>/messages:send`) with an OAuth2 bearer token from
 * the service account. UNREGISTERED (404) or SENDER_ID_MISMATCH: the token is removed;
 * QUOTA_EXCEEDED (429), UNAVAILABLE (503), INTERNAL (500): retriable, honouring Retry-After;
 * 401: the access token is renewed and the send retried.
 */
export function createFcmProvider(config: FcmConfig, options: { tls?: SecureClientSessionOptions; now?: () => number } = {}): PushProvider {
  const client = new H2Client({ origin: config.endpoint, tls: options.tls, requestTimeoutMs: config.requestTimeoutMs });
  const tokens = new FcmTokenSource(config.serviceAccount, { tls: options.tls, requestTimeoutMs: config.requestTimeoutMs, now: options.now });
  const path = `/v1/projects/${encodeURIComponent(config.serviceAccount.project_id)}/messages:send`;
  return {
    platform: 'fcm',
    async send(deviceToken: string, n: PushNotification): Promise<PushOutcome> {
      const message = {
        token: deviceToken,
        notification: { title: n.title, body: n.body },
        data: n.data,
        android: { priority: 'HIGH', ...(n.collapseId ? { collapse_key: n.collapseId } : {}), notification: n.threadId ? { tag: n.threadId } : undefined },
      };
      const headers = { authorization: `Bearer ${await tokens.token()}`, 'content-type': 'application/json; charset=utf-8' };
      const res = await client.request('POST', path, headers, JSON.stringify({ message }));
      if (res.status === 200) return 'sent';
      const err = parseError(res.body);
      const code = err.details?.find((d) => d.errorCode)?.errorCode ?? err.status ?? String(res.status);
      if (DEAD_TOKEN_CODES.has(code)) return 'unregistered';
      if (res.status === 401) {
        tokens.invalidate();
        throw new PushVendorError('fcm', res.status, code, { retriable: true });
      }
      const retriable = RETRIABLE_CODES.has(code) || res.status === 429 || res.status >= 500;
      throw new PushVendorError('fcm', res.status, code, { retriable, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
    },
    async close() {
      await Promise.all([client.close(), tokens.close()]);
    },
  };
}

function parseError(body: string): NonNullable<FcmErrorBody['error']> {
  try {
    return (JSON.parse(body) as FcmErrorBody).error ?? {};
  } catch {
    return {};
  }
}
