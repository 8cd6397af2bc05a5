import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import type { ConsumedBatch, LogConsumer, OutgoingMessage } from './log.js';
import { logContractCases } from './log-contract.cases.js';
import { ConfluentKafkaLog } from './log-confluent.js';
import { eventually } from './testing.js';

const { brokers } = loadConfig({ ...process.env, IM_ENGINE: 'kafka' }).kafka;
logContractCases('confluent', async () => new ConfluentKafkaLog({ brokers, clientId: 'im-log-contract' }));

/** What this file adds to the contract: librdkafka's assignment and this log's commit timing, against the broker. */
describe('confluent log', () => {
  // Commits held back for a minute: whatever is committed within a case came from a flush.
  const log = new ConfluentKafkaLog({ brokers, clientId: 'im-log-confluent', tuning: { commitIntervalMs: 60_000 } });
  afterAll(() => log.close());

  /** Runs `body` on fresh topics and a fresh group, removing them whatever the outcome. */
  async function withTopics(labels: string[], partitions: number, body: (topics: string[], group: string, members: LogConsumer[]) => Promise<void>): Promise<void> {
    const id = `test-${randomUUID().slice(0, 8)}`;
    const topics = labels.map((label) => `${id}.${label}`);
    const group = `${id}.group`;
    const members: LogConsumer[] = [];
    await log.createTopics(topics.map((name) => ({ name, partitions, replicationFactor: 1, config: {} })));
    try {
      await body(topics, group, members);
    } finally {
      await Promise.all(members.map((m) => m.stop()));
      await log.deleteTopics(topics);
      await log.deleteGroups([group]);
    }
  }

  const record = (topic: string, key: string, partition?: number): OutgoingMessage => ({ topic, key, value: Buffer.from(key), headers: {}, timestamp: Date.now(), partition });

  it('gives partition n of every topic the group reads to one member (range assignor)', async () => {
    // Three members on four partitions, so ranges are uneven: one member gets two partitions of each topic.
    await withTopics(['orders', 'payments'], 4, async ([orders, payments], group, members) => {
      const assigned = new Map<string, { topic: string; partition: number }[]>();
      const keysSeen = new Map<string, Map<string, Set<string>>>();
      for (const name of ['a', 'b', 'c']) {
        keysSeen.set(name, new Map([[orders!, new Set()], [payments!, new Set()]]));
        members.push(
          log.consumer({
            groupId: group,
            topics: [orders!, payments!],
            fromBeginning: true,
            commit: true,
            onAssignment: (a) => assigned.set(name, a),
            eachBatch: async (batch: ConsumedBatch) => {
              for (const m of batch.messages) keysSeen.get(name)!.get(batch.topic)!.add(m.key!);
            },
          }),
        );
      }
      for (const member of members) await member.start();
      const settled = (): boolean => {
        const all = [...assigned.values()].flat().map((a) => `${a.topic}:${a.partition}`);
        return assigned.size === 3 && [...assigned.values()].every((a) => a.length > 0) && all.length === 8 && new Set(all).size === 8;
      };
      await eventually(settled, 'three members split the eight topic-partitions');
      const partitionsOf = (name: string, topic: string): number[] =>
        assigned
          .get(name)!
          .filter((a) => a.topic === topic)
          .map((a) => a.partition)
          .sort();
      for (const name of assigned.keys()) expect(partitionsOf(name, orders!)).toEqual(partitionsOf(name, payments!));

      const producer = await log.producer();
      try {
        const keys = Array.from({ length: 24 }, (_, i) => `user-${i}`);
        await producer.send([orders!, payments!].flatMap((topic) => keys.map((key) => record(topic, key))));
        const consumed = (): number => [...keysSeen.values()].reduce((n, byTopic) => n + [...byTopic.values()].reduce((k, s) => k + s.size, 0), 0);
        await eventually(() => consumed() === 48, 'every record of both topics consumed');
      } finally {
        await producer.close();
      }
      // A key's records of both topics meet in one member (the stores of a task see them all).
      for (const byTopic of keysSeen.values()) expect([...byTopic.get(orders!)!].sort()).toEqual([...byTopic.get(payments!)!].sort());
    });
  });

  it('commits the first batch at once, holds later ones for the commit interval and commits them on stop', async () => {
    await withTopics(['held'], 1, async ([topic], group, members) => {
      let consumed = 0;
      const member = log.consumer({ groupId: group, topics: [topic!], fromBeginning: true, commit: true, eachBatch: async (b) => void (consumed += b.messages.length) });
      members.push(member);
      await member.start();
      const producer = await log.producer();
      try {
        await producer.send([record(topic!, 'a')]);
        await eventually(async () => (await log.committedOffsets(group, topic!)).get(0) === '1', 'the first batch committed');
        await producer.send([record(topic!, 'b')]);
        await eventually(() => consumed === 2, 'b consumed');
        expect(await log.committedOffsets(group, topic!)).toEqual(new Map([[0, '1']]));
      } finally {
        await producer.close();
      }
      await member.stop();
      expect(await log.committedOffsets(group, topic!)).toEqual(new Map([[0, '2']]));
    });
  });

  it('commits what a member processed when its partitions are revoked, without waiting for the interval', async () => {
    await withTopics(['revoked'], 2, async ([topic], group, members) => {
      let consumed = 0;
      const first = log.consumer({ groupId: group, topics: [topic!], fromBeginning: true, commit: true, eachBatch: async (b) => void (consumed += b.messages.length) });
      members.push(first);
      await first.start();
      const producer = await log.producer();
      try {
        await producer.send([record(topic!, 'a', 0)]);
        await eventually(async () => (await log.committedOffsets(group, topic!)).get(0) === '1', 'the first batch committed');
        await producer.send([record(topic!, 'b', 0), record(topic!, 'c', 1)]);
        await eventually(() => consumed === 3, 'b and c consumed');
      } finally {
        await producer.close();
      }
      // A second member makes the group rebalance: the first commits before it gives partitions
      // up. The second commits nothing itself, so every offset committed is the first's.
      const second = log.consumer({ groupId: group, topics: [topic!], fromBeginning: true, commit: false, eachBatch: async () => {} });
      members.push(second);
      await second.start();
      await eventually(async () => (await log.committedOffsets(group, topic!)).get(1) === '1', 'the held-back offsets committed at the revocation');
      expect(await log.committedOffsets(group, topic!)).toEqual(new Map([[0, '2'], [1, '1']]));
    });
  });
});
