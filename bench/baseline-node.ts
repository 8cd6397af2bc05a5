import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { nowMs, sleep } from './clock.js';
import { createHistogram, encodeHistogram, recordMs } from './histogram.js';
import { OpenLoopSchedule } from './scheduler.js';

/**
 * The baseline's Kafka process: `relay` forwards hop i to hop i+1 for every hop (no logic);
 * `edge` produces the open-loop traffic into hop 0 and consumes the last hop, recording
 * send-to-ack (acks=all) and send-to-delivery. Consumer settings mirror the runtime's.
 */
/** Relays between the topics a delivery crosses in the pipeline's plan: ingress -> msg.stamped (the push goes over Redis). */
export const HOPS = 1;
export const hopTopic = (i: number): string => `bench.baseline.hop${i}`;

export type BaselineRequest =
  | { op: 'start'; role: 'relay' | 'edge'; run: string; brokers: string[]; partitions: number; hops: number }
  | { op: 'send'; rate: number; durationMs: number; startAt: number; pairs: number; drainMs: number }
  | { op: 'collect' }
  | { op: 'stop' };

export interface BaselineCollect {
  sent: number;
  acked: number;
  delivered: number;
  sendAck: string;
  sendDelivery: string;
}

let kafka: Kafka;
let producer: Producer;
const consumers: Consumer[] = [];
let sendAck = createHistogram();
let sendDelivery = createHistogram();
const counts = { sent: 0, acked: 0, delivered: 0 };

async function joined(c: Consumer): Promise<void> {
  await new Promise<void>((resolve) => c.on(c.events.GROUP_JOIN, () => resolve()));
}

function consumer(groupId: string, topic: string, each: (values: Buffer[], keys: (Buffer | null)[]) => Promise<void>): Promise<void> {
  const c = kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 50 });
  consumers.push(c);
  const join = joined(c);
  return (async () => {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: false });
    await c.run({ partitionsConsumedConcurrently: 4, eachBatch: async ({ batch }) => each(batch.messages.map((m) => m.value ?? Buffer.alloc(0)), batch.messages.map((m) => m.key)) });
    await join;
  })();
}

async function start(req: Extract<BaselineRequest, { op: 'start' }>): Promise<null> {
  kafka = new Kafka({ clientId: `bench-baseline-${req.role}`, brokers: req.brokers, logLevel: logLevel.NOTHING });
  if (req.role === 'edge') {
    const admin = kafka.admin();
    await admin.connect();
    const have = new Set(await admin.listTopics());
    const topics = Array.from({ length: req.hops + 1 }, (_, i) => hopTopic(i)).filter((t) => !have.has(t));
    if (topics.length) await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: req.partitions, replicationFactor: 1 })) });
    await admin.disconnect();
  }
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  if (req.role === 'relay') {
    await Promise.all(
      Array.from({ length: req.hops }, (_, i) =>
        consumer(`bench-relay-${req.run}-${i}`, hopTopic(i), async (values, keys) => {
          await producer.send({ topic: hopTopic(i + 1), acks: -1, messages: values.map((value, j) => ({ key: keys[j] ?? null, value })) });
        }),
      ),
    );
  } else {
    await consumer(`bench-edge-${req.run}`, hopTopic(req.hops), async (values) => {
      const now = nowMs();
      for (const v of values) {
        const t = Number(/"t":([0-9.]+)/.exec(v.toString())?.[1]);
        if (Number.isFinite(t)) {
          recordMs(sendDelivery, now - t);
          counts.delivered++;
        }
      }
    });
  }
  return null;
}

/** Sends what is due each millisecond in one produce call, as the gateway's ingress batching does. */
async function send(req: Extract<BaselineRequest, { op: 'send' }>): Promise<null> {
  const sched = new OpenLoopSchedule(req.startAt, req.rate, req.durationMs);
  const inflight: Promise<void>[] = [];
  let k = 0;
  await new Promise<void>((resolve) => {
    const step = (): void => {
      const due = sched.due(nowMs());
      if (due.length > 0) {
        const messages = due.map((t) => {
          const pair = k++ % req.pairs;
          return { key: `pair-${pair}`, value: JSON.stringify({ t, type: 'send_msg', msg_id: `b-${k}`, recipient: `d-${2 * pair + 1}`, recipient_type: 'user', content: `b|${t}|d`, timestamp: Date.now() }) };
        });
        counts.sent += messages.length;
        inflight.push(
          producer.send({ topic: hopTopic(0), acks: -1, messages }).then(() => {
            const now = nowMs();
            for (const t of due) recordMs(sendAck, now - t);
            counts.acked += due.length;
          }),
        );
      }
      if (sched.done) resolve();
      else setTimeout(step, 1);
    };
    setTimeout(step, Math.max(0, req.startAt - nowMs()));
  });
  await Promise.allSettled(inflight);
  const until = nowMs() + req.drainMs;
  while (counts.delivered < counts.sent && nowMs() < until) await sleep(50);
  return null;
}

function collect(): BaselineCollect {
  const out = { ...counts, sendAck: encodeHistogram(sendAck), sendDelivery: encodeHistogram(sendDelivery) };
  sendAck = createHistogram();
  sendDelivery = createHistogram();
  Object.assign(counts, { sent: 0, acked: 0, delivered: 0 });
  return out;
}

async function handle(req: BaselineRequest): Promise<BaselineCollect | null> {
  switch (req.op) {
    case 'start':
      return start(req);
    case 'send':
      return send(req);
    case 'collect':
      return collect();
    case 'stop':
      await Promise.allSettled(consumers.map((c) => c.disconnect()));
      await producer?.disconnect();
      setTimeout(() => process.exit(0), 50);
      return null;
  }
}

process.on('message', (msg: BaselineRequest & { id: number }) => {
  handle(msg).then(
    (body) => process.send?.({ id: msg.id, ok: true, body }),
    (err: unknown) => process.send?.({ id: msg.id, ok: false, error: (err as Error).message }),
  );
});
process.on('disconnect', () => process.exit(0));
