import type { PlatformConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import { createApnsProvider } from '../apns/apns-provider.js';
import { createFcmProvider } from '../fcm/fcm-provider.js';
import type { DeviceTokenStore } from './device-tokens.js';
import type { DevicePlatform, PushProvider } from './push-provider.js';
import { withResilience, type ResilienceConfig } from './resilient-provider.js';
import { createPushRouter, type OfflinePushRouter } from './router.js';

/**
 * The offline push router from configuration: each vendor with credentials, wrapped in its own
 * rate limit, retries and circuit breaker. With no vendor configured (`make run`), tasks are
 * consumed and counted but notify no one.
 */
export function offlinePushFromConfig(config: PlatformConfig['offlinePush'], tokens: DeviceTokenStore, logger?: Logger): OfflinePushRouter {
  const resilience: ResilienceConfig = {
    rateLimit: { ratePerSec: config.ratePerSec, burst: config.burst },
    breakerFailureThreshold: config.breakerFailureThreshold,
    breakerOpenMs: config.breakerOpenMs,
    retries: config.retries,
    retryInitialMs: config.retryInitialMs,
    retryMaxMs: config.retryMaxMs,
  };
  const providers: Partial<Record<DevicePlatform, PushProvider>> = {};
  if (config.apns) providers.apns = withResilience(createApnsProvider({ ...config.apns, requestTimeoutMs: config.requestTimeoutMs }), resilience);
  if (config.fcm) providers.fcm = withResilience(createFcmProvider({ ...config.fcm, requestTimeoutMs: config.requestTimeoutMs }), resilience);
  if (!config.apns && !config.fcm) logger?.warn('no offline push vendor configured; offline notifications are dropped');
  return createPushRouter({ providers, tokens, logger });
}
