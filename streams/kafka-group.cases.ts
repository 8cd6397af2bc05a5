import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { ConsumedBatch, LogClient, LogConsumer, OutgoingMessage } from './log.js';
import { eventually } from './testing.js';

/**
 * What a Kafka log adds to the contract cases, against the broker: how a group's partitions
 * are spread over its members, which each client library does its own way (an assigner of
 * ours, or the library's), and how its fetches wait (`gatheringFetchCases`). Called inside a
 * log's own describe.
 */
export function groupAssignmentCases(log: () => LogClient): void {
  it('gives partition n of every topic the group reads to one member (co-partitioned tasks)', async () => {
    // Three members on four partitions: ranges are uneven and a round-robin would split a
    // partition number's topics between members.
    await withTopics(log(), ['orders', 'payments'], 4, async ([orders, payments], group, members) => {
      const assigned = new Map<string, { topic: string; partition: number }[]>();
      const keysSeen = new Map<string, Map<string, Set<string>>>();
      for (const name of ['a', 'b', 'c']) {
        keysSeen.set(name, new Map([[orders!, new Set()], [payments!, new Set()]]));
        members.push(
          log().consumer({
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

      const producer = await log().producer();
      try {
        const keys = Array.from({ length: 24 }, (_, i) => `user-${i}`);
        await producer.send([orders!, payments!].flatMap((topic) => keys.map((key) => keyedRecord(topic, key))));
        const consumed = (): number => [...keysSeen.values()].reduce((n, byTopic) => n + [...byTopic.values()].reduce((k, s) => k + s.size, 0), 0);
        await eventually(() => consumed() === 48, 'every record of both topics consumed');
      } finally {
        await producer.close();
      }
      // A key's records of both topics meet in one member (the stores of a task see them all).
      for (const byTopic of keysSeen.values()) expect([...byTopic.get(orders!)!].sort()).toEqual([...byTopic.get(payments!)!].sort());
    });
  });
}

/**
 * A consumer that gathers (fetchMinBytes far above what arrives) still gets a lone record, once
 * its wait (fetchMaxWaitMs) is over: the storage group's setting delays its records by at most
 * that wait, never holds them. `log` is made with that tuning.
 */
export function gatheringFetchCases(log: () => LogClient, tuning: { fetchMinBytes: number; fetchMaxWaitMs: number }): void {
  it('delivers a lone record to a consumer that gathers once its fetch wait is over', async () => {
    await withTopics(log(), ['gathered'], 1, async ([topic], group, members) => {
      const seen: string[] = [];
      const member = log().consumer({ groupId: group, topics: [topic!], fromBeginning: true, commit: true, eachBatch: async (batch) => void seen.push(...batch.messages.map((m) => m.key!)) });
      members.push(member);
      await member.start();
      const producer = await log().producer();
      try {
        await producer.send([keyedRecord(topic!, 'lone')]);
      } finally {
        await producer.close();
      }
      // A few of its waits: the one in flight when the record came, and the next.
      await eventually(() => seen.includes('lone'), 'the lone record', 10 * tuning.fetchMaxWaitMs + 5_000);
      expect(seen).toEqual(['lone']);
      expect(tuning.fetchMinBytes).toBeGreaterThan(Buffer.byteLength('lone') * 1000);
    });
  });
}

export const keyedRecord = (topic: string, key: string, partition?: number): OutgoingMessage => ({ topic, key, value: Buffer.from(key), headers: {}, timestamp: Date.now(), partition });

/**
 * Runs `body` on fresh topics (`test-<random>.<label>`) and a fresh group, stopping the members
 * it started and removing the topics and the group whatever the outcome.
 */
export async function withTopics(log: LogClient, labels: string[], partitions: number, body: (topics: string[], group: string, members: LogConsumer[]) => Promise<void>): Promise<void> {
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
