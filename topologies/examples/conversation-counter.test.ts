import { describe, expect, it } from 'vitest';
import type { StampedMessage } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { conversationCounter } from './conversation-counter.js';

function stamped(conversationId: string, seq: number, contentType = 'text'): { key: string; value: StampedMessage } {
  const value: StampedMessage = {
    correlationId: `c${seq}`, messageId: `${conversationId}/${seq}`, seq, sender: 'ann', origin: null, clientMsgId: `k${seq}`,
    conversationId, recipientKind: 'GROUP', recipientId: 'team', content: `hello ${seq}`,
    contentType, mentions: [], clientTimestamp: seq, receivedAt: seq, stampedAt: 1000 + seq,
  };
  return { key: conversationId, value };
}

describe('example: conversation counter', () => {
  it('counts messages per conversation and keeps the latest, each message once', async () => {
    const driver = await TopologyTestDriver.start(new Topology('example').processor('counter', conversationCounter()));
    const counts = () => Object.fromEntries([...driver.state('im.example.conversation-counts')].map(([k, v]) => [k, v.count]));
    await driver.pipe('im.msg.stamped', [stamped('g:team', 1), stamped('g:team', 2), stamped('d:ann:bob', 1), stamped('g:team', 3, 'system/recalled')]);
    expect(counts()).toEqual({ 'g:team': 2, 'd:ann:bob': 1 });
    expect(driver.state('im.example.latest-message').get('g:team')?.messageId).toBe('g:team/2');

    // Redelivered after a crash, or stamped twice upstream: counted once.
    await driver.redeliver('im.msg.stamped');
    await driver.pipe('im.msg.stamped', [stamped('g:team', 2), stamped('g:team', 4)]);
    expect(counts()).toEqual({ 'g:team': 3, 'd:ann:bob': 1 });
    expect(driver.state('im.example.latest-message').get('g:team')?.messageId).toBe('g:team/4');
    expect(driver.read('im.dlq')).toEqual([]);
  });
});
