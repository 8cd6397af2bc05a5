import type { OnlinePush } from '../../schemas/types.generated.js';

/**
 * How the real-time push worker reaches a gateway: one channel per gateway id (Redis pub/sub
 * in production, in-process for `make run`). Fire-and-forget: a message a gateway misses is
 * not lost, the client syncs it (and the ack timeout reports it undelivered).
 */
export interface PushBus {
  publish(push: OnlinePush): Promise<void>;
  /** Delivers every push addressed to `gatewayId` until the returned function is called. */
  subscribe(gatewayId: string, onPush: (push: OnlinePush) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const gatewayChannel = (gatewayId: string): string => `im:gw:${gatewayId}`;
