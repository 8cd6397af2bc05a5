import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumedBatch, ConsumedMessage, ConsumerOptions, LogClient, LogConsumer, LogProducer, OutgoingMessage } from './log.js';
import { partitionFor } from './partitioner.js';
import { eventually } from './testing.js';

/**
 * The `LogClient` contract as test cases, declared once and run against every log: the memory
 * engine and each Kafka client library. A log file's test is one call:
 * `logContractCases('kafkajs', async () => new KafkaLog(...))`.
 */
export function logContractCases(name: string, open: () => Promise<LogClient>): void {
  describe(`log contract: ${name}`, () => {
    let log: LogClient;
    let made: CaseResources | undefined;

    beforeAll(async () => {
      log = await open();
    });
    afterAll(async () => {
      await log?.close();
    });
    afterEach(async () => {
      const done = made;
      made = undefined;
      await done?.release();
    });
    const resources = (): CaseResources => (made = new CaseResources(log));

    it('creates, describes, lists and deletes topics', async () => {
      const r = resources();
      const plain = await r.topic('plain', 3);
      const compacted = await r.topic('compacted', 2, { 'cleanup.policy': 'compact' });
      await log.createTopics([{ name: plain, partitions: 3, replicationFactor: 1, config: {} }]); // idempotent
      expect(await log.describeTopic(plain)).toEqual({ name: plain, partitions: 3, config: {} });
      expect(await log.describeTopic(compacted)).toEqual({ name: compacted, partitions: 2, config: { 'cleanup.policy': 'compact' } });
      expect(await log.partitionCount(compacted)).toBe(2);
      expect(await log.describeTopic(r.name('never-created'))).toBeNull();
      expect(await log.listTopics()).toEqual(expect.arrayContaining([plain, compacted]));

      await log.deleteTopics([plain, r.name('never-created')]);
      expect(await log.describeTopic(plain)).toBeNull();
      const listed = await log.listTopics();
      expect(listed).toContain(compacted);
      expect(listed).not.toContain(plain);
    });

    it('delivers each partition in offset order with keys, headers, timestamps and tombstones', async () => {
      const r = resources();
      const topic = await r.topic('records', 3);
      const base = Date.now() - 60_000;
      const sent: OutgoingMessage[] = Array.from({ length: 30 }, (_, i) => ({
        topic,
        key: `k${i % 6}`,
        value: i % 10 === 9 ? null : Buffer.from(`v${i}`),
        headers: { seq: String(i) },
        timestamp: base + i,
      }));
      sent.push({ topic, key: null, value: Buffer.from('unkeyed'), headers: {}, timestamp: base + 30, partition: 2 });
      const producer = await r.producer();
      await producer.send(sent.slice(0, 12));
      await producer.send(sent.slice(12));

      const got = collector();
      await r.member(r.group('records'), topic, got.eachBatch, { commit: false }).start();
      await eventually(() => got.count() === sent.length, 'every record consumed');

      const expected = new Map<number, unknown[]>();
      for (const m of sent) {
        const partition = m.partition ?? partitionFor(m.key, 3);
        expected.set(partition, [...(expected.get(partition) ?? []), { key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }]);
      }
      for (const [partition, messages] of got.byPartition) {
        expect(messages.map((m) => m.offset)).toEqual(messages.map((_, i) => String(i)));
        expect(messages.map(({ key, value, headers, timestamp }) => ({ key, value, headers, timestamp }))).toEqual(expected.get(partition));
      }
      expect(new Set(got.byPartition.keys())).toEqual(new Set(expected.keys()));
      expect(await log.endOffsets(topic)).toEqual(new Map([0, 1, 2].map((p) => [p, String(expected.get(p)?.length ?? 0)])));
    });

    it('gives each group its own copy of a record: headers one consumer adds are not seen by another', async () => {
      const r = resources();
      const topic = await r.topic('headers', 1);
      await (await r.producer()).send([{ topic, key: 'k', value: Buffer.from('v'), headers: { origin: 'producer' }, timestamp: Date.now() }]);
      const first = collector();
      await r
        .member(r.group('stamps'), topic, async (batch) => {
          for (const m of batch.messages) m.headers['stamped-by'] = 'first';
          await first.eachBatch(batch);
        }, { commit: false })
        .start();
      await eventually(() => first.count() === 1, 'the first group read the record');
      const second = collector();
      await r.member(r.group('reads'), topic, second.eachBatch, { commit: false }).start();
      await eventually(() => second.count() === 1, 'the second group read the record');
      expect(second.all()[0]!.headers).toEqual({ origin: 'producer' });
    });

    it('splits partitions among group members and hands them over when a member stops', async () => {
      const r = resources();
      const topic = await r.topic('split', 4);
      const group = r.group('split');
      const assigned = new Map<string, number[]>();
      const seen = new Map<string, Set<number>>([['a', new Set()], ['b', new Set()]]);
      const member = (name: string): LogConsumer =>
        r.member(group, topic, async (batch) => void seen.get(name)!.add(batch.partition), {
          onAssignment: (a) => assigned.set(name, a.map((x) => x.partition)),
        });
      const a = member('a');
      const b = member('b');
      await a.start();
      await b.start();
      const split = (): boolean => {
        const [ofA, ofB] = [assigned.get('a') ?? [], assigned.get('b') ?? []];
        return ofA.length > 0 && ofB.length > 0 && new Set([...ofA, ...ofB]).size === 4 && ofA.length + ofB.length === 4;
      };
      await eventually(split, 'the two members split the four partitions');

      const producer = await r.producer();
      const keyed = (round: string): OutgoingMessage[] => Array.from({ length: 40 }, (_, i) => ({ topic, key: `k${i}`, value: Buffer.from(round), headers: {}, timestamp: Date.now() }));
      await producer.send(keyed('first'));
      await eventually(() => seen.get('a')!.size + seen.get('b')!.size === 4, 'every partition consumed');
      expect([...seen.get('a')!].every((p) => assigned.get('a')!.includes(p))).toBe(true);
      expect([...seen.get('b')!].every((p) => assigned.get('b')!.includes(p))).toBe(true);

      await b.stop();
      await eventually(() => assigned.get('a')?.length === 4, 'the remaining member owns all partitions');
      seen.get('a')!.clear();
      await producer.send(keyed('second'));
      await eventually(() => seen.get('a')!.size === 4, 'the remaining member consumes every partition');
    });

    it('resumes a restarted group after its committed offset', async () => {
      const r = resources();
      const topic = await r.topic('resume', 1);
      const group = r.group('resume');
      const producer = await r.producer();
      await producer.send(['a', 'b', 'c'].map((v) => record(topic, v)));
      const first = collector();
      const c1 = r.member(group, topic, first.eachBatch);
      await c1.start();
      await eventually(() => first.count() === 3, 'the first member consumes a, b, c');
      await c1.stop();
      expect(await log.committedOffsets(group, topic)).toEqual(new Map([[0, '3']]));

      await producer.send([record(topic, 'd')]);
      const second = collector();
      await r.member(group, topic, second.eachBatch).start();
      await eventually(() => second.count() > 0, 'the restarted member consumes');
      expect(first.values()).toEqual(['a', 'b', 'c']);
      expect(second.values()).toEqual(['d']);
      expect(second.all()[0]!.offset).toBe('3');
    });

    it('delivers a rejected batch again and does not commit it', async () => {
      const r = resources();
      const topic = await r.topic('rejected', 1);
      const group = r.group('rejected');
      const producer = await r.producer();
      await producer.send(['a', 'b'].map((v) => record(topic, v)));
      const got = collector();
      let rejections = 0;
      let committedAtRedelivery: Map<number, string> | undefined;
      const consumer = r.member(group, topic, async (batch) => {
        if (rejections === 0) {
          rejections++;
          throw new Error('a transient failure');
        }
        committedAtRedelivery ??= await log.committedOffsets(group, topic);
        await got.eachBatch(batch);
      });
      await consumer.start();
      await eventually(() => got.count() === 2, 'the rejected batch delivered again');
      expect(got.all().map((m) => m.offset)).toEqual(['0', '1']);
      expect(committedAtRedelivery).toEqual(new Map());
      await consumer.stop();
      expect(await log.committedOffsets(group, topic)).toEqual(new Map([[0, '2']]));
    });

    it('commits nothing more after kill(), so the group processes the batch in flight again', async () => {
      const r = resources();
      const topic = await r.topic('killed', 1);
      const group = r.group('killed');
      const producer = await r.producer();
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      let inFlight = false;
      const first = collector();
      const victim = r.member(group, topic, async (batch) => {
        await first.eachBatch(batch);
        if (batch.messages.some((m) => m.value?.toString() === 'b')) {
          inFlight = true;
          await released;
        }
      });
      await victim.start();
      await producer.send([record(topic, 'a')]);
      await eventually(async () => (await log.committedOffsets(group, topic)).get(0) === '1', 'a committed');
      await producer.send([record(topic, 'b')]);
      await eventually(() => inFlight, 'the batch of b in flight');
      // kill() may wait for the batch in flight (kafkajs does), so the batch is let go meanwhile.
      const killed = victim.kill();
      release();
      await killed;
      expect(await log.committedOffsets(group, topic)).toEqual(new Map([[0, '1']]));

      const successor = collector();
      await r.member(group, topic, successor.eachBatch).start();
      await eventually(() => successor.count() > 0, 'the successor consumes');
      expect(successor.values()).toEqual(['b']);
    });

    it('reports end offsets and committed offsets per partition; a non-committing reader commits nothing', async () => {
      const r = resources();
      const topic = await r.topic('offsets', 3);
      const producer = await r.producer();
      await producer.send([...['a', 'b', 'c'].map((v) => ({ ...record(topic, v), partition: 0 })), { ...record(topic, 'd'), partition: 1 }]);
      expect(await log.endOffsets(topic)).toEqual(new Map([[0, '3'], [1, '1'], [2, '0']]));

      const committing = r.group('committing');
      const reader = r.group('reader');
      expect(await log.committedOffsets(committing, topic)).toEqual(new Map());
      const byCommitter = collector();
      const byReader = collector();
      const c = r.member(committing, topic, byCommitter.eachBatch);
      const t = r.member(reader, topic, byReader.eachBatch, { commit: false });
      await c.start();
      await t.start();
      await eventually(() => byCommitter.count() === 4 && byReader.count() === 4, 'both groups consume all four records');
      await c.stop();
      await t.stop();
      // Partition 2 never had a record, so nothing was ever committed for it.
      expect(await log.committedOffsets(committing, topic)).toEqual(new Map([[0, '3'], [1, '1']]));
      expect(await log.committedOffsets(reader, topic)).toEqual(new Map());
    });

    it('lists groups and deletes only those without live members', async () => {
      const r = resources();
      const topic = await r.topic('groups', 1);
      const group = r.group('groups');
      const producer = await r.producer();
      await producer.send([record(topic, 'a')]);
      const got = collector();
      const consumer = r.member(group, topic, got.eachBatch);
      await consumer.start();
      await eventually(() => got.count() === 1, 'the record consumed');
      expect(await log.listGroups()).toContain(group);
      await expect(log.deleteGroups([group])).rejects.toThrow();
      expect(await log.listGroups()).toContain(group);

      await consumer.stop();
      await eventually(async () => (await log.committedOffsets(group, topic)).get(0) === '1', 'the offset committed on stop');
      await log.deleteGroups([group, r.name('no-such-group')]);
      expect(await log.listGroups()).not.toContain(group);
      expect(await log.committedOffsets(group, topic)).toEqual(new Map());
    });

    it('starts a new group at the end or at the beginning as fromBeginning says', async () => {
      const r = resources();
      const topic = await r.topic('start', 1);
      const producer = await r.producer();
      await producer.send([record(topic, 'old')]);
      const fromEnd = collector();
      await r.member(r.group('from-end'), topic, fromEnd.eachBatch, { fromBeginning: false }).start();
      // Kafka resolves "the end" at the member's first fetch, which may follow start(): records
      // are sent until one arrives, so the case waits on delivery instead of guessing a delay.
      let sentNew = 0;
      await eventually(async () => {
        if (fromEnd.count() > 0) return true;
        await producer.send([record(topic, `new${sentNew++}`)]);
        return false;
      }, 'a record sent after start delivered');
      expect(fromEnd.values().every((v) => v.startsWith('new'))).toBe(true);

      const fromStart = collector();
      await r.member(r.group('from-start'), topic, fromStart.eachBatch).start();
      await eventually(() => fromStart.count() === 1 + sentNew, 'every record from the beginning');
      expect(fromStart.values()).toEqual(['old', ...Array.from({ length: sentNew }, (_, i) => `new${i}`)]);
    });
  });
}

const record = (topic: string, value: string): OutgoingMessage => ({ topic, key: 'k', value: Buffer.from(value), headers: {}, timestamp: Date.now() });

/** Consumed records by partition, in arrival order. */
function collector() {
  const byPartition = new Map<number, ConsumedMessage[]>();
  const all = (): ConsumedMessage[] => [...byPartition.values()].flat();
  return {
    byPartition,
    all,
    count: (): number => all().length,
    values: (): string[] => all().map((m) => m.value?.toString() ?? '<tombstone>'),
    eachBatch: async (batch: ConsumedBatch): Promise<void> => {
      byPartition.set(batch.partition, [...(byPartition.get(batch.partition) ?? []), ...batch.messages]);
    },
  };
}

/**
 * What one case made, removed after it whatever its outcome. Names start `test-<random>.` so each
 * run has its own and ops/bin/clean-test-topics.ts finds what a killed run left.
 */
class CaseResources {
  private readonly id = randomUUID().slice(0, 8);
  private readonly topics: string[] = [];
  private readonly groups: string[] = [];
  private readonly running = new Set<LogConsumer>();
  private readonly producers: LogProducer[] = [];

  constructor(private readonly log: LogClient) {}

  name(label: string): string {
    return `test-${this.id}.${label}`;
  }

  async topic(label: string, partitions: number, config: Record<string, string> = {}): Promise<string> {
    const name = this.name(label);
    this.topics.push(name);
    await this.log.createTopics([{ name, partitions, replicationFactor: 1, config }]);
    return name;
  }

  group(label: string): string {
    const id = this.name(label);
    this.groups.push(id);
    return id;
  }

  async producer(): Promise<LogProducer> {
    const producer = await this.log.producer();
    this.producers.push(producer);
    return producer;
  }

  /** A committing member of `groupId` reading `topic` from the beginning, unless `options` say otherwise. */
  member(groupId: string, topic: string, eachBatch: ConsumerOptions['eachBatch'], options: Partial<ConsumerOptions> = {}): LogConsumer {
    return this.consumer({ groupId, topics: [topic], fromBeginning: true, commit: true, eachBatch, ...options });
  }

  /** A consumer that is stopped at the end unless the case stopped or killed it. */
  consumer(options: ConsumerOptions): LogConsumer {
    const inner = this.log.consumer(options);
    const running = this.running;
    const tracked: LogConsumer = {
      start: async () => {
        running.add(tracked);
        await inner.start();
      },
      stop: async () => {
        running.delete(tracked);
        await inner.stop();
      },
      kill: async () => {
        running.delete(tracked);
        await inner.kill();
      },
    };
    return tracked;
  }

  async release(): Promise<void> {
    await Promise.all([...this.running].map((c) => c.stop()));
    await Promise.all(this.producers.map((p) => p.close()));
    await this.log.deleteTopics(this.topics);
    // A killed member stays in its group until the session times out with some clients.
    await eventually(
      () =>
        this.log.deleteGroups(this.groups).then(
          () => true,
          () => false,
        ),
      `groups ${this.groups.join(', ')} deleted`,
    );
  }
}
