import { H2Client } from '../offline-push/h2-client.js';
import type { SecureClientSessionOptions } from 'node:http2';
import { PushVendorError, parseRetryAfter, type PushNotification, type PushOutcome, type PushProvider } from '../offline-push/push-provider.js';
import { ApnsTokenSource, type ApnsTokenConfig } from './apns-token.js';

export interface ApnsConfig extends ApnsTokenConfig {
  /** https://api.push.apple.com (production) or https://api.sandbox.push.apple.com. */
  endpoint: string;
  /** The app's bundle id: the `apns-topic` header. */
  bundleId: string;
  requestTimeoutMs: number;
}

/** Reasons (HTTP 400) meaning the token is not usable for this app: treat it as dead. */
const DEAD_TOKEN_REASONS = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic', 'Unregistered']);
const TOKEN_REASONS = new Set(['ExpiredProviderToken', 'InvalidProviderToken']);

/**
 * APNs over HTTP/2 with token-based authentication (Apple's "Sending notification requests to
 * APNs"): POST /3/device/<token> on one reused connection, `authorization: bearer <JWT>`,
 * `apns-topic`, `apns-push-type: alert`. 200 sent; 410 Unregistered or a dead-token 400: the
 * token is removed; 429 and 5xx retriable; 403 with a provider-token reason renews the JWT.
 */
export function createApnsProvider(config: ApnsConfig, options: { tls?: SecureClientSessionOptions; now?: () => number } = {}): PushProvider {
  const client = new H2Client({ origin: config.endpoint, tls: options.tls, requestTimeoutMs: config.requestTimeoutMs });
  const tokens = new ApnsTokenSource(config, options.now);
  return {
    platform: 'apns',
    async send(deviceToken: string, n: PushNotification): Promise<PushOutcome> {
      const payload = { aps: { alert: { title: n.title, body: n.body }, sound: 'default', ...(n.threadId ? { 'thread-id': n.threadId } : {}) }, ...n.data };
      const headers: Record<string, string> = {
        authorization: `bearer ${await tokens.token()}`,
        'apns-topic': config.bundleId,
        'apns-push-type': 'alert',
        'apns-priority': '10',
        'content-type': 'application/json',
      };
      if (n.collapseId) headers['apns-collapse-id'] = n.collapseId;
      const res = await client.request('POST', `/3/device/${encodeURIComponent(deviceToken)}`, headers, JSON.stringify(payload));
      if (res.status === 200) return 'sent';
      const reason = readReason(res.body);
      if (res.status === 410 || (res.status === 400 && DEAD_TOKEN_REASONS.has(reason))) return 'unregistered';
      if (res.status === 403 && TOKEN_REASONS.has(reason)) {
        tokens.invalidate();
        throw new PushVendorError('apns', res.status, reason, { retriable: true });
      }
      const retriable = res.status === 429 || res.status >= 500;
      throw new PushVendorError('apns', res.status, reason, { retriable, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
    },
    close: () => client.close(),
  };
}

function readReason(body: string): string {
  try {
    return (JSON.parse(body) as { reason?: string }).reason ?? '';
  } catch {
    return '';
  }
}
