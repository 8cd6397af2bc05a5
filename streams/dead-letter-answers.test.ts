import { describe, expect, it } from 'vitest';
import { PoisonError } from '../core/errors.js';
import { recordingLogger, type LogLine } from '../core/testing.js';
import type { CheckedMessage, SendCommand } from '../schemas/types.generated.js';
import { TopologyTestDriver } from './test-driver.js';
import { type ProcessorBuilder, Topology } from './topology.js';

/**
 * A processor's answer to a record it dead-letters (`answerDeadLetters`): emitted on the road
 * its own outputs take (produced, or handed to an inlined effect), beside the dead letter, for
 * a refused record as for one whose output its schema cannot hold; an answer that fails too is
 * logged and the dead letter stands.
 */
let n = 0;
function send(content: string): { key: string; value: SendCommand } {
  n++;
  const value: SendCommand = {
    correlationId: `c${n}`, sender: 'ann', origin: { gatewayId: 'gw-1', connectionId: 'conn-ann', deviceId: 'phone' }, clientMsgId: `m${n}`,
    conversationId: 'd:ann:bob', recipientKind: 'USER', recipientId: 'bob', content, contentType: 'text', clientTimestamp: n, receivedAt: n,
  };
  return { key: 'd:ann:bob', value };
}

/** Refuses "poison", emits a value its schema cannot hold for "unencodable"; answers with the code, or with an unencodable answer for "unanswerable". */
function check(p: ProcessorBuilder): void {
  p.answerDeadLetters('im.cmd.send', ['im.push.online'], (r, code) => [{
    topic: 'im.push.online',
    key: 'gw-1',
    value: { gatewayId: 'gw-1', correlationId: r.value.correlationId, createdAt: r.value.content === 'unanswerable' ? 2 ** 64 : 0, deliveries: [{ userId: r.value.sender, connectionId: r.value.origin.connectionId, messageId: null, frame: code }] },
  }]);
  p.stream('im.cmd.send').process(['im.msg.checked'], async (r) => {
    if (r.value.content === 'poison' || r.value.content === 'unanswerable') throw new PoisonError('refused by the test');
    const checked: CheckedMessage = { ...r.value, mentions: [], clientTimestamp: r.value.content === 'unencodable' ? 2 ** 64 : r.value.clientTimestamp };
    return [{ topic: 'im.msg.checked', key: r.key, value: checked }];
  }, 'check');
}


describe('answers to dead-lettered records', () => {
  it('go out with the dead letter, whatever the failure, and the neighbours flow', async () => {
    const lines: LogLine[] = [];
    const driver = await TopologyTestDriver.start(new Topology('answers').processor('check', check), { logger: recordingLogger(lines) });
    await driver.pipe('im.cmd.send', [send('one'), send('poison'), send('unencodable'), send('two')]);
    expect(driver.read('im.msg.checked').map((r) => r.value.content)).toEqual(['one', 'two']);
    expect(driver.read('im.dlq').map((r) => r.value.errorCode)).toEqual(['POISON_RECORD', 'SERIALIZE_FAILED']);
    expect(driver.read('im.push.online').map((r) => [r.value.correlationId, r.value.deliveries[0]!.connectionId, r.value.deliveries[0]!.frame])).toEqual([
      ['c2', 'conn-ann', 'POISON_RECORD'],
      ['c3', 'conn-ann', 'SERIALIZE_FAILED'],
    ]);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg)).toEqual(['record sent to dead-letter topic', 'record sent to dead-letter topic']);
  });

  it('reach an effect inlined after the task, as the processor\'s own outputs would', async () => {
    const seen: string[] = [];
    const topology = new Topology('answers-effect')
      .processor('check', check)
      .processor('effect', (p) => {
        p.stream('im.push.online').process([], async (r) => {
          seen.push(`${r.value.correlationId}:${r.value.deliveries[0]!.frame}`);
          return [];
        }, 'effect');
      });
    const driver = await TopologyTestDriver.start(topology, { logger: recordingLogger([]) });
    const poison = send('poison');
    await driver.pipe('im.cmd.send', [poison]);
    expect(seen).toEqual([`${poison.value.correlationId}:POISON_RECORD`]);
  });

  it('that fail themselves are logged, and the dead letter stands', async () => {
    const lines: LogLine[] = [];
    const driver = await TopologyTestDriver.start(new Topology('answers-failing').processor('check', check), { logger: recordingLogger(lines) });
    await driver.pipe('im.cmd.send', [send('unanswerable'), send('after')]);
    expect(driver.read('im.dlq').map((r) => r.value.errorCode)).toEqual(['POISON_RECORD']);
    expect(driver.read('im.push.online')).toEqual([]);
    expect(driver.read('im.msg.checked').map((r) => r.value.content)).toEqual(['after']);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg)).toEqual(['record sent to dead-letter topic', 'dead-lettered record left unanswered']);
  });
});
