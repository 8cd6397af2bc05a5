import type { OutgoingMessage } from './log.js';

/**
 * How a log client shapes its produce requests, independent of the client library: at most
 * one request in flight per producer with later sends coalesced into the next, and requests
 * split to stay under the broker's size limit.
 */

/** Under the broker's default message.max.bytes (1 MB), with room for the batch overhead. */
export const MAX_REQUEST_BYTES = 512 * 1024;

const messageBytes = (m: OutgoingMessage): number =>
  (m.key?.length ?? 0) + (m.value?.length ?? 0) + Object.entries(m.headers ?? {}).reduce((n, [k, v]) => n + k.length + String(v).length, 0) + 64;

/** Splits per-topic messages into successive groups of at most about `maxBytes` each. */
export function chunkBySize(byTopic: Map<string, OutgoingMessage[]>, maxBytes: number): Map<string, OutgoingMessage[]>[] {
  const chunks: Map<string, OutgoingMessage[]>[] = [];
  let current = new Map<string, OutgoingMessage[]>();
  let size = 0;
  for (const [topic, ms] of byTopic) {
    for (const m of ms) {
      const bytes = messageBytes(m);
      if (size > 0 && size + bytes > maxBytes) {
        chunks.push(current);
        current = new Map();
        size = 0;
      }
      const list = current.get(topic);
      if (list) list.push(m);
      else current.set(topic, [m]);
      size += bytes;
    }
  }
  if (size > 0) chunks.push(current);
  return chunks;
}


/**
 * One produce request in flight per producer; sends that arrive meanwhile join the next
 * request. An idle producer sends at once (no linger), a busy one sends fewer, larger requests:
 * every processor of a process shares the producer, and a request per batch per hop would
 * otherwise cap the whole pipeline at the broker's request rate. Each caller's messages stay in
 * order and its promise settles with the request that carried them.
 */
export class SendCoalescer {
  private queue: { messages: OutgoingMessage[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private draining = false;

  constructor(private readonly sendNow: (messages: OutgoingMessage[]) => Promise<void>) {}

  send(messages: OutgoingMessage[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        await this.sendNow(batch.flatMap((b) => b.messages));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.draining = false;
  }
}


/**
 * The send side of a producer for a client that takes one request at a time: sends coalesced
 * (SendCoalescer), grouped by topic and cut into requests under MAX_REQUEST_BYTES, sent in order.
 * A backlog's outputs in one record batch could pass the broker's message.max.bytes, a rejection
 * no retry gets past.
 */
export function coalescedSend(sendRequest: (byTopic: Map<string, OutgoingMessage[]>) => Promise<void>): (messages: OutgoingMessage[]) => Promise<void> {
  const coalescer = new SendCoalescer(async (messages) => {
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic);
      if (list) list.push(m);
      else byTopic.set(m.topic, [m]);
    }
    for (const chunk of chunkBySize(byTopic, MAX_REQUEST_BYTES)) await sendRequest(chunk);
  });
  return (messages) => (messages.length === 0 ? Promise.resolve() : coalescer.send(messages));
}
