import { PlatformError } from '../../core/errors.js';

/**
 * The offline push contract (OpenIM's shape: one interface, a folder per vendor). A provider
 * sends one notification to one device token and says whether the token is dead; transient
 * vendor trouble is a retriable `PushVendorError`, anything else a permanent one.
 */
export type DevicePlatform = 'apns' | 'fcm';
export const DEVICE_PLATFORMS: readonly DevicePlatform[] = ['apns', 'fcm'];

export interface PushNotification {
  title: string;
  body: string;
  /** Small string map the app reads on tap (conversation id, message id, seq). */
  data: Record<string, string>;
  /** Groups notifications of one conversation on the device. */
  threadId?: string;
  collapseId?: string;
}

/** `unregistered`: the vendor says the token is dead (APNs 410, FCM UNREGISTERED); remove it. */
export type PushOutcome = 'sent' | 'unregistered';

export interface PushProvider {
  readonly platform: DevicePlatform;
  send(token: string, notification: PushNotification): Promise<PushOutcome>;
  close(): Promise<void>;
}

export class PushVendorError extends PlatformError {
  constructor(
    readonly platform: DevicePlatform,
    readonly status: number,
    readonly reason: string,
    options: { retriable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super('PUSH_VENDOR_ERROR', `${platform} answered ${status} ${reason}`, options);
    this.retryAfterMs = options.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

/** Seconds or an HTTP date, as vendors send Retry-After; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
