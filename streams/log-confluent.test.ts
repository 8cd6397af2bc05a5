import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import type { LogConsumer } from './log.js';
import { logContractCases } from './log-contract.cases.js';
import { gatheringFetchCases, groupAssignmentCases, keyedRecord, withTopics } from './kafka-group.cases.js';
import { ConfluentKafkaLog } from './log-confluent.js';
import { eventually } from './testing.js';

const { brokers } = loadConfig({ ...process.env, IM_ENGINE: 'kafka' }).kafka;
logContractCases('confluent', async () => new ConfluentKafkaLog({ brokers, clientId: 'im-log-contract' }));

/** What this file adds to the contract: librdkafka's range assignment and this log's commit timing, against the broker. */
describe('confluent log', () => {
  // Commits held back for a minute: whatever is committed within a case came from a flush.
  const log = new ConfluentKafkaLog({ brokers, clientId: 'im-log-confluent', tuning: { commitIntervalMs: 60_000 } });
  afterAll(() => log.close());

  groupAssignmentCases(() => log);

  /** A started member of `group` that counts what it consumed; committing unless told otherwise. */
  async function countingMember(members: LogConsumer[], group: string, topic: string, commit = true): Promise<() => number> {
    let consumed = 0;
    const member = log.consumer({ groupId: group, topics: [topic], fromBeginning: true, commit, eachBatch: async (b) => void (consumed += b.messages.length) });
    members.push(member);
    await member.start();
    return () => consumed;
  }

  const committedOn = async (group: string, topic: string, partition: number): Promise<string | undefined> => (await log.committedOffsets(group, topic)).get(partition);

  it('commits the first batch at once, holds later ones for the commit interval and commits them on stop', async () => {
    await withTopics(log, ['held'], 1, async ([topic], group, members) => {
      const consumed = await countingMember(members, group, topic!);
      const producer = await log.producer();
      try {
        await producer.send([keyedRecord(topic!, 'a')]);
        await eventually(async () => (await committedOn(group, topic!, 0)) === '1', 'the first batch committed');
        await producer.send([keyedRecord(topic!, 'b')]);
        await eventually(() => consumed() === 2, 'b consumed');
        expect(await log.committedOffsets(group, topic!)).toEqual(new Map([[0, '1']]));
      } finally {
        await producer.close();
      }
      await members[0]!.stop();
      expect(await log.committedOffsets(group, topic!)).toEqual(new Map([[0, '2']]));
    });
  });

  it('commits what a member processed when its partitions are revoked, without waiting for the interval', async () => {
    await withTopics(log, ['revoked'], 2, async ([topic], group, members) => {
      const consumed = await countingMember(members, group, topic!);
      const producer = await log.producer();
      try {
        await producer.send([keyedRecord(topic!, 'a', 0)]);
        await eventually(async () => (await committedOn(group, topic!, 0)) === '1', 'the first batch committed');
        await producer.send([keyedRecord(topic!, 'b', 0), keyedRecord(topic!, 'c', 1)]);
        await eventually(() => consumed() === 3, 'b and c consumed');
      } finally {
        await producer.close();
      }
      // A second member makes the group rebalance: the first commits before it gives partitions
      // up. The second commits nothing itself, so every offset committed is the first's.
      await countingMember(members, group, topic!, false);
      await eventually(async () => (await committedOn(group, topic!, 1)) === '1', 'the held-back offsets committed at the revocation');
      expect(await log.committedOffsets(group, topic!)).toEqual(new Map([[0, '2'], [1, '1']]));
    });
  });
});

/** The storage group's fetch setting (ops/k8s/processors.yaml): a fetch waits for 64 KiB or 250 ms. */
describe('confluent log, gathering fetches', () => {
  const tuning = { fetchMinBytes: 65_536, fetchMaxWaitMs: 250 };
  const log = new ConfluentKafkaLog({ brokers, clientId: 'im-log-confluent-gathering', tuning });
  afterAll(() => log.close());
  gatheringFetchCases(() => log, tuning);
});
