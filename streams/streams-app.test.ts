import { afterEach, describe, expect, it } from 'vitest';
import { PoisonError } from '../core/errors.js';
import type { CheckedMessage, SendCommand, RelationState, TopicName } from '../schemas/types.generated.js';
import type { ConsumerOptions } from './log.js';
import { subTopologyGroup } from './plan.js';
import { StreamsApp } from './streams-app.js';
import { collect, engines, eventually, suiteHarnesses, type EngineHarness } from './testing.js';
import { type ProcessorBuilder, Topology } from './topology.js';

/**
 * The runtime's contract, run on both engines: per-key order through a chain, no loss across
 * a crash, poison records dead-lettered while neighbours flow, tables restored after restart.
 */
const runtime = { maxRetries: 2, retryInitialMs: 5, retryMaxMs: 20, partitionsConcurrency: 4 };
const TOPICS: TopicName[] = ['im.cmd.send', 'im.msg.checked', 'im.msg.stamped', 'im.push.online', 'im.state.sequences', 'im.state.relations', 'im.cmd.relation', 'im.dlq'];

function send(conversationId: string, content: string, i: number): SendCommand {
  return {
    correlationId: `c-${conversationId}-${i}`,
    sender: 'alice',
    origin: { gatewayId: 'gw', connectionId: 'conn', deviceId: 'dev' },
    clientMsgId: `${conversationId}-${i}`,
    conversationId,
    recipientKind: 'USER',
    recipientId: 'bob',
    content,
    contentType: 'text',
    clientTimestamp: i,
    receivedAt: i,
  };
}

/** enrich (async, optionally slow) -> checked -> stamp (store-backed seq) -> stamped. */
function chain(opts: { delayMs?: number; onRecord?: () => void } = {}): Topology {
  return new Topology('runtime-test')
    .processor('enrich', (p) => {
      p.stream('im.cmd.send').process(['im.msg.checked'], async (r) => {
        opts.onRecord?.();
        if (opts.delayMs) await new Promise((res) => setTimeout(res, opts.delayMs));
        if (r.value.content === 'poison') throw new PoisonError('content refused by test');
        const checked: CheckedMessage = { ...r.value, mentions: [] };
        return [{ topic: 'im.msg.checked', key: r.key, value: checked }];
      });
    })
    .processor('stamp', stamp);
}

/** checked -> stamped with a store-backed seq per conversation. */
function stamp(p: ProcessorBuilder): void {
  const seqs = p.store('im.state.sequences');
  p.stream('im.msg.checked').process(['im.msg.stamped'], async (r, ctx) => {
    const store = ctx.store(seqs);
    const seq = (store.get(r.value.conversationId)?.seq ?? 0) + 1;
    store.put(r.value.conversationId, { conversationId: r.value.conversationId, seq, updatedAt: Date.now() });
    return [{ topic: 'im.msg.stamped', key: r.key, value: { ...r.value, messageId: `m-${r.value.clientMsgId}`, seq, stampedAt: Date.now() } }];
  });
}

async function produce(h: EngineHarness, records: SendCommand[]): Promise<void> {
  const producer = await h.log.producer();
  const messages = await Promise.all(records.map(async (v) => ({ topic: 'im.cmd.send', key: v.conversationId, value: await h.serde.encode('im.cmd.send', v), headers: {}, timestamp: Date.now() })));
  await producer.send(messages);
  await producer.close();
}

for (const engine of engines) {
  describe(`stream runtime on the ${engine.name} engine`, () => {
    const { harness, cleanups } = suiteHarnesses(engine, TOPICS, afterEach);

    function app(h: EngineHarness, topology: Topology, appId = 'rt'): StreamsApp {
      const a = new StreamsApp(topology, { log: h.log, serde: h.serde, appId, runtime });
      cleanups.push(() => a.stop());
      return a;
    }

    it('keeps per-key order through a chain of processors', async () => {
      const h = await harness();
      const a = app(h, chain());
      await a.start();
      const convs = ['d:a:b', 'd:a:c', 'd:b:c', 'g:1', 'g:2'];
      const input = Array.from({ length: 300 }, (_, i) => send(convs[i % convs.length]!, `n${Math.floor(i / convs.length)}`, i));
      await produce(h, input);
      const out = await collect(h, 'im.msg.stamped');
      cleanups.push(() => out.stop());
      await eventually(() => out.records.length >= input.length, 'all stamped');
      for (const conv of convs) {
        const got = out.records.filter((r) => r.key === conv).map((r) => r.value);
        expect(got.map((v) => v.content)).toEqual(Array.from({ length: 60 }, (_, i) => `n${i}`));
        expect(got.map((v) => v.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      }
    });

    it('runs a chain joined by an internal topic as one task: records cross it in memory unless their key belongs to another task', async () => {
      const h = await harness();
      const effects: number[] = [];
      const topology = new Topology('fusion-test')
        .processor('enrich', (p) => {
          p.stream('im.cmd.send').process(['im.msg.checked', 'im.push.online'], async (r) => {
            // "moved:" records change key, so most of them land in another task's partition.
            const key = r.value.content.startsWith('moved:') ? `${r.value.conversationId}/moved` : r.key;
            const checked: CheckedMessage = { ...r.value, conversationId: key!, mentions: [] };
            const push = { gatewayId: 'gw', correlationId: r.value.correlationId, createdAt: 1, deliveries: [] };
            return [{ topic: 'im.msg.checked', key, value: checked }, { topic: 'im.push.online', key: 'gw', value: push }];
          });
        })
        .processor('stamp', stamp)
        .processor('effect', (p) => {
          // An effect-only processor: inlined, and run only once the task's outputs are durable.
          p.stream('im.push.online').process([], async () => {
            const ends = await h.log.endOffsets('im.msg.stamped');
            effects.push([...ends.values()].reduce((sum, o) => sum + Number(o), 0));
            return [];
          });
        });
      const a = app(h, topology, 'fusion');
      expect(a.plan.subTopologies.map((s) => s.processors)).toEqual([['enrich', 'stamp']]);
      await a.start();
      const checked = await collect(h, 'im.msg.checked');
      const pushes = await collect(h, 'im.push.online');
      const out = await collect(h, 'im.msg.stamped');
      cleanups.push(() => checked.stop(), () => pushes.stop(), () => out.stop());
      const input = Array.from({ length: 60 }, (_, i) => send(`d:f:${i % 6}`, i % 3 === 0 ? `moved:${i}` : `n${i}`, i));
      await produce(h, input);
      await eventually(() => out.records.length === input.length && effects.length === input.length, 'all stamped, every effect run');
      // Only re-keyed records whose key falls in another partition took the topic.
      const moved = checked.records.map((r) => r.value.content);
      expect(moved.length).toBeGreaterThan(0);
      for (const c of moved) expect(c.startsWith('moved:')).toBe(true);
      expect(pushes.records).toHaveLength(0);
      // Each effect saw at least as many stamped records in the log as effects before it.
      effects.forEach((stampedInLog, i) => expect(stampedInLog).toBeGreaterThanOrEqual(Math.min(i + 1, input.length - moved.length)));
      for (const conv of new Set(out.records.map((r) => r.key))) {
        const seqs = out.records.filter((r) => r.key === conv).map((r) => r.value.seq);
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      }
    });

    it('assigns partition n of every topic of a group to one member (co-partitioned tasks)', async () => {
      const h = await harness();
      const groupId = `copart-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      // Four members over 2 x 6 partitions: a plain round-robin would split partition n's topics.
      const latest: { topic: string; partition: number }[][] = [[], [], [], []];
      const consumers = [0, 1, 2, 3].map((i) =>
        h.log.consumer({ groupId, topics: ['im.cmd.send', 'im.msg.checked'], fromBeginning: true, commit: true, eachBatch: async () => {}, onAssignment: (a) => (latest[i] = a) }),
      );
      for (const c of consumers) cleanups.push(() => c.stop());
      for (const c of consumers) await c.start();
      await eventually(() => latest.reduce((n, a) => n + a.length, 0) === 12 && latest.every((a) => a.length > 0), 'every member assigned');
      for (const assigned of latest) {
        const of = (topic: string) => assigned.filter((a) => a.topic === topic).map((a) => a.partition).sort();
        expect(of('im.cmd.send')).toEqual(of('im.msg.checked'));
      }
    });

    it('loses nothing when a processor is killed mid-batch and restarted', async () => {
      const h = await harness();
      let processed = 0;
      const first = new StreamsApp(chain({ delayMs: 2, onRecord: () => processed++ }), { log: h.log, serde: h.serde, appId: 'crash', runtime });
      await first.start();
      const input = Array.from({ length: 400 }, (_, i) => send(`d:x:${i % 7}`, `m${i}`, i));
      await produce(h, input);
      await eventually(() => processed > 60, 'some records processed');
      await first.kill();
      const second = app(h, chain(), 'crash');
      await second.start();
      const out = await collect(h, 'im.msg.stamped');
      cleanups.push(() => out.stop());
      const ids = () => new Set(out.records.map((r) => r.value.clientMsgId));
      // On Kafka the restarted members wait for the group to rebalance first.
      await eventually(() => ids().size === input.length, 'every record stamped after restart', 90_000);
      expect([...ids()].sort()).toEqual(input.map((v) => v.clientMsgId).sort());
    }, 120_000);

    it('sends a poison record to the dead-letter topic while its neighbours flow on', async () => {
      const h = await harness();
      const a = app(h, chain());
      await a.start();
      const producer = await h.log.producer();
      const good1 = send('d:p:q', 'before', 1);
      const good2 = send('d:p:q', 'after', 3);
      await producer.send([
        { topic: 'im.cmd.send', key: 'd:p:q', value: await h.serde.encode('im.cmd.send', good1), headers: {}, timestamp: 1 },
        { topic: 'im.cmd.send', key: 'd:p:q', value: Buffer.from('not avro at all'), headers: {}, timestamp: 2 },
        { topic: 'im.cmd.send', key: 'd:p:q', value: await h.serde.encode('im.cmd.send', send('d:p:q', 'poison', 2)), headers: {}, timestamp: 2 },
        { topic: 'im.cmd.send', key: 'd:p:q', value: await h.serde.encode('im.cmd.send', good2), headers: {}, timestamp: 3 },
      ]);
      await producer.close();
      const out = await collect(h, 'im.msg.stamped');
      const dlq = await collect(h, 'im.dlq');
      cleanups.push(() => out.stop(), () => dlq.stop());
      await eventually(() => out.records.length === 2 && dlq.records.length === 2, 'two stamped, two dead letters');
      expect(out.records.map((r) => r.value.content)).toEqual(['before', 'after']);
      expect(out.records.map((r) => r.value.seq)).toEqual([1, 2]);
      const letters = dlq.records.map((r) => r.value);
      expect(letters.map((l) => l.errorCode).sort()).toEqual(['POISON_RECORD', 'POISON_RECORD']);
      expect(letters.every((l) => l.sourceTopic === 'im.cmd.send' && l.processor === 'enrich')).toBe(true);
      expect(letters.some((l) => l.reason.includes('content refused by test'))).toBe(true);
      expect(letters.some((l) => l.value?.toString() === 'not avro at all')).toBe(true);
    });

    it('restores a table from its compacted topic after a restart, and joins against it', async () => {
      const h = await harness();
      const relation = (status: RelationState['status']): RelationState => ({ userA: 'ann', userB: 'ben', status, blockedByA: false, blockedByB: false, updatedAt: Date.now() });
      const producer = await h.log.producer();
      for (const status of ['PENDING_A_TO_B', 'FRIENDS'] as const) {
        await producer.send([{ topic: 'im.state.relations', key: 'ann|ben', value: await h.serde.encode('im.state.relations', relation(status)), headers: {}, timestamp: Date.now() }]);
      }
      const topology = () =>
        new Topology('join-test').processor('join', (p) => {
          const relations = p.table('im.state.relations');
          p.stream('im.cmd.send')
            .join(relations, (r) => [r.value.sender, r.value.recipientId].sort().join('|'), (r, rel) => ({ ...r, value: { ...r.value, content: rel?.status ?? 'NONE', mentions: [] } }))
            .to('im.msg.checked');
        });
      const first = new StreamsApp(topology(), { log: h.log, serde: h.serde, appId: 'tbl', runtime });
      await first.start();
      await first.stop();
      const second = app(h, topology(), 'tbl');
      await second.start();
      await produce(h, [{ ...send('d:ann:ben', 'x', 1), sender: 'ann', recipientId: 'ben' }, { ...send('d:ann:zed', 'x', 2), sender: 'ann', recipientId: 'zed' }]);
      const out = await collect(h, 'im.msg.checked');
      cleanups.push(() => out.stop());
      await eventually(() => out.records.length === 2, 'two joined records');
      expect(out.records.map((r) => r.value.content).sort()).toEqual(['FRIENDS', 'NONE']);
      await producer.send([{ topic: 'im.state.relations', key: 'ann|ben', value: null, headers: {}, timestamp: Date.now() }]);
      await producer.close();
      await second.tablesCaughtUp();
      await produce(h, [{ ...send('d:ann:ben', 'x', 3), sender: 'ann', recipientId: 'ben' }]);
      await eventually(() => out.records.length === 3, 'joined after tombstone');
      expect(out.records[2]!.value.content).toBe('NONE');
    });

    it('hands whole batches to a forEachBatch sink, retrying it, and dead-letters a batch that keeps failing', async () => {
      const h = await harness();
      const written: string[] = [];
      let failures = 1;
      const topology = new Topology('batch-test').processor('sink', (p) => {
        p.stream('im.cmd.send').forEachBatch(async (recs) => {
          if (recs.some((r) => r.value.content === 'never')) throw new PoisonError('store refuses this batch');
          if (failures-- > 0) throw new Error('transient store error');
          written.push(...recs.map((r) => r.value.content));
        });
      });
      const a = app(h, topology);
      await a.start();
      const input = Array.from({ length: 50 }, (_, i) => send('d:s:t', `w${i}`, i));
      await produce(h, input);
      await eventually(() => written.length === 50, 'all records written in batches');
      expect(written).toEqual(input.map((v) => v.content));
      const dlq = await collect(h, 'im.dlq');
      cleanups.push(() => dlq.stop());
      await produce(h, [send('d:s:t', 'never', 99)]);
      await eventually(() => dlq.records.length === 1, 'the failing batch dead-lettered');
      expect(dlq.records[0]!.value.reason).toContain('store refuses this batch');
    });

    it('reads every table and store of the app on one consumer, beside one group per sub-topology', async () => {
      const h = await harness();
      const opened: { groupId: string; topics: string[] }[] = [];
      const log = new Proxy(h.log, {
        get(target, prop) {
          if (prop === 'consumer') return (o: ConsumerOptions) => (opened.push({ groupId: o.groupId, topics: [...o.topics] }), target.consumer(o));
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const topology = new Topology('one-reader')
        .processor('join', (p) => {
          const relations = p.table('im.state.relations');
          p.stream('im.cmd.send')
            .join(relations, (r) => [r.value.sender, r.value.recipientId].sort().join('|'), (r, rel) => ({ ...r, value: { ...r.value, content: rel?.status ?? 'NONE', mentions: [] } }))
            .to('im.msg.checked');
        })
        .processor('stamp', stamp);
      const a = new StreamsApp(topology, { log, serde: h.serde, appId: 'one-reader', runtime });
      cleanups.push(() => a.stop());
      await a.start();
      const readers = opened.filter((o) => o.groupId.startsWith('one-reader.tables.'));
      expect(readers).toHaveLength(1);
      expect(readers[0]!.topics.sort()).toEqual(['im.state.relations', 'im.state.sequences']);
      expect(opened.filter((o) => !readers.includes(o)).map((o) => o.groupId).sort()).toEqual(a.plan.subTopologies.map((s) => subTopologyGroup('one-reader', s)).sort());
      // Both still work through it: the join sees the table, the store counts on.
      await produce(h, [send('d:alice:bob', 'x', 1), send('d:alice:bob', 'y', 2)]);
      const out = await collect(h, 'im.msg.stamped');
      cleanups.push(() => out.stop());
      await eventually(() => out.records.length === 2, 'two stamped records');
      expect(out.records.map((r) => [r.value.content, r.value.seq])).toEqual([['NONE', 1], ['NONE', 2]]);
    });

    it('lets a processor read, as a table, the store another processor of the same app writes', async () => {
      const h = await harness();
      const topology = new Topology('store-table')
        .processor('writer', (p) => {
          const relations = p.store('im.state.relations');
          p.stream('im.cmd.relation').process([], async (r, ctx) => {
            const [a, b] = [r.value.actor, r.value.target].sort() as [string, string];
            ctx.store(relations).put(`${a}|${b}`, { userA: a, userB: b, status: 'FRIENDS', blockedByA: false, blockedByB: false, updatedAt: r.value.at });
            return [];
          });
        })
        .processor('reader', (p) => {
          const relations = p.table('im.state.relations');
          p.stream('im.cmd.send')
            .join(relations, (r) => [r.value.sender, r.value.recipientId].sort().join('|'), (r, rel) => ({ ...r, value: { ...r.value, content: rel?.status ?? 'NONE', mentions: [] } }))
            .to('im.msg.checked');
        });
      const a = app(h, topology);
      await a.start();
      const producer = await h.log.producer();
      await producer.send([{ topic: 'im.cmd.relation', key: 'kim|lee', value: await h.serde.encode('im.cmd.relation', { correlationId: 'c', actor: 'kim', target: 'lee', action: 'ACCEPT', note: null, at: 1 }), headers: {}, timestamp: 1 }]);
      await producer.close();
      await eventually(async () => {
        await a.tablesCaughtUp();
        return true;
      }, 'tables caught up');
      const out = await collect(h, 'im.msg.checked');
      cleanups.push(() => out.stop());
      await eventually(async () => {
        await produce(h, [{ ...send('d:kim:lee', 'x', 1), sender: 'kim', recipientId: 'lee' }]);
        await new Promise((r) => setTimeout(r, 200));
        return out.records.some((r) => r.value.content === 'FRIENDS');
      }, 'the reader sees the writer\'s store', 30_000);
    });

    it('runs a punctuation on the wall clock in every instance, each owning the keys of the partitions it holds', async () => {
      const h = await harness();
      const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
      const owned: string[][] = [[], []];
      const sweeper = (i: number) => new Topology('punctuation-test').processor('sweep', (p) => {
        p.stream('im.cmd.send').process([], async () => []);
        p.punctuate('sweep', { intervalMs: 100, outputs: [] }, async (ctx) => {
          owned[i] = keys.filter((k) => ctx.owns(k));
          return [];
        });
      });
      const appId = `punctuate-${Date.now()}`;
      await app(h, sweeper(0), appId).start();
      await app(h, sweeper(1), appId).start();
      // Once the group has settled, every key is one instance's and each instance has some.
      await eventually(() => owned.every((o) => o.length > 0) && owned[0]!.length + owned[1]!.length === keys.length && new Set(owned.flat()).size === keys.length, 'the keys shared between the two instances', 60_000);
    }, 90_000);
  });
}
