import { ACCEPTED_AT_HEADER } from '../../core/logger.js';
import { ACCEPTED_STAGE, STAGE_AT_HEADER, STAGE_HEADER } from '../../core/stages.js';
import type { OnlinePush } from '../../schemas/types.generated.js';

/**
 * How the real-time push worker reaches a gateway: one channel per gateway id (Redis pub/sub
 * in production, in-process for `make run`). Fire-and-forget: a message a gateway misses is
 * not lost, the client syncs it (and the ack timeout reports it undelivered).
 */
export interface PushBus {
  /** `headers`: the push record's, so the gateway can tell where its message's time went. */
  publish(push: OnlinePush, headers?: Readonly<Record<string, string>>): Promise<void>;
  /** Delivers every push addressed to `gatewayId` until the returned function is called. */
  subscribe(gatewayId: string, onPush: (push: OnlinePush, trace: PushTrace | null) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * The stages of a push's message around the bus (core/stages.ts), all in ms since the epoch:
 * the stage before the publish (`via`), the publish, and the gateway reading it off the bus.
 */
export interface PushTrace {
  acceptedAt: number;
  via: string;
  viaAt: number;
  publishedAt: number;
  receivedAt: number;
}

type TracedPush = OnlinePush & { trace?: [acceptedAt: number, via: string, viaAt: number, publishedAt: number] };

/**
 * A push as the bus carries it: its JSON, with the trace first when its record descends from a
 * gateway frame. An extra field, so a gateway that does not read it still delivers the push.
 */
export function encodePush(push: OnlinePush, headers: Readonly<Record<string, string>> | undefined, now = Date.now()): string {
  const json = JSON.stringify(push);
  const acceptedAt = Number(headers?.[ACCEPTED_AT_HEADER]);
  if (!headers || !(acceptedAt > 0) || json.length < 3) return json;
  const via = headers[STAGE_HEADER] ?? ACCEPTED_STAGE;
  const viaAt = Number(headers[STAGE_AT_HEADER]) || acceptedAt;
  return `{"trace":[${acceptedAt},${JSON.stringify(via)},${viaAt},${now}],${json.slice(1)}`;
}

export function decodePush(text: string, receivedAt: number): { push: OnlinePush; trace: PushTrace | null } {
  const push = JSON.parse(text) as TracedPush;
  const t = push.trace;
  if (!t) return { push, trace: null };
  delete push.trace;
  return { push, trace: { acceptedAt: t[0], via: t[1], viaAt: t[2], publishedAt: t[3], receivedAt } };
}

export const gatewayChannel = (gatewayId: string): string => `im:gw:${gatewayId}`;
