import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { directConversationId } from '../../domain/conversations.js';
import { createMongoMessageStore } from '../../connectors/message-store/message-store-mongo.js';
import { DEFAULT_UPDATES_PER_COMMAND, mongoClientOptions } from '../../connectors/mongo/pool.js';
import { createRegistryClient, createTopicSerde } from '../../schemas/serde.js';
import type { StampedMessage } from '../../schemas/types.generated.js';
import { intFlag, strFlag } from '../args.js';
import { sleep } from '../clock.js';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { brokers, LagReader } from '../kafka-admin.js';
import { benchLog } from '../namespace.js';
import { CpuMeter } from '../procstat.js';
import { round } from './common.js';
import { runDirect } from './direct.js';
import type { Target } from './targets.js';
import type { Validity } from '../validity.js';
import { partitionFor } from '../../streams/index.js';

/** Stamped records as the stamper writes them, for a backlog the writer has not seen. */
export function backlogMessages(run: string, n: number, conversations: number, now = Date.now()): StampedMessage[] {
  return Array.from({ length: n }, (_, i) => {
    const c = i % conversations;
    const sender = `p-${run}-a${c}`;
    const recipient = `p-${run}-b${c}`;
    return {
      correlationId: `${run}-${i}`,
      messageId: `${now.toString(36)}-${run}-${i}`,
      seq: Math.floor(i / conversations) + 1,
      sender,
      origin: null,
      clientMsgId: `${run}-${i}`,
      conversationId: directConversationId(sender, recipient),
      recipientKind: 'USER',
      recipientId: recipient,
      content: `backlog ${i}`,
      contentType: 'text/plain',
      mentions: [],
      clientTimestamp: now,
      receivedAt: now,
      stampedAt: now,
    };
  });
}

const inBatches = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export interface StoreCeiling {
  messages: number;
  conversations: number;
  batch: number;
  updatesPerCommand: number;
  seconds: number;
  docsPerSec: number;
}

/**
 * FerretDB's ceiling for the writer's work: the same message store and batches, written straight
 * from the bench (no Kafka, no consumer, one batch at a time like the writer), into scratch
 * collections of the run's database. Messages are batched as the writer gets them, partition by
 * partition of im.msg.stamped (keyed by conversation), so each batch touches as many
 * conversations as the writer's do. The writer's drain rate next to it says what the pipeline costs.
 */
export async function storeCeiling(db: Db, o: { run: string; messages: number; conversations: number; partitions: number; batch: number; updatesPerCommand: number }): Promise<StoreCeiling> {
  const conversations = Math.max(1, o.conversations);
  const store = await createMongoMessageStore({ db, prefix: `ceiling_${o.run}_`, updatesPerCommand: o.updatesPerCommand });
  try {
    const all = backlogMessages(`c${o.run}`, o.messages, conversations);
    const byPartition = Array.from({ length: o.partitions }, (_, p) => all.filter((m) => partitionFor(m.conversationId, o.partitions) === p));
    const msgs = byPartition.flatMap((part) => inBatches(part, o.batch));
    const t0 = Date.now();
    for (const batch of msgs) await store.writeBatch(batch);
    const seconds = (Date.now() - t0) / 1000;
    return { messages: o.messages, conversations, batch: o.batch, updatesPerCommand: o.updatesPerCommand, seconds: round(seconds), docsPerSec: Math.round(o.messages / Math.max(0.001, seconds)) };
  } finally {
    await store.close();
  }
}

/**
 * The persistence writer against a backlog: with the writer stopped, N stamped records go to
 * im.msg.stamped; then the writer starts and the bench counts documents in MongoDB until all
 * N are there. Then its consumer lag while 1:1 traffic runs through the whole pipeline.
 */
export async function persistScenario(ctx: BenchContext, target: Target): Promise<ScenarioOutput> {
  const n = intFlag(ctx.flags, 'backlog', 10_000);
  const loadRate = intFlag(ctx.flags, 'persist-load-rate', 500);
  const loadSec = intFlag(ctx.flags, 'persist-load-sec', 10);
  const group = strFlag(ctx.flags, 'persistence-group', 'im.persistence');
  const ceilingMessages = intFlag(ctx.flags, 'ceiling-messages', 3_000);
  const mongo = new MongoClient(
    ctx.sut.env.IM_MONGO_URL ?? 'mongodb://127.0.0.1:27017',
    mongoClientOptions({ maxPoolSize: Number(ctx.sut.env.IM_MONGO_MAX_POOL ?? 10), waitQueueTimeoutMs: 10_000 }, { socketTimeoutMS: 60_000, serverSelectionTimeoutMS: 10_000 }),
  );
  const log = await benchLog(ctx.sut.topicPrefix, 'bench-persist');
  const lag = new LagReader(brokers(), ctx.sut.topicPrefix);
  const notes = ['the backlog is produced straight into im.msg.stamped (the stamper\'s output); push orchestration sees it too, as offline users'];
  try {
    await mongo.connect();
    const db = mongo.db(ctx.sut.env.IM_MONGO_DB ?? 'im');
    const coll = db.collection('messages');
    await ctx.sut.persistence(false);
    const run = randomUUID().slice(0, 8);
    // With the writer stopped, so the two do not share FerretDB.
    // The backlog's shape: as many conversations, so each batch touches as many as the writer's.
    const conversations = Math.max(1, Math.floor(n / 20));
    const ceiling = await storeCeiling(db, {
      run,
      messages: ceilingMessages,
      conversations,
      // im.msg.stamped's partitions (schemas/topics.json defaults).
      partitions: 6,
      batch: Number(ctx.sut.env.IM_WRITER_BATCH_SIZE ?? 500),
      updatesPerCommand: Number(ctx.sut.env.IM_MONGO_UPDATES_PER_COMMAND ?? DEFAULT_UPDATES_PER_COMMAND),
    });
    ctx.log(`[persist] FerretDB ceiling for the writer's batches: ${ceiling.docsPerSec} docs/s (${ceiling.messages} messages over ${ceiling.conversations} conversations in ${ceiling.seconds} s)`);
    const serde = createTopicSerde(createRegistryClient(ctx.sut.env.IM_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7'));
    const msgs = backlogMessages(run, n, conversations);
    const producer = await log.producer();
    const t0 = Date.now();
    for (let i = 0; i < msgs.length; i += 500) {
      const chunk = msgs.slice(i, i + 500);
      await producer.send(await Promise.all(chunk.map(async (m) => ({ topic: 'im.msg.stamped', key: m.conversationId, value: await serde.encode('im.msg.stamped', m), headers: {}, timestamp: Date.now() }))));
    }
    await producer.close();
    const produceSec = (Date.now() - t0) / 1000;
    const count0 = async (): Promise<number | null> => coll.countDocuments({}).catch(() => null);
    const before = await count0();
    if (before === null) throw new Error(`MongoDB at ${ctx.sut.env.IM_MONGO_URL} does not answer a count on ${ctx.sut.env.IM_MONGO_DB}.messages`);
    const lagBefore = await lag.lag(group, 'im.msg.stamped');
    ctx.log(`[persist] backlog of ${n} produced in ${round(produceSec)} s; writer lag ${lagBefore}; ${before} documents before`);

    const meter = new CpuMeter(() => ctx.sut.pids());
    meter.begin();
    const start = Date.now();
    await ctx.sut.persistence(true);
    const startedSec = (Date.now() - start) / 1000;
    const series: { t: number; documents: number }[] = [];
    let count = before;
    while (count - before < n && Date.now() - start < 300_000) {
      await sleep(1000);
      const c = await count0();
      if (c === null) {
        notes.push('MongoDB stopped answering counts during the drain; the drain figures end there');
        break;
      }
      count = c;
      const t = (Date.now() - start) / 1000;
      series.push({ t: round(t), documents: count - before });
      ctx.log(`[persist drain] ${t.toFixed(0)}s  ${count - before}/${n} documents`);
    }
    const drainSec = (Date.now() - start) / 1000;
    const cpu = meter.end();
    const written = count - before;
    // The writer's own rate: from its first document, not from process start.
    const firstT = series.find((p) => p.documents > 0)?.t ?? 0;
    const drain = { backlog: n, written, seconds: round(drainSec), processStartSec: round(startedSec), docsPerSec: Math.round(written / Math.max(0.001, drainSec)), docsPerSecAfterFirst: Math.round(written / Math.max(0.001, drainSec - firstT + 1)), lagBefore, series, cpu };
    ctx.log(`[persist] drained ${written}/${n} in ${round(drainSec)} s (${drain.docsPerSec} docs/s)`);

    const underLoad = await runDirect(ctx, target, { rates: [loadRate], seconds: loadSec, pairs: 100, search: false, searchSteps: 0, maxRate: loadRate, p99BoundMs: 100, persistenceGroup: group });
    const lagAfter = await lag.lag(group, 'im.msg.stamped');
    const step = underLoad.steps[0];
    const validity: Validity | null = step?.validity ?? null;
    if (validity && !validity.valid) notes.push(`the 1:1 load step is INVALID, its lag is not a measurement: ${validity.reasons.join('; ')}`);
    if (written < n) notes.push(`the writer stored ${written} of the ${n} backlog messages before the drain ended: its docs/s is a lower bound`);
    return {
      scenario: 'persist',
      configuration: { backlog: n, loadRate, loadSec, group, ceilingMessages },
      figures: {
        drain,
        ferretdbCeiling: ceiling,
        writerVsCeiling: ceiling.docsPerSec > 0 ? round(drain.docsPerSecAfterFirst / ceiling.docsPerSec) : null,
        underLoad: { rate: loadRate, seconds: loadSec, lagMax: step?.persistenceLagMax ?? null, lagAfterDrain: lagAfter, sent: step?.sent ?? 0, delivered: step?.delivered ?? 0, validity },
      },
      latencyCurves: [],
      steps: underLoad.series.map((s) => ({ ...s, label: `1:1 load ${s.label}` })),
      notes,
    };
  } finally {
    await ctx.sut.persistence(true).catch(() => undefined);
    await lag.close();
    await log.close();
    await mongo.close();
  }
}
