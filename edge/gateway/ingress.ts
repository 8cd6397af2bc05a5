import { FailureStretchLog, retryLogged } from '../../core/failure-stretch-log.js';
import { ACCEPTED_AT_HEADER, CORRELATION_HEADER, type Logger } from '../../core/logger.js';
import { passStage, reachStage } from '../../core/stages.js';
import type { TopicSerde } from '../../schemas/serde.js';
import type { IngressFrame, OfflinePushTask, ReceiptCommand } from '../../schemas/types.generated.js';
import type { LogProducer, OutgoingMessage } from '../../streams/index.js';
import { gatewayMetrics as m } from './metrics.js';

export { CORRELATION_HEADER };

export interface UpstreamOptions {
  producer: LogProducer;
  serde: TopicSerde;
  logger: Logger;
  lingerMs: number;
  batchMax: number;
  /** Told about ingress frames that could not be produced, so their senders hear of it. */
  onIngressFailed: (frames: FailedIngress[]) => void;
}

/** An ingress frame that could not be produced, with the client's msg_id its error answer echoes. */
export interface FailedIngress {
  frame: IngressFrame;
  clientMsgId?: string;
}

/** The gateway's stages of a frame after `gateway:accepted` (core/stages.ts): batched and handed to the producer, then acknowledged. */
const INGRESS_SENT = 'ingress:sent';
const INGRESS_ACKED = 'ingress:acked';

type Pending =
  | { topic: 'im.ingress'; value: IngressFrame; key: string; clientMsgId?: string; waitingId?: string }
  | { topic: 'im.push.offline'; value: OfflinePushTask; key: string }
  | { topic: 'im.cmd.receipt'; value: ReceiptCommand; key: string };

/**
 * Everything the gateway produces, batched: records wait up to `lingerMs` (or until
 * `batchMax`) and go out in one `send`. One send in flight at a time, so the order of a user's
 * frames is the order they arrived; under load the next batch simply grows meanwhile.
 */
export class Upstream {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  /**
   * While the broker is away every batch fails: the log tells the stretch once, sums it up
   * every 30 s and says when produces succeed again (`FailureStretchLog`), for the retries and
   * for the batches given up on.
   */
  private readonly retries: FailureStretchLog;
  private readonly drops: FailureStretchLog;
  /**
   * Frames with a msg_id waiting here or in flight, by connection and msg_id. A client resends
   * what was not acked in time; while the broker is away the first copy is still waiting, so a
   * copy adds nothing but work. Left here, they piled up (3,303 resends in a 17 s broker kill,
   * beside about 850 first copies), and after the outage the pipeline read every copy before the
   * new sends: acks came back 3.5-4.7 s after the broker was healthy again.
   */
  private readonly waiting = new Set<string>();

  constructor(private readonly o: UpstreamOptions) {
    const common = { logger: o.logger, counting: 'records', summaryEveryMs: 30_000, now: Date.now };
    this.retries = new FailureStretchLog({ ...common, what: 'produce failed, retrying' });
    this.drops = new FailureStretchLog({ ...common, what: 'produce failed; records dropped', level: 'error' });
  }

  /**
   * `key`: see `ingressKey`; the user's id by default. `clientMsgId`: the frame's msg_id as the
   * gateway parsed it, kept so a frame that cannot be produced is answered without parsing its
   * payload again.
   */
  ingress(frame: IngressFrame, key = frame.userId, clientMsgId?: string): void {
    const waitingId = clientMsgId === undefined ? undefined : `${frame.origin.connectionId}\u0000${clientMsgId}`;
    if (waitingId !== undefined) {
      // The copy waiting answers this one too: its ack names the msg_id and goes to this connection.
      if (this.waiting.has(waitingId)) return void m.ingressResendsCoalesced.inc();
      this.waiting.add(waitingId);
    }
    this.enqueue({ topic: 'im.ingress', value: frame, key, clientMsgId, waitingId });
  }

  /** A DELIVERED receipt the gateway made from acks (delivered.ts), keyed by its conversation. */
  receipt(command: ReceiptCommand): void {
    this.enqueue({ topic: 'im.cmd.receipt', value: command, key: command.conversationId });
  }

  offline(task: OfflinePushTask): void {
    m.offlineTasks.inc({ reason: task.reason });
    this.enqueue({ topic: 'im.push.offline', value: task, key: task.userId });
  }

  /** Produces everything queued so far and resolves when the log acknowledged it. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue;
    this.queue = [];
    const previous = this.inFlight;
    this.inFlight = previous.then(() => (batch.length > 0 ? this.produce(batch) : undefined));
    await this.inFlight;
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    if (this.queue.length >= this.o.batchMax) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.o.lingerMs);
  }

  private async encode(p: Pending): Promise<OutgoingMessage> {
    const headers = { [CORRELATION_HEADER]: p.value.correlationId };
    // A branch per topic so each encode call is checked against its own topic's value type.
    if (p.topic === 'im.ingress')
      return { topic: p.topic, key: p.key, value: await this.o.serde.encode(p.topic, p.value), headers: { ...headers, [ACCEPTED_AT_HEADER]: String(p.value.receivedAt) }, timestamp: p.value.receivedAt };
    if (p.topic === 'im.cmd.receipt') return { topic: p.topic, key: p.key, value: await this.o.serde.encode(p.topic, p.value), headers, timestamp: p.value.at };
    return { topic: p.topic, key: p.key, value: await this.o.serde.encode(p.topic, p.value), headers, timestamp: p.value.createdAt };
  }

  private async produce(batch: Pending[]): Promise<void> {
    try {
      await this.produceOnce(batch);
    } finally {
      // Produced or given up on (its sender told): a copy sent from now on is the client's to send.
      for (const p of batch) if (p.topic === 'im.ingress' && p.waitingId !== undefined) this.waiting.delete(p.waitingId);
    }
  }

  private async produceOnce(batch: Pending[]): Promise<void> {
    try {
      const messages: OutgoingMessage[] = await Promise.all(batch.map((p) => this.encode(p)));
      const sentAt = Date.now();
      for (const msg of messages) passStage(msg.headers, INGRESS_SENT, sentAt);
      await retryLogged(this.retries, () => this.o.producer.send(messages), { retries: 3, initialDelayMs: 50, maxDelayMs: 1_000 }, messages.length);
      // A batch that went out at once after a failed one also ends the stretch of drops.
      this.retries.recovered();
      this.drops.recovered();
      // Beside the path: the records may be consumed before this ack arrives.
      const ackedAt = Date.now();
      for (const msg of messages) reachStage(msg.headers, INGRESS_ACKED, ackedAt);
      m.ingressProduced.inc(batch.filter((p) => p.topic === 'im.ingress').length);
    } catch (err) {
      const lost = batch.flatMap((p): FailedIngress[] => (p.topic === 'im.ingress' ? [{ frame: p.value, clientMsgId: p.clientMsgId }] : []));
      this.drops.failed(err, batch.length);
      m.ingressFailed.inc(lost.length);
      this.o.onIngressFailed(lost);
    }
  }
}
