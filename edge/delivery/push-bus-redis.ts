import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { OnlinePush } from '../../schemas/types.generated.js';
import { decodePush, encodePush, gatewayChannel, type PushBus, type PushTrace } from './push-bus.js';

export interface RedisPushBusOptions {
  /** For PUBLISH. */
  publisher: Redis;
  /** A dedicated connection: a subscribed Redis connection can run no other command. */
  subscriber: Redis;
  /** Channel prefix; tests use their own so runs never collide. */
  channelPrefix?: string;
  logger?: Logger;
  /** Whether close() quits both clients. */
  ownsClients?: boolean;
}

/**
 * The push bus over Redis pub/sub: push workers reach each gateway on its own channel. Payload is
 * the OnlinePush as JSON. At-most-once: what a gateway misses, its clients get through sync.
 */
export function createRedisPushBus(options: RedisPushBusOptions): PushBus {
  const { publisher, subscriber } = options;
  const prefix = options.channelPrefix ?? '';
  const channelOf = (gatewayId: string): string => prefix + gatewayChannel(gatewayId);
  const handlers = new Map<string, Set<(push: OnlinePush, trace: PushTrace | null) => void>>();

  subscriber.on('message', (channel: string, message: string) => {
    const set = handlers.get(channel);
    if (!set) return;
    let decoded: ReturnType<typeof decodePush>;
    try {
      decoded = decodePush(message, Date.now());
    } catch (err) {
      options.logger?.warn('push bus: undecodable message dropped', { channel, err });
      return;
    }
    for (const h of set) h(decoded.push, decoded.trace);
  });

  return {
    async publish(push, headers) {
      await publisher.publish(channelOf(push.gatewayId), encodePush(push, headers));
    },
    async subscribe(gatewayId, onPush) {
      const channel = channelOf(gatewayId);
      let set = handlers.get(channel);
      if (!set) {
        handlers.set(channel, (set = new Set()));
        await subscriber.subscribe(channel);
      }
      set.add(onPush);
      return async () => {
        set.delete(onPush);
        if (set.size === 0 && handlers.get(channel) === set) {
          handlers.delete(channel);
          await subscriber.unsubscribe(channel);
        }
      };
    },
    async close() {
      handlers.clear();
      if (options.ownsClients) await Promise.all([publisher.quit(), subscriber.quit()]);
    },
  };
}
