import { describe, expect, it } from 'vitest';
import type { StampedMessage } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { mentionsProcessor } from './mentions.js';

function stamped(seq: number, mentions: string[]): StampedMessage {
  return {
    correlationId: `c${seq}`, messageId: `m${seq}`, seq, sender: 'ann', origin: null, clientMsgId: `k${seq}`,
    conversationId: 'g:team', recipientKind: 'GROUP', recipientId: 'team', content: `hello ${mentions.map((u) => '@' + u).join(' ')}`,
    contentType: 'text', mentions, clientTimestamp: seq, receivedAt: seq, stampedAt: 1000 + seq,
  };
}

describe('example: mentions processor', () => {
  it('emits one notice per mentioned user (not the sender), keyed by that user', async () => {
    const driver = await TopologyTestDriver.start(new Topology('example').processor('mentions', mentionsProcessor({ previewChars: 8 })));
    const input = [stamped(1, ['bob']), stamped(2, []), stamped(3, ['bob', 'cid', 'ann', 'bob'])];
    await driver.pipe('im.msg.stamped', input.map((v) => ({ key: v.conversationId, value: v })));

    const notices = driver.read('im.example.mentions');
    expect(notices.map((r) => `${r.key}:${r.value.seq}`)).toEqual(['bob:1', 'bob:3', 'cid:3']);
    expect(notices[2]!.value).toEqual({ userId: 'cid', messageId: 'm3', conversationId: 'g:team', seq: 3, sender: 'ann', preview: 'hello @b', at: 1003 });
    expect(driver.read('im.dlq')).toEqual([]);
  });
});
