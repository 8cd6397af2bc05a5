import { PlatformError } from '../../core/errors.js';
import { counter } from '../../core/metrics.js';
import { retry, sleep } from '../../core/retry.js';
import { CircuitBreaker } from '../../core/circuit-breaker.js';
import { PushVendorError, type PushProvider } from './push-provider.js';
import { TokenBucket, type TokenBucketConfig } from '../../core/token-bucket.js';

export interface ResilienceConfig {
  /** Requests per second to this vendor from this process, with a burst. */
  rateLimit: TokenBucketConfig;
  /** Consecutive transient failures that open the circuit, and how long it stays open. */
  breakerFailureThreshold: number;
  breakerOpenMs: number;
  retries: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

const calls = counter('im_offline_push_vendor_calls_total', 'Calls to push vendors, by platform and outcome', ['platform', 'outcome'] as const);

/**
 * Wraps a vendor provider with what every vendor needs: a token bucket pacing requests, retries
 * with back-off (the one retry helper; a vendor's Retry-After is waited out first), and a
 * circuit breaker that fails fast while the vendor is down, so a dead vendor costs nothing.
 */
export function withResilience(provider: PushProvider, config: ResilienceConfig, options: { now?: () => number } = {}): PushProvider {
  const bucket = new TokenBucket(config.rateLimit, options.now);
  const breaker = new CircuitBreaker({ failureThreshold: config.breakerFailureThreshold, openMs: config.breakerOpenMs, now: options.now });
  const platform = provider.platform;
  return {
    platform,
    async send(token, n) {
      let retryAfter = 0;
      return retry(async () => {
        if (retryAfter > 0) await sleep(Math.min(retryAfter, config.retryMaxMs));
        retryAfter = 0;
        if (!breaker.allow()) {
          calls.inc({ platform, outcome: 'circuit_open' });
          throw new PlatformError('PUSH_CIRCUIT_OPEN', `${platform} circuit open`, { retriable: false });
        }
        await bucket.take();
        try {
          const outcome = await provider.send(token, n);
          breaker.success();
          calls.inc({ platform, outcome });
          return outcome;
        } catch (err) {
          const transient = err instanceof PlatformError && err.retriable;
          // Permanent answers (a bad payload) say nothing about the vendor's health.
          if (transient) breaker.failure();
          else breaker.success();
          if (err instanceof PushVendorError) retryAfter = err.retryAfterMs ?? 0;
          calls.inc({ platform, outcome: transient ? 'transient_error' : 'error' });
          throw err;
        }
      }, { retries: config.retries, initialDelayMs: config.retryInitialMs, maxDelayMs: config.retryMaxMs });
    },
    close: () => provider.close(),
  };
}
