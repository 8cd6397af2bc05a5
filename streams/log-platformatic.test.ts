import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import type { ConsumedBatch } from './log.js';
import { gatheringFetchCases, groupAssignmentCases, withTopics } from './kafka-group.cases.js';
import { logContractCases } from './log-contract.cases.js';
import { PlatformaticKafkaLog } from './log-platformatic.js';
import { eventually } from './testing.js';

const { brokers } = loadConfig({ ...process.env, IM_ENGINE: 'kafka' }).kafka;
logContractCases('platformatic', async () => new PlatformaticKafkaLog({ brokers, clientId: 'im-log-contract' }));

/** What this file adds to the contract: the client's own seams, checked against the broker. */
describe('platformatic log', () => {
  const log = new PlatformaticKafkaLog({ brokers, clientId: 'im-log-platformatic', tuning: { maxBytesPerPartition: 1 } });
  afterAll(() => log.close());

  groupAssignmentCases(() => log);

  it('does not commit a batch whose partition moved to another member while it was in flight', async () => {
    // The package rejoins at once on a rebalance, batches in flight or not: a's two batches are
    // held until b has joined and taken one of the partitions.
    await withTopics(log, ['moved'], 2, async ([topic], group, members) => {
      const producer = await log.producer();
      try {
        await producer.send([0, 1].map((partition) => ({ topic: topic!, key: `k${partition}`, value: Buffer.from('x'), headers: {}, timestamp: Date.now(), partition })));
      } finally {
        await producer.close();
      }
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const held = new Set<number>();
      const assigned = new Map<string, number[]>();
      const a = log.consumer({
        groupId: group,
        topics: [topic!],
        fromBeginning: true,
        commit: true,
        partitionsConcurrency: 2,
        onAssignment: (x) => assigned.set('a', x.map((p) => p.partition)),
        eachBatch: async (batch) => {
          held.add(batch.partition);
          await released;
        },
      });
      // b never finishes a batch, so it commits nothing: any commit of the moved partition is a's.
      const b = log.consumer({
        groupId: group,
        topics: [topic!],
        fromBeginning: true,
        commit: true,
        onAssignment: (x) => assigned.set('b', x.map((p) => p.partition)),
        eachBatch: async () => {
          throw new Error('b holds no batch');
        },
      });
      members.push(a, b);
      try {
        await a.start();
        await eventually(() => held.size === 2, "a's two batches in flight");
        await b.start();
        await eventually(() => assigned.get('a')?.length === 1 && assigned.get('b')?.length === 1, 'the partitions split between a and b');
        const [kept] = assigned.get('a')!;
        const [moved] = assigned.get('b')!;
        release();
        // stop() commits all that a holds back, so whatever a would commit is in by then.
        await a.stop();
        const committed = await log.committedOffsets(group, topic!);
        expect(committed.get(kept!)).toBe('1');
        expect(committed.has(moved!)).toBe(false);
      } finally {
        // stop() waits for a's batches: a failed step must not leave them held.
        release();
      }
    });
  });

  it("reports the partition's high watermark with each batch, not the batch's own end", async () => {
    // maxBytesPerPartition 1: the queued records are delivered one per batch, all from one fetch.
    await withTopics(log, ['watermark'], 1, async ([topic], group, members) => {
      const producer = await log.producer();
      try {
        await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic: topic!, key: 'k', value: Buffer.from(String(i)), headers: {}, timestamp: Date.now() })));
      } finally {
        await producer.close();
      }
      const batches: ConsumedBatch[] = [];
      const member = log.consumer({ groupId: group, topics: [topic!], fromBeginning: true, commit: false, eachBatch: async (b) => void batches.push(b) });
      members.push(member);
      await member.start();
      await eventually(() => batches.flatMap((b) => b.messages).length === 10, 'the ten records consumed');
      expect(batches.map((b) => b.messages.length)).toEqual(Array(10).fill(1));
      expect(batches.map((b) => b.highWatermark)).toEqual(Array(10).fill('10'));
    });
  });
});

/** The storage group's fetch setting (ops/k8s/processors.yaml): a fetch waits for 64 KiB or 250 ms. */
describe('platformatic log, gathering fetches', () => {
  const tuning = { fetchMinBytes: 65_536, fetchMaxWaitMs: 250 };
  const log = new PlatformaticKafkaLog({ brokers, clientId: 'im-log-platformatic-gathering', tuning });
  afterAll(() => log.close());
  gatheringFetchCases(() => log, tuning);
});
