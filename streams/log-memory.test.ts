import { describe, expect, it } from 'vitest';
import type { ConsumedBatch } from './log.js';
import { MemoryLog } from './log-memory.js';
import { eventually } from './testing.js';

const value = (s: string): Buffer => Buffer.from(s);

async function setup(partitions = 4) {
  const log = new MemoryLog();
  await log.createTopics([{ name: 't', partitions, replicationFactor: 1, config: {} }]);
  const producer = await log.producer();
  return { log, producer };
}

describe('memory log: Kafka semantics', () => {
  it('assigns increasing offsets per partition and keeps a key on one partition', async () => {
    const { log, producer } = await setup();
    await producer.send(Array.from({ length: 20 }, (_, i) => ({ topic: 't', key: 'k1', value: value(String(i)), headers: {}, timestamp: i })));
    const nonEmpty = [0, 1, 2, 3].map((p) => log.read('t', p)).filter((r) => r.length > 0);
    expect(nonEmpty).toHaveLength(1);
    expect(nonEmpty[0]!.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect((await log.endOffsets('t')).get(log.read('t', 0).length ? 0 : 1)).toBeDefined();
  });

  it('splits partitions among group members and rebalances when one leaves', async () => {
    const { log, producer } = await setup(4);
    const seen = new Map<string, number[]>();
    const consumer = (name: string) =>
      log.consumer({
        groupId: 'g',
        topics: ['t'],
        fromBeginning: true,
        commit: true,
        eachBatch: async (b: ConsumedBatch) => {
          seen.set(name, [...(seen.get(name) ?? []), b.partition]);
        },
      });
    const a = consumer('a');
    const b = consumer('b');
    await a.start();
    await b.start();
    await producer.send(Array.from({ length: 40 }, (_, i) => ({ topic: 't', key: `k${i}`, value: value('x'), headers: {}, timestamp: i })));
    await eventually(() => (seen.get('a')?.length ?? 0) > 0 && (seen.get('b')?.length ?? 0) > 0, 'both members consume');
    const partsA = new Set(seen.get('a'));
    const partsB = new Set(seen.get('b'));
    expect([...partsA].some((p) => partsB.has(p))).toBe(false);
    await b.stop();
    seen.clear();
    await producer.send(Array.from({ length: 40 }, (_, i) => ({ topic: 't', key: `k${i}`, value: value('y'), headers: {}, timestamp: i })));
    await eventually(() => new Set(seen.get('a')).size === 4, 'the remaining member owns all partitions');
    await a.stop();
  });

  it('resumes a group from its committed offsets and redelivers a failed batch', async () => {
    const { log, producer } = await setup(1);
    await producer.send(['a', 'b', 'c'].map((s) => ({ topic: 't', key: 'k', value: value(s), headers: {}, timestamp: 0 })));
    const got: string[] = [];
    let failOnce = true;
    const first = log.consumer({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      commit: true,
      eachBatch: async (b) => {
        if (failOnce) {
          failOnce = false;
          throw new Error('transient');
        }
        got.push(...b.messages.map((m) => m.value!.toString()));
      },
    });
    await first.start();
    await eventually(() => got.length === 3, 'redelivered after failure');
    await first.stop();
    await producer.send([{ topic: 't', key: 'k', value: value('d'), headers: {}, timestamp: 0 }]);
    const second: string[] = [];
    const c2 = log.consumer({ groupId: 'g', topics: ['t'], fromBeginning: true, commit: true, eachBatch: async (b) => void second.push(...b.messages.map((m) => m.value!.toString())) });
    await c2.start();
    await eventually(() => second.length === 1, 'only the uncommitted record');
    expect(got).toEqual(['a', 'b', 'c']);
    expect(second).toEqual(['d']);
    await c2.stop();
  });
});
