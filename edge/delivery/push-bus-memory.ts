import type { OnlinePush } from '../../schemas/types.generated.js';
import { gatewayChannel, type PushBus } from './push-bus.js';

/**
 * The push bus in one process (`make run`, tests). Pushes are handed over asynchronously, as
 * Redis would, so callers never depend on a synchronous delivery. What it cannot do: reach a
 * gateway in another process.
 */
export function createMemoryPushBus(): PushBus {
  const handlers = new Map<string, Set<(push: OnlinePush) => void>>();
  return {
    async publish(push) {
      const set = handlers.get(gatewayChannel(push.gatewayId));
      if (!set) return;
      // A copy per publish: a subscriber must not see mutations of the publisher's object.
      const text = JSON.stringify(push);
      for (const h of set) queueMicrotask(() => h(JSON.parse(text) as OnlinePush));
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
