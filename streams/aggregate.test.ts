import { describe, expect, it } from 'vitest';
import type { CheckedMessage, SendCommand, StampedMessage } from '../schemas/types.generated.js';
import { APPLIED_HEADER } from './table.js';
import { describeAsMermaid, describeAsText, describeTopology } from './describe.js';
import { TopologyTestDriver } from './test-driver.js';
import { Topology } from './topology.js';

/**
 * groupByKey into tables on the test driver: count, reduce and aggregate; each record applied
 * once per key however often it is redelivered or replayed (the runtime keeps what each key
 * applied, not the processor); the changelog keeps the record's headers; a table is an output.
 */
function stamped(conversationId: string, seq: number, content = `m${seq}`): { key: string; value: StampedMessage; headers: Record<string, string> } {
  const value: StampedMessage = {
    correlationId: `c-${conversationId}-${seq}`, messageId: `id-${conversationId}-${seq}`, seq, sender: 'ann', origin: null, clientMsgId: `k${seq}`,
    conversationId, recipientKind: 'GROUP', recipientId: conversationId, content, contentType: 'text', mentions: [], clientTimestamp: seq, receivedAt: seq, stampedAt: 1000 + seq,
  };
  return { key: conversationId, value, headers: { 'im-correlation-id': value.correlationId } };
}

function send(conversationId: string, content: string, i: number): { key: string; value: SendCommand } {
  return {
    key: conversationId,
    value: {
      correlationId: `c${i}`, sender: 'ann', origin: { gatewayId: 'gw', connectionId: 'conn', deviceId: 'dev' }, clientMsgId: `k${i}`, conversationId, recipientKind: 'USER', recipientId: 'bob',
      content, contentType: 'text', clientTimestamp: i, receivedAt: i,
    },
  };
}

/** Messages per conversation (a "twice" message counts two) and the latest message, from im.msg.stamped. */
function activity(): Topology {
  return new Topology('aggregate-test').processor('activity', (p) => {
    const stream = p.stream('im.msg.stamped');
    // Two updates of one key from one record: each counted.
    stream
      .flatMapValues((m) => (m.content === 'twice' ? [m, m] : [m]), 'twice')
      .groupByKey()
      .aggregate('im.example.conversation-counts', { initializer: (key) => ({ key, count: 0 }), aggregator: (c) => ({ ...c, count: c.count + 1 }) });
    stream.groupByKey().reduce('im.example.latest-message', (latest, m) => (m.seq > latest.seq ? m : latest));
  });
}

describe('groupByKey into a table', () => {
  it('counts and reduces per key, keeps the headers, and applies a redelivered record once', async () => {
    const driver = await TopologyTestDriver.start(new Topology('aggregate-test').processor('activity', (p) => {
      const byConversation = p.stream('im.msg.stamped').groupByKey();
      byConversation.count('im.example.conversation-counts');
      byConversation.reduce('im.example.latest-message', (latest, m) => (m.seq > latest.seq ? m : latest));
    }));
    await driver.pipe('im.msg.stamped', [stamped('g:a', 1), stamped('g:b', 1), stamped('g:a', 2), stamped('g:a', 3)]);
    const counts = (): [string, number][] => [...driver.state('im.example.conversation-counts')].map(([k, v]) => [k, v.count]).sort() as [string, number][];
    expect(counts()).toEqual([['g:a', 3], ['g:b', 1]]);
    expect(driver.state('im.example.conversation-counts').get('g:a')).toEqual({ key: 'g:a', count: 3 });
    expect(driver.state('im.example.latest-message').get('g:a')?.seq).toBe(3);

    // The changelog record carries the correlation id of the record that made it.
    const last = driver.read('im.example.conversation-counts').filter((r) => r.key === 'g:a').at(-1)!;
    expect(last.headers['im-correlation-id']).toBe('c-g:a-3');
    expect(last.headers[APPLIED_HEADER]).toBeDefined();

    // Read again from the start, as after a crash before the commit: nothing is counted twice.
    const written = driver.read('im.example.conversation-counts').length;
    await driver.redeliver('im.msg.stamped');
    expect(counts()).toEqual([['g:a', 3], ['g:b', 1]]);
    expect(driver.read('im.example.conversation-counts')).toHaveLength(written);
    // New records after the replay count on.
    await driver.pipe('im.msg.stamped', [stamped('g:b', 2)]);
    expect(counts()).toEqual([['g:a', 3], ['g:b', 2]]);
    expect(driver.read('im.dlq')).toEqual([]);
    await driver.close();
  });

  it('counts two updates of one key caused by one record, and still once each on replay', async () => {
    const driver = await TopologyTestDriver.start(activity());
    await driver.pipe('im.msg.stamped', [stamped('g:a', 1, 'twice'), stamped('g:a', 2), stamped('g:a', 3, 'twice')]);
    expect(driver.state('im.example.conversation-counts').get('g:a')?.count).toBe(5);
    await driver.redeliver('im.msg.stamped');
    expect(driver.state('im.example.conversation-counts').get('g:a')?.count).toBe(5);
    await driver.close();
  });

  it('with a sequence, skips a record produced twice upstream (a new offset, the same seq)', async () => {
    const driver = await TopologyTestDriver.start(new Topology('aggregate-seq').processor('counter', (p) => {
      p.stream('im.msg.stamped').groupByKey({ sequence: (r) => r.value.seq }).count('im.example.conversation-counts');
    }));
    await driver.pipe('im.msg.stamped', [stamped('g:a', 1), stamped('g:a', 2)]);
    await driver.pipe('im.msg.stamped', [stamped('g:a', 2), stamped('g:a', 1), stamped('g:a', 3)]);
    expect(driver.state('im.example.conversation-counts').get('g:a')?.count).toBe(3);
    await driver.close();
  });

  it('counts records a fused processor hands over, and a replay of its source counts nothing again', async () => {
    // check -> im.msg.checked (internal: fused) -> counter. "twice" makes two checked records of
    // the same key from one send; "moved" re-keys, so the record takes the topic to the counter.
    const topology = new Topology('aggregate-fused')
      .processor('check', (p) => {
        p.stream('im.cmd.send').process(['im.msg.checked'], async (r) => {
          const conversationId = r.value.content === 'moved' ? `${r.value.conversationId}/moved` : r.value.conversationId;
          const checked: CheckedMessage = { ...r.value, conversationId, mentions: [] };
          const copies = r.value.content === 'twice' ? 2 : 1;
          return Array.from({ length: copies }, () => ({ topic: 'im.msg.checked' as const, key: conversationId, value: checked }));
        }, 'check');
      })
      .processor('counter', (p) => {
        p.stream('im.msg.checked').groupByKey().count('im.example.conversation-counts');
      });
    const driver = await TopologyTestDriver.start(topology);
    expect(driver.plan.subTopologies.find((s) => s.processors.includes('counter'))!.fused.get('im.msg.checked')).toEqual(['counter']);
    await driver.pipe('im.cmd.send', [send('d:1', 'one', 1), send('d:1', 'twice', 2), send('d:2', 'moved', 3), send('d:1', 'three', 4)]);
    const counts = (): Record<string, number> => Object.fromEntries([...driver.state('im.example.conversation-counts')].map(([k, v]) => [k, v.count]));
    expect(counts()).toEqual({ 'd:1': 4, 'd:2/moved': 1 });
    // Only the re-keyed record crossed the log.
    expect(driver.read('im.msg.checked').map((r) => r.key)).toEqual(['d:2/moved']);
    // Replaying the counter's own input counts nothing again.
    await driver.redeliver('im.msg.checked');
    expect(counts()).toEqual({ 'd:1': 4, 'd:2/moved': 1 });
    // Replaying check's input: what it hands over in memory has the replayed record's position and
    // is skipped; what it writes to the log again is a new record there, told apart only by a
    // `sequence` (the test above).
    await driver.redeliver('im.cmd.send');
    expect(counts()).toEqual({ 'd:1': 4, 'd:2/moved': 2 });
    await driver.close();
  });

  it('refuses to group by key after a step that may change keys', () => {
    expect(() =>
      new Topology('aggregate-rekeyed').processor('counter', (p) => {
        p.stream('im.msg.stamped').map((r) => ({ ...r, key: r.value.sender })).groupByKey().count('im.example.conversation-counts');
      }),
    ).toThrow(/groupByKey after a step that may change keys/);
    // mapValues keeps the keys.
    expect(() =>
      new Topology('aggregate-values').processor('counter', (p) => {
        p.stream('im.msg.stamped').mapValues((m) => ({ ...m, content: '' })).groupByKey().count('im.example.conversation-counts');
      }),
    ).not.toThrow();
  });

  it('describes a table as an output of its processor, not as private state', () => {
    const topology = activity();
    const [d] = describeTopology(topology, 'im', { subTopologies: [] });
    expect(d!.outputTables).toEqual(['im.example.conversation-counts', 'im.example.latest-message']);
    expect(d!.stores).toEqual([]);
    expect(describeAsText([d!])).toContain('output tables: im.example.conversation-counts, im.example.latest-message');
    const mermaid = describeAsMermaid([d!]);
    expect(mermaid).toContain('p_activity == table ==> t_im_example_conversation_counts');
    expect(mermaid).not.toContain('store');
  });
});
