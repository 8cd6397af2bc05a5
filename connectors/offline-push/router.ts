import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { counter } from '../../core/metrics.js';
import type { DeviceTokenStore } from './device-tokens.js';
import type { DevicePlatform, PushNotification, PushProvider } from './push-provider.js';

export interface NotifyResult {
  sent: number;
  removed: number;
  failed: number;
}

/** Sends a notification to every device of a user, through the provider of each device's platform. */
export interface OfflinePushRouter {
  notify(userId: string, notification: PushNotification): Promise<NotifyResult>;
  close(): Promise<void>;
}

const results = counter('im_offline_push_devices_total', 'Offline push per device, by platform and result', ['platform', 'result'] as const);

/**
 * Routes by device platform. Best effort per device: a dead token is removed, a failure that
 * outlived the provider's retries is counted and logged, never thrown, since retrying the whole
 * task would notify the devices that already got it a second time (the message itself is safe
 * in the store; the app syncs it on open). Platforms with no provider configured are skipped.
 */
export function createPushRouter(deps: { providers: Partial<Record<DevicePlatform, PushProvider>>; tokens: DeviceTokenStore; logger?: Logger }): OfflinePushRouter {
  return {
    async notify(userId, notification) {
      const devices = await deps.tokens.tokensOf(userId);
      const result: NotifyResult = { sent: 0, removed: 0, failed: 0 };
      await Promise.all(
        devices.map(async (d) => {
          const provider = deps.providers[d.platform];
          if (!provider) return;
          try {
            const outcome = await provider.send(d.token, notification);
            if (outcome === 'unregistered') {
              await deps.tokens.remove(d.token);
              result.removed++;
            } else result.sent++;
            results.inc({ platform: d.platform, result: outcome });
          } catch (err) {
            result.failed++;
            results.inc({ platform: d.platform, result: 'failed' });
            deps.logger?.warn('offline push failed', { userId, platform: d.platform, error: errorMessage(err) });
          }
        }),
      );
      return result;
    },
    async close() {
      await Promise.all(Object.values(deps.providers).map((p) => p.close()));
    },
  };
}
