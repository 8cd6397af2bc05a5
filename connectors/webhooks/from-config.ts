import type { PlatformConfig } from '../../core/config.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { createBeforeSendHook, type BeforeSendHook } from './before-send.js';
import { createAfterEventDeliverer, type AfterEventDeliverer } from './deliveries.js';
import type { AfterEvent } from './endpoint.js';

/**
 * The webhooks the configuration turns on, for the processors that call them. Each processor
 * makes its own hook or deliverer on its own clock (`p.clock`), so its circuit breakers open and
 * half-open by the time the engine runs on; a breaker is per endpoint and per processor.
 */
export interface Webhooks {
  /** After-events with an endpoint. None: the webhook processors are not declared at all. */
  readonly afterEvents: readonly AfterEvent[];
  /** The before-send hook, or null when IM_WEBHOOK_BEFORE_SEND_URL is unset. */
  beforeSend(now: () => number): BeforeSendHook | null;
  afterEventDeliverer(now: () => number): AfterEventDeliverer;
}

export function webhooksFromConfig(config: Pick<PlatformConfig, 'webhooks' | 'pipeline'>, logger: Logger = createLogger('webhooks')): Webhooks {
  const w = config.webhooks;
  // Validated by loadConfig: an endpoint is never configured without the secret.
  const secrets = { current: w.secret ?? '', previous: w.previousSecret };
  const breaker = { breakerFailureThreshold: w.breakerFailureThreshold, breakerOpenMs: w.breakerOpenMs };
  const urls: Partial<Record<AfterEvent, string>> = {};
  if (w.afterSendUrl) urls['after-send'] = w.afterSendUrl;
  if (w.afterFriendChangeUrl) urls['after-friend-change'] = w.afterFriendChangeUrl;
  if (w.afterGroupChangeUrl) urls['after-group-change'] = w.afterGroupChangeUrl;
  const before = w.beforeSend;
  return {
    afterEvents: Object.keys(urls) as AfterEvent[],
    beforeSend: (now) => (before ? createBeforeSendHook({ ...before, ...breaker, secrets, maxContentChars: config.pipeline.maxContentChars }, { now, logger }) : null),
    afterEventDeliverer: (now) => createAfterEventDeliverer({ urls, secrets, ...breaker, timeoutMs: w.timeoutMs, retries: w.retries, retryInitialMs: w.retryInitialMs, retryMaxMs: w.retryMaxMs }, { now, logger }),
  };
}
