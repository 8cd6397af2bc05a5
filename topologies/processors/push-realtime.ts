import { counter } from '../../core/metrics.js';
import type { PushBus } from '../../edge/delivery/push-bus.js';
import type { ProcessorBuilder } from '../../streams/index.js';

export interface PushRealtimeDeps {
  pushBus: PushBus;
}

const published = counter('im_push_realtime_published_total', 'Online push records published to gateway channels', [] as const);
const deliveries = counter('im_push_realtime_deliveries_total', 'Deliveries inside published online push records', [] as const);
const groupPublishes = counter('im_push_realtime_group_publishes_total', 'Group messages inside published online push records: one frame each, for every member connected to that gateway', [] as const);

/**
 * The real-time push worker: hands each online push record to its
 * gateway's channel. Its own consumer group and topic, so offline push never delays it.
 */
export function pushRealtime(deps: PushRealtimeDeps, _config: Record<string, never> = {}) {
  return (p: ProcessorBuilder): void => {
    p.stream('im.push.online').process([], async (r) => {
      // The record's headers go along: the gateway names the stages of the push's message.
      await deps.pushBus.publish(r.value, r.headers);
      published.inc();
      deliveries.inc(r.value.deliveries.length);
      for (const op of r.value.conversationOps ?? []) if (op.kind === 'PUBLISH') groupPublishes.inc();
      return [];
    }, 'publish');
  };
}
