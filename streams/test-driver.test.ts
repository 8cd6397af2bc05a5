import { describe, expect, it } from 'vitest';
import { PoisonError } from '../core/errors.js';
import type { CheckedMessage, RelationState, SendCommand } from '../schemas/types.generated.js';
import { partitionFor } from './partitioner.js';
import { ManualClock, TopologyTestDriver } from './test-driver.js';
import { type ProcessorBuilder, Topology } from './topology.js';

/**
 * The driver's own contract: everything a pipe causes is done when it resolves (fused edges,
 * re-keyed records that take the log, effects), tables are current, the clock is the one the
 * processors read, poison goes to the DLQ, and stores read back as their changelogs hold them.
 */
let n = 0;
function send(conversationId: string, content: string, sender = 'ann'): { key: string; value: SendCommand } {
  n++;
  const value: SendCommand = {
    correlationId: `c${n}`, sender, origin: { gatewayId: 'gw-1', connectionId: `conn-${sender}`, deviceId: 'phone' }, clientMsgId: `m${n}`,
    conversationId, recipientKind: 'USER', recipientId: 'bob', content, contentType: 'text', clientTimestamp: n, receivedAt: n,
  };
  return { key: conversationId, value };
}

/** checked -> stamped, the seq per conversation kept in a store; stamped at the engine's time. "reset" forgets the conversation. */
function stamp(p: ProcessorBuilder): void {
  const sequences = p.store('im.state.sequences');
  p.stream('im.msg.checked').process(['im.msg.stamped'], async (r, ctx) => {
    const seqs = ctx.store(sequences);
    if (r.value.content === 'reset') {
      seqs.put(r.value.conversationId, null);
      return [];
    }
    const seq = (seqs.get(r.value.conversationId)?.seq ?? 0) + 1;
    const now = p.clock.now();
    seqs.put(r.value.conversationId, { conversationId: r.value.conversationId, seq, updatedAt: now });
    return [{ topic: 'im.msg.stamped', key: r.value.conversationId, value: { ...r.value, messageId: `id-${r.value.clientMsgId}`, seq, stampedAt: now } }];
  }, 'stamp');
}

/**
 * send -> checked (re-keyed to `<conversation>/moved` when the content says "moved:") -> stamped,
 * with an effect-only processor on im.push.online inlined after the task's produce.
 */
function chain(effects: string[]): Topology {
  return new Topology('driver-chain')
    .processor('check', (p) => {
      p.stream('im.cmd.send').process(['im.msg.checked', 'im.push.online'], async (r) => {
        if (r.value.content === 'poison') throw new PoisonError('refused by the test');
        const conversationId = r.value.content.startsWith('moved:') ? `${r.value.conversationId}/moved` : r.value.conversationId;
        const checked: CheckedMessage = { ...r.value, conversationId, mentions: [] };
        const push = { gatewayId: 'gw-1', correlationId: r.value.correlationId, createdAt: 0, deliveries: [] };
        return [{ topic: 'im.msg.checked', key: conversationId, value: checked }, { topic: 'im.push.online', key: 'gw-1', value: push }];
      }, 'check');
    })
    .processor('stamp', stamp)
    .processor('effect', (p) => {
      p.stream('im.push.online').process([], async (r) => {
        effects.push(r.value.correlationId);
        return [];
      }, 'effect');
    });
}

describe('the topology test driver', () => {
  it('runs to quiescence when a pipe resolves: fused records, re-keyed records through the log, effects', async () => {
    const effects: string[] = [];
    const driver = await TopologyTestDriver.start(chain(effects));
    const sub = driver.plan.subTopologies.find((s) => s.processors.includes('check'))!;
    expect(sub.processors).toEqual(['check', 'stamp']);
    expect(sub.fused.get('im.msg.checked')).toEqual(['stamp']);
    expect(sub.afterProduce.get('im.push.online')).toEqual(['effect']);

    const convs = ['d:ann:bob', 'd:ann:cy', 'd:ann:dee', 'g:team'];
    const input = Array.from({ length: 24 }, (_, i) => send(convs[i % 4]!, i % 3 === 0 ? `moved:${i}` : `n${i}`));
    await driver.pipe('im.cmd.send', input);

    const stamped = driver.read('im.msg.stamped');
    expect(stamped).toHaveLength(24);
    expect(effects.sort()).toEqual(input.map((r) => r.value.correlationId).sort());
    // A re-keyed record whose new key lives on another partition crossed the log; the rest did not.
    const partitions = 6;
    const crossed = input.filter((r, i) => i % 3 === 0 && partitionFor(`${r.key}/moved`, partitions) !== partitionFor(r.key, partitions));
    expect(crossed.length).toBeGreaterThan(0);
    expect(driver.read('im.msg.checked').map((r) => r.value.clientMsgId).sort()).toEqual(crossed.map((r) => r.value.clientMsgId).sort());
    // Every conversation, moved or not, got a gap-free sequence in the order it was piped.
    for (const conv of new Set(stamped.map((r) => r.key))) {
      expect(stamped.filter((r) => r.key === conv).map((r) => r.value.seq)).toEqual(stamped.filter((r) => r.key === conv).map((_, i) => i + 1));
    }
    expect(driver.read('im.dlq')).toEqual([]);
    // One pipe at a time: a second one while the first runs is a mistake in the test, said at once.
    const running = driver.pipe('im.cmd.send', [send('d:ann:bob', 'late')]);
    await expect(driver.pipe('im.cmd.send', [send('d:ann:bob', 'too early')])).rejects.toThrow(/still running/);
    await running;
    expect(driver.read('im.cmd.send').at(-1)!.value.content).toBe('late');
  });

  it('joins against a table that holds every record piped before', async () => {
    const topology = new Topology('driver-join').processor('gate', (p) => {
      const relations = p.table('im.state.relations');
      p.stream('im.cmd.send')
        .join(relations, (r) => `${r.value.sender}|${r.value.recipientId}`, (r, rel) => (rel?.status === 'FRIENDS' ? { ...r, value: { ...r.value, mentions: [] } } : null))
        .to('im.msg.checked');
    });
    const driver = await TopologyTestDriver.start(topology);
    const relation = (status: RelationState['status']) => ({ key: 'ann|bob', value: { userA: 'ann', userB: 'bob', status, blockedByA: false, blockedByB: false, updatedAt: 1 } });
    await driver.pipe('im.state.relations', [relation('PENDING_A_TO_B')]);
    await driver.pipe('im.cmd.send', [send('d:ann:bob', 'refused')]);
    await driver.pipe('im.state.relations', [relation('FRIENDS')]);
    await driver.pipe('im.cmd.send', [send('d:ann:bob', 'passes')]);
    expect(driver.read('im.msg.checked').map((r) => r.value.content)).toEqual(['passes']);
    expect(driver.state('im.state.relations').get('ann|bob')?.status).toBe('FRIENDS');
  });

  it('moves the clock the processors and the runtime read, and only when told', async () => {
    // One message per conversation a second: a decision by the engine's clock, not the record's.
    const topology = new Topology('driver-clock').processor('throttle', (p) => {
      const last = p.store('im.state.sequences');
      p.stream('im.cmd.send').process(['im.msg.checked'], async (r, ctx) => {
        const store = ctx.store(last);
        const now = p.clock.now();
        const previous = store.get(r.value.conversationId);
        if (previous && now - previous.updatedAt < 1_000) return [];
        store.put(r.value.conversationId, { conversationId: r.value.conversationId, seq: (previous?.seq ?? 0) + 1, updatedAt: now });
        return [{ topic: 'im.msg.checked', key: r.key, value: { ...r.value, receivedAt: now, mentions: [] } }];
      }, 'throttle');
    });
    const driver = await TopologyTestDriver.start(topology, { startTime: 5_000_000 });
    expect(driver.clock).toBeInstanceOf(ManualClock);
    await driver.pipe('im.cmd.send', [send('d:ann:bob', 'first'), send('d:ann:bob', 'too soon')]);
    driver.advanceTime(999);
    await driver.pipe('im.cmd.send', [send('d:ann:bob', 'still too soon')]);
    driver.advanceTime(1);
    await driver.pipe('im.cmd.send', [send('d:ann:bob', 'a second later')]);
    expect(driver.read('im.msg.checked').map((r) => [r.value.content, r.value.receivedAt])).toEqual([['first', 5_000_000], ['a second later', 5_001_000]]);
    // Piped records, and the changelog records the runtime writes, carry the driver's time too.
    expect(driver.read('im.cmd.send').map((r) => r.timestamp)).toEqual([5_000_000, 5_000_000, 5_000_999, 5_001_000]);
    expect(driver.read('im.state.sequences').map((r) => r.timestamp)).toEqual([5_000_000, 5_001_000]);
    expect(() => driver.advanceTime(-1)).toThrow(/forward/);
  });

  it('dead-letters records it cannot decode and records a processor refuses, while their neighbours flow', async () => {
    const driver = await TopologyTestDriver.start(chain([]), { startTime: 42_000 });
    await driver.pipe('im.cmd.send', [send('d:ann:bob', 'one'), send('d:ann:bob', 'poison')]);
    await driver.pipeBytes('im.cmd.send', [{ key: 'd:ann:bob', value: Buffer.from('not avro') }]);
    await driver.pipe('im.cmd.send', [send('d:ann:bob', 'two')]);
    expect(driver.read('im.msg.stamped').map((r) => [r.value.content, r.value.seq])).toEqual([['one', 1], ['two', 2]]);
    const letters = driver.read('im.dlq').map((r) => r.value);
    expect(letters.map((l) => [l.processor, l.sourceTopic, l.errorCode, l.attempts, l.failedAt])).toEqual([
      ['check', 'im.cmd.send', 'POISON_RECORD', 1, 42_000],
      ['check', 'im.cmd.send', 'POISON_RECORD', 1, 42_000],
    ]);
    expect(letters[0]!.reason).toContain('refused by the test');
    expect(letters[1]!.value).toEqual(Buffer.from('not avro'));
    // The undecodable record is in the log, not among the decoded records read back.
    expect(driver.read('im.cmd.send').map((r) => r.value.content)).toEqual(['one', 'poison', 'two']);
  });

  it('reads a store as its changelog holds it, deletions included, and replays a topic against it', async () => {
    const driver = await TopologyTestDriver.start(new Topology('driver-store').processor('stamp', stamp));
    const checked = (conversationId: string, content = 'x'): { key: string; value: CheckedMessage } => ({ key: conversationId, value: { ...send(conversationId, content).value, mentions: [] } });
    await driver.pipe('im.msg.checked', [checked('g:a'), checked('g:b'), checked('g:a')]);
    expect([...driver.state('im.state.sequences')].map(([k, v]) => [k, v.seq])).toEqual([['g:a', 2], ['g:b', 1]]);
    await driver.pipe('im.msg.checked', [checked('g:b', 'reset')]);
    expect([...driver.state('im.state.sequences').keys()]).toEqual(['g:a']);
    // Read again from the start, as after a crash: the store keeps what its changelog holds.
    await driver.redeliver('im.msg.checked');
    expect(driver.read('im.msg.stamped').map((r) => `${r.key}#${r.value.seq}`)).toEqual(['g:a#1', 'g:b#1', 'g:a#2', 'g:a#3', 'g:b#1', 'g:a#4']);
    expect(driver.state('im.state.sequences').get('g:b')).toBeUndefined();
  });

  it('runs a punctuation only when the clock has passed its time, once a call, its records produced', async () => {
    const runs: { at: number; owns: boolean }[] = [];
    const topology = new Topology('driver-punctuate').processor('sweep', (p) => {
      p.stream('im.cmd.send').process([], async () => []);
      p.punctuate('sweep', { intervalMs: 1_000, outputs: ['im.state.sequences'] }, async (ctx) => {
        runs.push({ at: p.clock.now(), owns: ctx.owns('any-key') });
        return [{ topic: 'im.state.sequences', key: 'swept', value: { conversationId: 'swept', seq: runs.length, updatedAt: p.clock.now() } }];
      });
    });
    const driver = await TopologyTestDriver.start(topology, { startTime: 0 });
    await driver.advanceWallClockTime(999);
    expect(runs).toEqual([]);
    await driver.advanceWallClockTime(1);
    // Due again an interval after it ran, however far the clock jumped.
    await driver.advanceWallClockTime(5_000);
    await driver.advanceWallClockTime(999);
    // Moving the clock alone runs nothing.
    driver.advanceTime(10_000);
    expect(runs).toEqual([{ at: 1_000, owns: true }, { at: 6_000, owns: true }]);
    expect(driver.state('im.state.sequences').get('swept')?.seq).toBe(2);
    await driver.close();
  });
});
