import { observeStage } from '../../core/stages.js';
import type { OnlinePush } from '../../schemas/types.generated.js';
import type { PushTrace } from '../delivery/push-bus.js';
import { AckTracker, offlineTaskFor } from './acks.js';
import { writeFrame, type Conn, type Connections, type WriteResult } from './connections.js';
import type { ConversationTopics } from './conversation-topics.js';
import type { Upstream } from './ingress.js';
import { gatewayMetrics as m } from './metrics.js';

/** Cheap frame-type read for metrics: pipeline frames start with {"type":"...". */
const typeOf = (frame: string): string => /^\{"type":"([a-z_]+)"/.exec(frame)?.[1] ?? 'other';

/** The gateway's stages of a push's message (core/stages.ts), by frame type, named once. */
const stageNames = new Map<string, { published: string; received: string; written: string }>();
function stagesOf(type: string): { published: string; received: string; written: string } {
  let names = stageNames.get(type);
  if (!names) stageNames.set(type, (names = { published: `push-realtime:published:${type}`, received: `gateway:received:${type}`, written: `gateway:written:${type}` }));
  return names;
}

/** Corked: outside uWS's own callbacks each send would otherwise be its own syscall. */
function corkedWrite(ws: Conn, frame: string, type: string, bound: number): WriteResult {
  let result: WriteResult = 'closed';
  ws.cork(() => {
    result = writeFrame(ws, frame, type, bound);
  });
  return result as WriteResult;
}

/**
 * Writes a push's deliveries to local connections: the named connection, or every connection
 * of the user here. A delivery with a message id must be acked in time; one that reached no
 * connection is reported at once (OFFLINE, or BACKPRESSURE when the client was too slow).
 * Then its conversation ops (group messages: one publish per conversation topic), in order.
 */
export function deliver(push: OnlinePush, conns: Connections, acks: AckTracker, upstream: Upstream, bound: number, trace: PushTrace | null = null, topics: ConversationTopics | null = null): void {
  const latency = (Date.now() - push.createdAt) / 1000;
  // Where the push's message was: the publish and the read off the bus, named by frame type
  // since a sender's ack and a recipient's message take different roads to the bus.
  const firstFrame = push.deliveries[0]?.frame ?? push.conversationOps?.find((op) => op.frame)?.frame ?? '';
  const around = trace ? stagesOf(typeOf(firstFrame)) : null;
  if (trace && around) {
    observeStage(around.published, trace.via, trace.viaAt, trace.acceptedAt, trace.publishedAt);
    observeStage(around.received, around.published, trace.publishedAt, trace.acceptedAt, trace.receivedAt);
  }
  for (const d of push.deliveries) {
    const targets = d.connectionId ? conns.ownedBy(d.connectionId, d.userId) : conns.ofUser(d.userId);
    const type = typeOf(d.frame);
    let written = 0;
    let slow = false;
    for (const ws of [...targets]) {
      const r = corkedWrite(ws, d.frame, type, bound);
      if (r === 'ok') written++;
      else if (r === 'slow') slow = true;
    }
    if (written > 0) m.deliveryLatency.observe(latency);
    if (written > 0 && trace && around) observeStage(stagesOf(type).written, around.received, trace.receivedAt, trace.acceptedAt, Date.now());
    if (!d.messageId) continue;
    if (written > 0) acks.expect(d.userId, d.messageId, push.correlationId, d.frame);
    else upstream.offline(offlineTaskFor(d.userId, d.messageId, push.correlationId, d.frame, slow ? 'BACKPRESSURE' : 'OFFLINE'));
  }
  if (!topics || !push.conversationOps?.length) return;
  if (topics.apply(push) === 0) return;
  m.deliveryLatency.observe(latency);
  if (trace && around) observeStage(around.written, around.received, trace.receivedAt, trace.acceptedAt, Date.now());
}
