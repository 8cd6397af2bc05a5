import type { PlatformConfig } from '../../core/config.js';
import { PlatformError } from '../../core/errors.js';
import { counter } from '../../core/metrics.js';
import { retry } from '../../core/retry.js';
import type { WebhookDelivery } from '../../schemas/types.generated.js';
import { WebhookEndpoint, type AfterEvent, type EndpointConfig, type EndpointOptions } from './endpoint.js';

/**
 * After-events (after-send, after-friend-change, after-group-change): observed, never judged.
 * Each is a record of `im.webhook.deliveries`, POSTed here with retries and back-off; one that
 * still fails is handed back to the runtime as a permanent error, which puts it on `im.dlq`
 * with the reason. The record's offset is committed only after that, so every event is
 * delivered at least once or dead-lettered: a receiver dedupes on the event id.
 *
 * For after-events the failure choice is therefore fail-closed for the event (never dropped)
 * and fail-open for the platform (messages flow on: deliveries have their own consumer group).
 * An open circuit costs an attempt without a call, so a dead receiver is not hammered, and the
 * back-off spreads the attempts over the time the circuit stays open.
 */
export type AfterEventSettings = Pick<PlatformConfig['webhooks'], 'timeoutMs' | 'retries' | 'retryInitialMs' | 'retryMaxMs' | 'breakerFailureThreshold' | 'breakerOpenMs'> & {
  urls: Partial<Record<AfterEvent, string>>;
  secrets: EndpointConfig['secrets'];
};

export interface AfterEventDeliverer {
  /** The after-events with an endpoint: the others are never enqueued. */
  readonly events: readonly AfterEvent[];
  /** Resolves once the endpoint took it (2xx); `skipped` when its event has no endpoint any more. */
  deliver(d: WebhookDelivery): Promise<'delivered' | 'skipped'>;
}

/** A delivery given up on: permanent, so the runtime dead-letters it at once. */
export class WebhookDeliveryError extends PlatformError {
  constructor(message: string, cause: unknown) {
    super('WEBHOOK_DELIVERY_FAILED', message, { retriable: false, cause });
    this.name = 'WebhookDeliveryError';
  }
}

const outcomes = counter('im_webhook_deliveries_total', 'After-event deliveries by event and outcome (delivered, retried, failed, skipped)', ['event', 'outcome'] as const);

export function createAfterEventDeliverer(settings: AfterEventSettings, options: EndpointOptions): AfterEventDeliverer {
  const endpoints = new Map<string, WebhookEndpoint>();
  for (const [event, url] of Object.entries(settings.urls) as [AfterEvent, string | undefined][]) {
    if (!url) continue;
    endpoints.set(event, new WebhookEndpoint({ url, event, secrets: settings.secrets, timeoutMs: settings.timeoutMs, breakerFailureThreshold: settings.breakerFailureThreshold, breakerOpenMs: settings.breakerOpenMs }, options));
    for (const outcome of ['delivered', 'retried', 'failed', 'skipped']) outcomes.inc({ event, outcome }, 0);
  }
  return {
    events: [...endpoints.keys()] as AfterEvent[],
    async deliver(d) {
      const endpoint = endpoints.get(d.event);
      if (!endpoint) {
        outcomes.inc({ event: d.event, outcome: 'skipped' });
        return 'skipped';
      }
      let attempts = 0;
      try {
        await retry(
          () => {
            attempts++;
            return endpoint.post(d.eventId, d.body, () => undefined);
          },
          {
            retries: settings.retries,
            initialDelayMs: settings.retryInitialMs,
            maxDelayMs: settings.retryMaxMs,
            onRetry: () => outcomes.inc({ event: d.event, outcome: 'retried' }),
          },
        );
      } catch (err) {
        outcomes.inc({ event: d.event, outcome: 'failed' });
        throw new WebhookDeliveryError(`${d.event} ${d.eventId} not delivered to ${endpoint.target} after ${attempts} attempt(s): ${(err as Error).message}`, err);
      }
      outcomes.inc({ event: d.event, outcome: 'delivered' });
      return 'delivered';
    },
  };
}
