import { PlatformError } from '../core/errors.js';
import { openKafkaLog, type KafkaClientName, type KafkaTuning, type LogClient, type LogConsumer, type LogProducer } from '../streams/index.js';
import { nowMs, sleep } from './clock.js';
import { createHistogram, encodeHistogram, recordMs } from './histogram.js';
import { OpenLoopSchedule } from './scheduler.js';

/**
 * The baseline's Kafka process, on one client library through the log contract only (the same
 * producer, consumer and admin calls the runtime makes): `relay` forwards hop i to hop i+1 for
 * every hop (no logic); `edge` creates the run's topics, produces the open-loop traffic into
 * hop 0 and consumes the last hop, recording send-to-ack (acks=all) and send-to-delivery, and
 * deletes the topics and groups at the end.
 */
/** Relays between the topics a delivery crosses in the pipeline's plan: ingress -> msg.stamped (the push goes over Redis). */
export const HOPS = 1;

/** The run's names: `run` is unique per client and hop count, so every run has fresh topics. */
export const hopTopic = (run: string, i: number): string => `bench.baseline.${run}.hop${i}`;
const relayGroup = (run: string, i: number): string => `bench.baseline.${run}.relay${i}`;
const edgeGroup = (run: string): string => `bench.baseline.${run}.edge`;

export type BaselineRequest =
  | { op: 'start'; role: 'relay' | 'edge'; client: KafkaClientName; tuning: KafkaTuning; run: string; brokers: string[]; partitions: number; hops: number }
  | { op: 'send'; step: number; rate: number; durationMs: number; startAt: number; pairs: number; drainMs: number }
  | { op: 'collect' }
  | { op: 'stop' };

export interface BaselineCollect {
  sent: number;
  acked: number;
  delivered: number;
  /** Records of earlier steps that arrived during this one (not counted in `delivered`). */
  late: number;
  sendAck: string;
  sendDelivery: string;
}

/** What a failed request says: the error's code (KAFKA_CLIENT_MISSING: the package is not installed). */
export interface BaselineFailure {
  error: string;
  code?: string;
}

let log: LogClient | undefined;
let producer: LogProducer | undefined;
const consumers: LogConsumer[] = [];
let started: Extract<BaselineRequest, { op: 'start' }> | undefined;
/** The step whose records the edge counts: a late record of an earlier step is not this step's delivery. */
let step = -1;
let sendAck = createHistogram();
let sendDelivery = createHistogram();
const counts = { sent: 0, acked: 0, delivered: 0, late: 0 };

/** A consumer of one topic, started (joined, partitions assigned) when this resolves. */
async function consume(groupId: string, topic: string, each: (values: (Buffer | null)[], keys: (string | null)[]) => Promise<void>): Promise<void> {
  let assigned: () => void = () => undefined;
  const assignment = new Promise<void>((resolve) => (assigned = resolve));
  const c = log!.consumer({
    groupId,
    topics: [topic],
    // Fresh topics: from the beginning loses nothing produced before the group settled.
    fromBeginning: true,
    commit: true,
    partitionsConcurrency: 4,
    eachBatch: ({ messages }) => each(messages.map((m) => m.value), messages.map((m) => m.key)),
    onAssignment: (partitions) => {
      if (partitions.length > 0) assigned();
    },
  });
  consumers.push(c);
  await c.start();
  await Promise.race([assignment, sleep(30_000).then(() => Promise.reject(new Error(`${groupId}: no partitions assigned within 30 s`)))]);
}

async function start(req: Extract<BaselineRequest, { op: 'start' }>): Promise<null> {
  started = req;
  log = await openKafkaLog(req.client, { brokers: req.brokers, clientId: `bench-baseline-${req.role}`, tuning: req.tuning });
  const topics = Array.from({ length: req.hops + 1 }, (_, i) => hopTopic(req.run, i));
  if (req.role === 'edge') await log.createTopics(topics.map((name) => ({ name, partitions: req.partitions, replicationFactor: 1, config: {} })));
  const p = await log.producer();
  producer = p;
  if (req.role === 'relay') {
    await Promise.all(
      Array.from({ length: req.hops }, (_, i) =>
        consume(relayGroup(req.run, i), hopTopic(req.run, i), async (values, keys) => {
          await p.send(values.map((value, j) => ({ topic: hopTopic(req.run, i + 1), key: keys[j] ?? null, value, headers: {}, timestamp: Date.now() })));
        }),
      ),
    );
  } else {
    await consume(edgeGroup(req.run), hopTopic(req.run, req.hops), async (values) => {
      const now = nowMs();
      for (const v of values) {
        const text = v?.toString() ?? '';
        const t = Number(/"t":([0-9.]+)/.exec(text)?.[1]);
        if (!Number.isFinite(t)) continue;
        if (Number(/"s":(\d+)/.exec(text)?.[1]) !== step) {
          counts.late++;
          continue;
        }
        recordMs(sendDelivery, now - t);
        counts.delivered++;
      }
    });
  }
  return null;
}

/** Sends what is due each millisecond in one produce call, as the gateway's ingress batching does. */
async function send(req: Extract<BaselineRequest, { op: 'send' }>): Promise<null> {
  const p = producer;
  if (!p || !started) throw new Error('send before start');
  step = req.step;
  const topic = hopTopic(started.run, 0);
  const sched = new OpenLoopSchedule(req.startAt, req.rate, req.durationMs);
  const inflight: Promise<void>[] = [];
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = sched.due(nowMs());
      if (due.length > 0) {
        const messages = due.map((t) => {
          const pair = k++ % req.pairs;
          const value = JSON.stringify({ t, s: req.step, type: 'send_msg', msg_id: `b-${k}`, recipient: `d-${2 * pair + 1}`, recipient_type: 'user', content: `b|${t}|d`, timestamp: Date.now() });
          return { topic, key: `pair-${pair}`, value: Buffer.from(value), headers: {}, timestamp: Date.now() };
        });
        counts.sent += messages.length;
        inflight.push(
          p.send(messages).then(() => {
            const now = nowMs();
            for (const t of due) recordMs(sendAck, now - t);
            counts.acked += due.length;
          }),
        );
      }
      if (sched.done) resolve();
      else setTimeout(tick, 1);
    };
    setTimeout(tick, Math.max(0, req.startAt - nowMs()));
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
  Object.assign(counts, { sent: 0, acked: 0, delivered: 0, late: 0 });
  return out;
}

/** Leaves the groups; the edge (stopped after the relay) then deletes the run's topics and groups. */
async function stop(): Promise<null> {
  await Promise.allSettled(consumers.map((c) => c.stop()));
  await producer?.close().catch(() => undefined);
  try {
    if (started?.role === 'edge' && log) {
      const { run, hops } = started;
      await log.deleteTopics(Array.from({ length: hops + 1 }, (_, i) => hopTopic(run, i)));
      await log.deleteGroups([edgeGroup(run), ...Array.from({ length: hops }, (_, i) => relayGroup(run, i))]);
    }
  } finally {
    await log?.close().catch(() => undefined);
    setTimeout(() => process.exit(0), 50);
  }
  return null;
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
      return stop();
  }
}

process.on('message', (msg: BaselineRequest & { id: number }) => {
  handle(msg).then(
    (body) => process.send?.({ id: msg.id, ok: true, body }),
    (err: unknown) => process.send?.({ id: msg.id, ok: false, error: (err as Error).message, code: err instanceof PlatformError ? err.code : undefined } satisfies BaselineFailure & { id: number; ok: false }),
  );
});
process.on('disconnect', () => process.exit(0));
