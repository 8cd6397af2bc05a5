import type { OnlinePush } from '../../schemas/types.generated.js';
import { decodePush, encodePush, gatewayChannel, type PushBus, type PushTrace } from './push-bus.js';

/**
 * The push bus in one process (`make run`, tests). Pushes are handed over asynchronously, as
 * Redis would, so callers never depend on a synchronous delivery. What it cannot do: reach a
 * gateway in another process.
 */
export function createMemoryPushBus(): PushBus {
  const handlers = new Map<string, Set<(push: OnlinePush, trace: PushTrace | null) => void>>();
  return {
    async publish(push, headers) {
      const set = handlers.get(gatewayChannel(push.gatewayId));
      if (!set) return;
      // A copy per publish: a subscriber must not see mutations of the publisher's object.
      const text = encodePush(push, headers);
      for (const h of set)
        queueMicrotask(() => {
          const { push: copy, trace } = decodePush(text, Date.now());
          h(copy, trace);
        });
    },
    async subscribe(gatewayId, onPush) {
      const channel = gatewayChannel(gatewayId);
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(onPush);
      return async () => {
        set.delete(onPush);
        if (set.size === 0) handlers.delete(channel);
      };
    },
    async close() {
      handlers.clear();
    },
  };
}
